{#
    (issue 23) A public view over a windowed mart (`recent` = its
    `__recent` table, `table_name` = its name in audit.history_days) holds,
    for the run's date D, exactly D's rows of the window, and for the latest
    folded date before D that is not in the window, exactly the rows the
    snapshot had when it was folded (audit.history_days.rows). Two dates
    only: the view is pruned to them, never read whole.
#}
{% test history_view_counts(model, column_name, recent, table_name) %}

with

latest_folded as (

    select max(folded.extract_date) as folded_date
    from {{ source('history_calendar', 'history_days') }} as folded
    where folded.table_name = '{{ table_name }}'
        and folded.extract_date < {{ as_of_date() }}
        and not exists (
            select 1 from {{ recent }} as rebuilt
            where rebuilt.{{ column_name }} = folded.extract_date
        )

),

expected as (

    select
        {{ as_of_date() }} as checked_date,
        (
            select count(*) from {{ recent }}
            where {{ column_name }} = {{ as_of_date() }}
        ) as expected_rows

    union all

    select
        latest_folded.folded_date,
        folded.rows
    from latest_folded
    inner join {{ source('history_calendar', 'history_days') }} as folded
        on folded.table_name = '{{ table_name }}'
        and folded.extract_date = latest_folded.folded_date

),

actual as (

    select
        expected.checked_date,
        expected.expected_rows,
        (
            select count(*) from {{ model }} as public_rows
            where public_rows.{{ column_name }} = expected.checked_date
        ) as actual_rows
    from expected

)

select * from actual
where expected_rows <> actual_rows

{% endtest %}
