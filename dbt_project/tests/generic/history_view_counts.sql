{#
    (issue 23) A public view over a windowed mart (`recent` = its
    `__recent` table, `table_name` = its name in audit.history_days) holds,
    for the run's date D, exactly D's rows of the window, and for the latest
    folded date before D that is not in the window, exactly the rows the
    snapshot had when it was folded (audit.history_days.rows). Two dates
    only, each a constant (the folded date is looked up when the test
    compiles), so the view is pruned to them and never read whole: a date
    taken from a subquery cannot be pushed into the view. At 1M persons
    (make bench, 3 folded dates) the folded date's count takes 0.06 s
    (monitoring_alerts) to 1.5 s (low_income_population).
#}
{% test history_view_counts(model, column_name, recent, table_name) %}

    {%- set calendar = source('history_calendar', 'history_days') -%}
    {%- set folded_date = none -%}
    {%- if execute -%}
    {%- set found = run_query(
        "select max(folded.extract_date) from " ~ calendar ~ " as folded"
        ~ " where folded.table_name = '" ~ table_name ~ "'"
        ~ " and folded.extract_date < " ~ as_of_date()
        ~ " and not exists (select 1 from " ~ recent ~ " as rebuilt"
        ~ " where rebuilt." ~ column_name ~ " = folded.extract_date)"
    ) -%}
    {%- set folded_date = found.columns[0].values()[0] -%}
{%- endif %}

with

counts as (

    select
        {{ as_of_date() }} as checked_date,
        (
            select count(*) from {{ recent }}
            where {{ column_name }} = {{ as_of_date() }}
        ) as expected_rows,
        (
            select count(*) from {{ model }}
            where {{ column_name }} = {{ as_of_date() }}
        ) as actual_rows

{%- if folded_date is not none %}

    union all

    select
        cast('{{ folded_date }}' as date) as checked_date,
        (
            select folded.rows from {{ calendar }} as folded
            where folded.table_name = '{{ table_name }}'
                and folded.extract_date = cast('{{ folded_date }}' as date)
        ) as expected_rows,
        (
            select count(*) from {{ model }}
            where {{ column_name }} = cast('{{ folded_date }}' as date)
        ) as actual_rows
    {%- endif %}

)

select * from counts
where expected_rows <> actual_rows

{% endtest %}
