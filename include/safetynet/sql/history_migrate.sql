-- (issue 23, docs/history-design.md 2.4) A warehouse made before the snapshot window
-- holds each windowed mart as the table marts.<name>. dbt now writes those rows to
-- marts.<name>__recent and makes marts.<name> a view over the window and the change
-- history: rename the table before dbt runs (else dbt's view would replace the table
-- and the incremental model would start empty). Idempotent: nothing happens when
-- marts.<name> is not a table or marts.<name>__recent exists. Its indexes, constraints,
-- comments and grants move with the table. Runs after history.sql (name order), which
-- reads no dbt table.
do $migrate$
declare
    mart text;
begin
    foreach mart in array array[
        'low_income_population', 'dim_households', 'monitoring_alerts', 'alert_cases'
    ] loop
        if exists (
            select 1
            from pg_class as c
            join pg_namespace as n on n.oid = c.relnamespace
            where n.nspname = 'marts' and c.relname = mart and c.relkind in ('r', 'p')
        ) and to_regclass(format('marts.%I', mart || '__recent')) is null then
            -- views reading the table by name (alert_episodes) follow it; dbt rebuilds them
            execute format('alter table marts.%I rename to %I', mart, mart || '__recent');
            raise notice 'issue 23: marts.% renamed to marts.%__recent', mart, mart;
        end if;
    end loop;
end
$migrate$;
