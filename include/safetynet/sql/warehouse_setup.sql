-- Schemas, raw and audit tables, roles. Idempotent: run by every load.
-- raw: restricted (raw id numbers and names). audit: auditors. marts: analysts.
create extension if not exists pgcrypto;
create schema if not exists raw;
create schema if not exists audit;
create schema if not exists marts;

create table if not exists raw.civil_affairs_households (
    extract_date date not null, batch_id bigint not null, line_no integer not null,
    household_id text not null, region_code text not null, urban_rural text not null,
    address text, head_id_number text not null, head_person_key bytea not null,
    assessed_monthly_income numeric(14, 2) not null, income_assessed_date date
) partition by list (extract_date);
create table if not exists raw.civil_affairs_persons (
    extract_date date not null, batch_id bigint not null, line_no integer not null,
    household_id text not null, id_number text not null, person_key bytea not null,
    name text not null, gender text not null, birth_date date, relation text not null,
    disability_grade smallint not null
) partition by list (extract_date);
create table if not exists raw.civil_affairs_enrollments (
    extract_date date not null, batch_id bigint not null, line_no integer not null,
    enrollment_id text not null, household_id text not null, program text not null,
    status text not null, start_date date not null, end_date date,
    monthly_amount numeric(14, 2)
) partition by list (extract_date);
create table if not exists raw.health_medical_claims (
    extract_date date not null, batch_id bigint not null, line_no integer not null,
    claim_id text not null, version integer not null, id_number text not null,
    person_key bytea not null, hospital_code text, admission_date date,
    settlement_date date not null, diagnosis_code text, total_cost numeric(14, 2),
    fund_paid numeric(14, 2), out_of_pocket numeric(14, 2) not null
) partition by list (extract_date);
create table if not exists raw.health_deaths (
    extract_date date not null, batch_id bigint not null, line_no integer not null,
    id_number text not null, person_key bytea not null, death_date date not null,
    registered_date date
) partition by list (extract_date);
create table if not exists raw.housing_properties (
    extract_date date not null, batch_id bigint not null, line_no integer not null,
    cert_no text not null, owner_id_number text not null, owner_person_key bytea not null,
    property_type text not null, floor_area numeric(12, 2), region_code text,
    registered_date date, cancelled_date date
) partition by list (extract_date);
create table if not exists raw.bank_balances (
    extract_date date not null, batch_id bigint not null, line_no integer not null,
    bank_code text not null, account_no text not null, id_number text not null,
    person_key bytea not null, account_type text not null, balance_fen bigint not null,
    as_of_date date not null
) partition by list (extract_date);
-- (v2) casework: the case system's decisions on alerts (contract section 9). No key:
-- several rows for one alert_id are normal; an exact repeat within a file is rejected.
create table if not exists raw.casework_dispositions (
    extract_date date not null, batch_id bigint not null, line_no integer not null,
    alert_id text not null, status text not null, decided_on date not null,
    handler text, note text
) partition by list (extract_date);

-- person_key columns hold the 32 bytes of the HMAC (staging shows them as hex);
-- a warehouse made before that stored the 64 hex digits as text: convert it.
-- Views on the raw tables (dbt's staging views) block the conversion: they
-- are dropped, and the next dbt build makes them again.
do $$
declare
    col record;
    dependent record;
begin
    for dependent in
        select distinct v.oid::regclass as view_name
        from pg_depend d
        join pg_rewrite r on r.oid = d.objid
        join pg_class v on v.oid = r.ev_class
        join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
        join pg_class t on t.oid = d.refobjid
        join pg_namespace n on n.oid = t.relnamespace
        where n.nspname = 'raw' and a.attname like '%person_key' and v.oid <> t.oid
          and format_type(a.atttypid, null) = 'text'
    loop
        execute format('drop view if exists %s cascade', dependent.view_name);
    end loop;
    for col in
        select c.table_name, c.column_name from information_schema.columns c
        join pg_class t on t.relname = c.table_name and t.relkind = 'p'
        join pg_namespace n on n.oid = t.relnamespace and n.nspname = c.table_schema
        where c.table_schema = 'raw' and c.column_name like '%person_key' and c.data_type = 'text'
    loop
        execute format('alter table raw.%I alter column %I type bytea using decode(%I, ''hex'')',
                       col.table_name, col.column_name, col.column_name);
    end loop;
end $$;

-- Left by the SQL loader before the compiled row filter (which computes every
-- person_key itself): its id -> key cache and the SQL twins of section 3.
drop table if exists raw.person_keys, raw.person_key_fingerprint;
drop function if exists raw.normalise_id(text), raw.upgrade_legacy_id(text),
    raw.half_width_id(text), raw.is_iso_date(text), raw.is_compact_date(text);

create table if not exists audit.load_batches (
    batch_id bigserial primary key,
    source text not null, extract_date date not null, file_name text not null,
    target_table text not null, manifest_rows integer, file_rows integer,
    loaded_rows integer, rejected_rows integer, sha256 text,
    status text not null, message text,
    started_at timestamptz not null default clock_timestamp(), finished_at timestamptz
);
alter table audit.load_batches add column if not exists run_id text;
-- One load_source call = one attempt: a re-run of the same run (re-delivery,
-- Clear in the UI) is judged on its own batches, not the earlier failed ones.
alter table audit.load_batches add column if not exists attempt_id text;

-- (v2, contract section 6) Auditors see a rejected row's file, line, reason and the
-- line with ids and names masked (safetynet.privacy); the raw line itself is kept
-- in raw.rejected_lines (engineers only) for SAFETYNET_REJECTED_LINE_RETENTION_DAYS.
create table if not exists audit.rejected_rows (
    batch_id bigint not null, source text not null, extract_date date not null,
    file_name text not null, line_no integer not null, masked_line text,
    reason text not null, rejected_at timestamptz not null default clock_timestamp()
);
alter table audit.rejected_rows add column if not exists masked_line text;
alter table audit.rejected_rows
    add column if not exists reject_id bigint generated by default as identity;
create unique index if not exists rejected_rows_reject_id on audit.rejected_rows (reject_id);
create index if not exists rejected_rows_source_date on audit.rejected_rows (source, extract_date);
create table if not exists raw.rejected_lines (
    reject_id bigint primary key references audit.rejected_rows (reject_id) on delete cascade,
    raw_line text not null, rejected_at timestamptz not null default clock_timestamp()
);
-- A warehouse made before: its raw lines move to raw.rejected_lines; their masked
-- form is filled in by warehouse.ensure_schema (privacy.mask_line, in Python).
do $$
begin
    if exists (select from information_schema.columns where table_schema = 'audit'
               and table_name = 'rejected_rows' and column_name = 'raw_line') then
        insert into raw.rejected_lines (reject_id, raw_line, rejected_at)
        select reject_id, raw_line, rejected_at from audit.rejected_rows
        where raw_line is not null
        on conflict (reject_id) do nothing;
        alter table audit.rejected_rows drop column raw_line;
    end if;
end $$;
create table if not exists audit.source_arrivals (
    source text not null, extract_date date not null, manifest_seen_at timestamptz,
    waited_seconds numeric, status text not null, checked_at timestamptz not null default clock_timestamp(),
    primary key (source, extract_date)
);
create table if not exists audit.dq_results (
    run_id text not null, checked_at timestamptz not null default clock_timestamp(),
    extract_date date not null, suite text not null, expectation text not null,
    column_name text, severity text not null, success boolean not null,
    observed_value text, details jsonb
);
create table if not exists audit.feed_publications (
    extract_date date not null, action text not null, folder text not null,
    rows integer, sha256 text, run_id text,
    published_at timestamptz not null default clock_timestamp()
);
create table if not exists audit.run_summaries (
    run_id text not null, extract_date date not null, stage text not null,
    metrics jsonb not null, recorded_at timestamptz not null default clock_timestamp()
);
-- The warehouse lease (include/safetynet/runlock.py): one run at a time from check_raw
-- to publish_feed (the intermediate tables hold one date). One row while held.
create table if not exists audit.run_lease (
    lease text primary key, run_id text not null, extract_date date not null,
    phase text not null, holder text not null, acquired_at timestamptz not null,
    renewed_at timestamptz not null, expires_at timestamptz not null
);
-- (issue 20) Fingerprint of the person_key key: HMAC-SHA256 of a constant with the
-- key (ingest/keyguard.py). The first load records it, every load compares, so a
-- worker with another key (or none) cannot write person_keys that join nothing.
-- One row; `python -m safetynet.ingest.keyguard rekey` replaces it. In raw: engineers only.
create table if not exists raw.pseudonym_key_check (
    one_row boolean primary key default true check (one_row),
    fingerprint text not null, recorded_by text not null,
    recorded_at timestamptz not null default clock_timestamp()
);
