{#
    Whole-history reads from the versions (issue 23, docs/history.md "Known
    limits"). A read over every date of a public view (`marts.<name>`)
    rebuilds each folded date from the versions; over a year that grows with
    dates x rows. These macros let a model read the version tables once
    instead, with the same rows as the public view.

    folded_dates(table_name, recent, date_column): the select of the dates
    the public view takes from the history (已折叠日期 folded dates): the
    calendar's dates of `table_name` not re-built in `recent` (a re-built
    date wins over its folded rows). The re-built dates: macro rebuilt_dates
    (history_views.sql), as in the public views, so the planner
    estimates a plain filter on the calendar (hash joins, no nested loop per
    version).
#}
{% macro folded_dates(table_name, recent, date_column) -%}
    select folded.extract_date
    from {{ source('history_calendar', 'history_days') }} as folded
    where folded.table_name = '{{ table_name }}'
        and folded.extract_date <> all ({{ rebuilt_dates(table_name, recent, date_column) }})
{%- endmacro %}
