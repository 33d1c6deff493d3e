-- (issue 21) 血缘 Lineage: the OpenLineage events of every run (运行 run) of
-- safetynet_daily, loaded from the file transport by safetynet.lineage.store
-- (docs/lineage.md). Auditors read them (granted by name below): the events carry
-- no connection string, password or key (tests/test_lineage.py).

-- 血缘事件 Lineage events: one row per OpenLineage run event (START, RUNNING,
-- COMPLETE, FAIL, ABORT). inputs / outputs: the event's 数据集 datasets as a list of
-- {namespace, name}; event: the whole event as emitted. airflow_run_id and
-- extract_date come from the event's Airflow facets, or (dbt models) from the
-- parent run's event.
create table if not exists audit.lineage_events (
    event_time timestamptz not null,
    event_type text not null,
    job_namespace text not null,
    job_name text not null,
    run_id text not null,
    parent_job_name text,
    parent_run_id text,
    airflow_run_id text,
    extract_date date,
    inputs jsonb not null default '[]',
    outputs jsonb not null default '[]',
    event jsonb not null
);
-- loading the same files again inserts nothing (safetynet.lineage.store)
create unique index if not exists lineage_events_once
    on audit.lineage_events (run_id, event_type, job_name, event_time);
create index if not exists lineage_events_date on audit.lineage_events (extract_date);
create index if not exists lineage_events_parent on audit.lineage_events (parent_run_id);

-- 血缘边 Lineage edges: dataset → job → dataset, per OpenLineage run (the union of
-- the inputs and outputs of all of that run's events). A run whose child runs
-- report datasets (dbt_build: one child run per dbt model, the DAG run: its tasks)
-- is left out, so dbt_build's flattened lineage (every source to every model)
-- gives no shortcut past staging and intermediate.
create or replace view audit.lineage_edges as
with runs as (
    select
        run_id,
        max(job_namespace) as job_namespace,
        max(job_name) as job_name,
        max(parent_run_id) as parent_run_id,
        max(airflow_run_id) as airflow_run_id,
        max(extract_date) as extract_date,
        max(event_time) as event_time
    from audit.lineage_events
    group by run_id
),

ins as (
    select distinct e.run_id, d ->> 'namespace' as namespace, d ->> 'name' as name
    from audit.lineage_events as e cross join lateral jsonb_array_elements(e.inputs) as d
),

outs as (
    select distinct e.run_id, d ->> 'namespace' as namespace, d ->> 'name' as name
    from audit.lineage_events as e cross join lateral jsonb_array_elements(e.outputs) as d
)

select
    r.extract_date,
    r.airflow_run_id,
    r.job_namespace,
    r.job_name,
    r.run_id,
    r.parent_run_id,
    r.event_time,
    i.namespace as from_namespace,
    i.name as from_name,
    o.namespace as to_namespace,
    o.name as to_name
from runs as r
inner join ins as i on r.run_id = i.run_id
inner join outs as o on r.run_id = o.run_id
where not exists (
    select from audit.lineage_events as c
    where c.parent_run_id = r.run_id and c.outputs <> '[]'::jsonb
);

-- 哪些运行读了这个文件 Which runs read this dataset (a landing file
-- 'landing/<source>/<date>/<file>', a table '<db>.<schema>.<table>', ...).
create or replace function audit.lineage_readers(dataset text)
returns table (
    extract_date date, airflow_run_id text, job_name text, run_id text,
    event_time timestamptz
)
language sql stable as $$
    select distinct e.extract_date, e.airflow_run_id, e.job_name, e.run_id, e.event_time
    from audit.lineage_edges as e
    where e.from_name = dataset
    order by e.event_time
$$;

-- 下游 Downstream: every dataset reached from ``dataset`` within the same Airflow
-- run, with its depth and the jobs on the way.
create or replace function audit.lineage_downstream(dataset text, run text default null)
returns table (
    airflow_run_id text, extract_date date, depth integer, namespace text, name text,
    via_job text, path text []
)
language sql stable as $$
    with recursive walk as (
        select e.airflow_run_id, e.extract_date, 1 as depth, e.to_namespace, e.to_name,
               e.job_name, array[e.from_name, e.job_name, e.to_name] as path
        from audit.lineage_edges as e
        where e.from_name = dataset and (run is null or e.airflow_run_id = run)
        union
        select e.airflow_run_id, e.extract_date, w.depth + 1, e.to_namespace, e.to_name,
               e.job_name, w.path || array[e.job_name, e.to_name]
        from walk as w
        inner join audit.lineage_edges as e
            on e.from_name = w.to_name and e.airflow_run_id = w.airflow_run_id
        where w.depth < 30 and not e.to_name = any(w.path)
    )
    select distinct on (airflow_run_id, to_namespace, to_name)
        airflow_run_id, extract_date, depth, to_namespace, to_name, job_name, path
    from walk
    order by airflow_run_id, to_namespace, to_name, depth
$$;

-- 这张表供给了哪个数据feed Which feed files did this dataset feed (per run).
create or replace function audit.lineage_feeds(dataset text)
returns table (airflow_run_id text, extract_date date, feed_file text, path text [])
language sql stable as $$
    select d.airflow_run_id, d.extract_date, d.name, d.path
    from audit.lineage_downstream(dataset) as d
    where d.namespace = 'file' and d.name like 'feed/%'
    order by d.extract_date, d.name
$$;

grant all on audit.lineage_events to safetynet_engineer;
grant select on audit.lineage_events, audit.lineage_edges to safetynet_auditor;
grant execute on function audit.lineage_readers(text),
audit.lineage_downstream(text, text),
audit.lineage_feeds(text) to safetynet_auditor, safetynet_engineer;
