{#
    Windowed marts (issue 23, docs/history-design.md 2.4). The four marts that
    repeat themselves daily (low_income_population, dim_households,
    monitoring_alerts, alert_cases) write D's rows to `marts.<name>__recent`
    (窗口 the window: whole snapshots of the newest
    SAFETYNET_SNAPSHOT_WINDOW_DAYS processed dates); older dates are folded
    by the DAG's compact_history into the change history (变更历史), read
    back per date by the view `marts.<name>__history` (include/safetynet/sql/
    history.sql). The name analysts, Superset, GX, the feed and explain read
    (`marts.<name>`) is a view over both.

    recent_and_history(recent, history, date_column): the rows of `recent`
    and those of `history` whose date is not in `recent` (a re-built date
    wins over its folded rows). Columns listed in the recent table's order,
    so a column missing from the history view fails loudly. The re-built
    dates are an array computed once (the calendar's dates found in
    `recent`, one index probe each), not a `not exists` anti-join: after
    that anti-join PostgreSQL estimated one row and read the volatile part
    in a nested loop per version (minutes for a folded date of
    monitoring_alerts at 1M persons); `<> all (array)` is estimated as a
    plain filter on the calendar and plans hash joins (0.2 s).

    full_history(relation): for the self-reads of monitoring_alerts and
    alert_cases (`{{ this }}` at the latest processed date before D): the
    public view of the same name without `__recent` (not `ref`: it would be
    a cycle), so a re-run of an old date reads a folded previous date. Until
    the view exists (the first run after the migration) `relation` itself.

    A warehouse made before issue 23 holds `marts.<name>` as a table: the
    set-up renames it to `marts.<name>__recent` before dbt runs
    (include/safetynet/sql/history_migrate.sql).
#}
{% macro recent_and_history(recent, history, date_column) -%}
    {%- set found = adapter.get_columns_in_relation(recent) if execute else [] -%}
    {%- set columns = [] -%}
    {%- for column in found -%}
        {%- do columns.append(adapter.quote(column.name)) -%}
    {%- endfor -%}
    {%- if not columns -%}
        {%- do columns.append('*') -%}
    {%- endif -%}
    {%- set table_name = history.identifier | replace('__history', '') %}
    select {{ columns | join(', ') }}
    from {{ recent }}

    union all

    select {{ columns | join(', ') }}
    from {{ history }} as folded
    where folded.{{ date_column }} <> all ({{ rebuilt_dates(table_name, recent, date_column) }})
{%- endmacro %}

{#
    rebuilt_dates(table_name, recent, date_column): the array of the
    calendar's dates of `table_name` that are also in `recent` (folded, then
    re-built: the window's rows win). One index probe per calendar date,
    computed once; `<> all` of it is estimated as a plain filter (see
    recent_and_history). Used by the public views and by macro folded_dates.
#}
{% macro rebuilt_dates(table_name, recent, date_column) -%}
    array(
        select rebuilt_dates.extract_date
        from {{ source('history_calendar', 'history_days') }} as rebuilt_dates
        where rebuilt_dates.table_name = '{{ table_name }}'
            and exists (
                select 1
                from {{ recent }} as rebuilt
                where rebuilt.{{ date_column }} = rebuilt_dates.extract_date
            )
    )
{%- endmacro %}

{% macro full_history(relation) -%}
    {%- set public_name = relation.identifier | replace('__recent', '') -%}
    {%- set public = adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=public_name
    ) if execute and public_name != relation.identifier else none -%}
    {{ public if public is not none else relation }}
{%- endmacro %}
