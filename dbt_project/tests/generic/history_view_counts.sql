{#
    (issue 23) A public view over a windowed mart (`recent` = its
    `__recent` table) holds, for the run's date D, exactly D's rows of the
    window (nothing doubled from the history). D is a constant, so the view
    is pruned to it. The folded dates are checked by the fold itself (hash
    sums before a snapshot is dropped) and by tests/test_history_fold.py:
    reading a folded date of the public monitoring_alerts view is slow at
    1M persons (a nested loop, docs/history.md "Known limits"), too slow for
    a daily test.
#}
{% test history_view_counts(model, column_name, recent, table_name) %}

with

counts as (

    select
        {{ as_of_date() }} as checked_date,
        '{{ table_name }}' as table_name,
        (
            select count(*) from {{ recent }}
            where {{ column_name }} = {{ as_of_date() }}
        ) as expected_rows,
        (
            select count(*) from {{ model }}
            where {{ column_name }} = {{ as_of_date() }}
        ) as actual_rows

)

select * from counts
where expected_rows <> actual_rows

{% endtest %}
