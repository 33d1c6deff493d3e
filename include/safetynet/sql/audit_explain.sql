-- (issue 21) Explain an alert / 解释预警: the rule versions of every run and who
-- looked up which alert. Auditors read both (granted by name below).

-- 规则版本 Rule versions: per run of D, the git commit and each dbt model's checksum
-- (sha256 of its SQL, from the manifest.json dbt wrote for that run), so an alert of
-- an earlier date is explained with the rule as it was then.
create table if not exists audit.rule_versions (
    run_id text not null,
    extract_date date not null,
    commit text not null,
    model text not null,
    path text not null,
    checksum text not null,
    recorded_at timestamptz not null default clock_timestamp()
);
create index if not exists rule_versions_date on audit.rule_versions (extract_date, recorded_at);

-- 预警查询记录 Explain lookups: who (OS or Airflow user) looked up which alert, when,
-- for which date and through which channel (cli, web) and format (text, json, html).
create table if not exists audit.explain_lookups (
    looked_up_at timestamptz not null default clock_timestamp(),
    who text not null,
    channel text not null,
    output_format text not null,
    alert_id text not null,
    alert_date date,
    found boolean not null
);

grant all on audit.rule_versions, audit.explain_lookups to safetynet_engineer;
grant select on audit.rule_versions, audit.explain_lookups to safetynet_auditor;
