-- Change history (issue 23, docs/history.md, docs/history-design.md 2.2-2.4).
-- GENERATED from safetynet/history/specs.py: do not edit by hand, run
--   python -m safetynet.history sql > include/safetynet/sql/history.sql
-- Idempotent, run by every set-up after roles.sql and before dbt (it reads no
-- dbt table). Raw history: engineers only. Mart history:
-- readable like the marts. audit.history_days: auditors, by name.

-- 已折叠日期 the folded dates: a version is visible on X when it is valid on X and
-- (table, X) is here. batch_id: the raw load batch that stood for X; rows and
-- text_md5: the snapshot's row count and digest (the fold's proof: md5 of the count
-- and of the sums of hash(key id, row hash) of each version table, history.fold).
create table if not exists audit.history_days (
    table_name text not null, extract_date date not null,
    batch_id bigint,
    rows bigint not null,
    text_md5 text not null,
    run_id text, folded_at timestamptz not null default now(),
    primary key (table_name, extract_date));
-- dates taken out of the calendar (discard_day): the next compaction moves the
-- version bounds at such a date to the next folded date and merges (history.fold)
create table if not exists audit.history_dropped_days (
    table_name text not null, extract_date date not null,
    primary key (table_name, extract_date));
create or replace function audit.history_days_dropped() returns trigger
language plpgsql as $fn$
begin
    insert into audit.history_dropped_days
    select distinct table_name, extract_date from gone
    on conflict do nothing;
    return null;
end $fn$;
create or replace trigger history_days_dropped after delete on audit.history_days
    referencing old table as gone for each statement
    execute function audit.history_days_dropped();
grant all on audit.history_days, audit.history_dropped_days to safetynet_engineer;
grant select on audit.history_days to safetynet_auditor;

-- raw.civil_affairs_households (raw snapshot)

create table if not exists "raw"."civil_affairs_households__keys" (
    key_id integer generated always as identity primary key,
    "household_id" text not null,
    unique ("household_id"));
create table if not exists "raw"."civil_affairs_households__hist" (
    key_id integer not null,
    "region_code" text,
    "urban_rural" text,
    "address" text,
    "head_id_number" text,
    "head_person_key" bytea,
    "assessed_monthly_income" numeric(14,2),
    "income_assessed_date" date,
    valid_from date not null,
    valid_to date
);
alter table "raw"."civil_affairs_households__hist" set (fillfactor = 100);
alter table "raw"."civil_affairs_households__hist" add column if not exists row_hash bigint;
update "raw"."civil_affairs_households__hist" set row_hash = hashtextextended(row("region_code", "urban_rural", "address", "head_id_number", "head_person_key", "assessed_monthly_income", "income_assessed_date")::text, 0) where valid_to is null and row_hash is null;
create index if not exists "civil_affairs_households__hist_open" on "raw"."civil_affairs_households__hist" (key_id) where valid_to is null;
alter index "raw"."civil_affairs_households__hist_open" set (fillfactor = 70);
create index if not exists "civil_affairs_households__hist_from" on "raw"."civil_affairs_households__hist" using brin (valid_from);
create index if not exists "civil_affairs_households__hist_to" on "raw"."civil_affairs_households__hist" using brin (valid_to);

create or replace function "raw"."civil_affairs_households__at"(x date) returns setof "raw"."civil_affairs_households"
language sql stable as $fn$
select
    d.extract_date as "extract_date",
    d.batch_id as "batch_id",
    null::integer as "line_no",
    k.household_id as "household_id",
    h.region_code as "region_code",
    h.urban_rural as "urban_rural",
    h.address as "address",
    h.head_id_number as "head_id_number",
    h.head_person_key as "head_person_key",
    h.assessed_monthly_income as "assessed_monthly_income",
    h.income_assessed_date as "income_assessed_date"
from audit.history_days d
join "raw"."civil_affairs_households__hist" h on "h".valid_from <= d.extract_date and ("h".valid_to is null or "h".valid_to > d.extract_date)
join "raw"."civil_affairs_households__keys" k on k.key_id = h.key_id
where d.table_name = 'civil_affairs_households'
    and d.extract_date = x
$fn$;

grant all on "raw"."civil_affairs_households__keys", "raw"."civil_affairs_households__hist" to "safetynet_engineer";
revoke all on "raw"."civil_affairs_households__keys", "raw"."civil_affairs_households__hist" from "safetynet_analyst", "safetynet_auditor";
revoke all on function "raw"."civil_affairs_households__at"(date) from public;
grant execute on function "raw"."civil_affairs_households__at"(date) to "safetynet_engineer";

-- raw.civil_affairs_persons (raw snapshot)

create table if not exists "raw"."civil_affairs_persons__keys" (
    key_id integer generated always as identity primary key,
    "household_id" text not null, "person_key" bytea not null,
    unique ("household_id", "person_key"));
create table if not exists "raw"."civil_affairs_persons__hist" (
    key_id integer not null,
    "id_number" text,
    "name" text,
    "gender" text,
    "birth_date" date,
    "relation" text,
    "disability_grade" smallint,
    valid_from date not null,
    valid_to date
);
alter table "raw"."civil_affairs_persons__hist" set (fillfactor = 100);
alter table "raw"."civil_affairs_persons__hist" add column if not exists row_hash bigint;
update "raw"."civil_affairs_persons__hist" set row_hash = hashtextextended(row("id_number", "name", "gender", "birth_date", "relation", "disability_grade")::text, 0) where valid_to is null and row_hash is null;
create index if not exists "civil_affairs_persons__hist_open" on "raw"."civil_affairs_persons__hist" (key_id) where valid_to is null;
alter index "raw"."civil_affairs_persons__hist_open" set (fillfactor = 70);
create index if not exists "civil_affairs_persons__hist_from" on "raw"."civil_affairs_persons__hist" using brin (valid_from);
create index if not exists "civil_affairs_persons__hist_to" on "raw"."civil_affairs_persons__hist" using brin (valid_to);

create or replace function "raw"."civil_affairs_persons__at"(x date) returns setof "raw"."civil_affairs_persons"
language sql stable as $fn$
select
    d.extract_date as "extract_date",
    d.batch_id as "batch_id",
    null::integer as "line_no",
    k.household_id as "household_id",
    h.id_number as "id_number",
    k.person_key as "person_key",
    h.name as "name",
    h.gender as "gender",
    h.birth_date as "birth_date",
    h.relation as "relation",
    h.disability_grade as "disability_grade"
from audit.history_days d
join "raw"."civil_affairs_persons__hist" h on "h".valid_from <= d.extract_date and ("h".valid_to is null or "h".valid_to > d.extract_date)
join "raw"."civil_affairs_persons__keys" k on k.key_id = h.key_id
where d.table_name = 'civil_affairs_persons'
    and d.extract_date = x
$fn$;

grant all on "raw"."civil_affairs_persons__keys", "raw"."civil_affairs_persons__hist" to "safetynet_engineer";
revoke all on "raw"."civil_affairs_persons__keys", "raw"."civil_affairs_persons__hist" from "safetynet_analyst", "safetynet_auditor";
revoke all on function "raw"."civil_affairs_persons__at"(date) from public;
grant execute on function "raw"."civil_affairs_persons__at"(date) to "safetynet_engineer";

-- raw.civil_affairs_enrollments (raw snapshot)

create table if not exists "raw"."civil_affairs_enrollments__keys" (
    key_id integer generated always as identity primary key,
    "enrollment_id" text not null,
    unique ("enrollment_id"));
create table if not exists "raw"."civil_affairs_enrollments__hist" (
    key_id integer not null,
    "household_id" text,
    "program" text,
    "status" text,
    "start_date" date,
    "end_date" date,
    "monthly_amount" numeric(14,2),
    valid_from date not null,
    valid_to date
);
alter table "raw"."civil_affairs_enrollments__hist" set (fillfactor = 100);
alter table "raw"."civil_affairs_enrollments__hist" add column if not exists row_hash bigint;
update "raw"."civil_affairs_enrollments__hist" set row_hash = hashtextextended(row("household_id", "program", "status", "start_date", "end_date", "monthly_amount")::text, 0) where valid_to is null and row_hash is null;
create index if not exists "civil_affairs_enrollments__hist_open" on "raw"."civil_affairs_enrollments__hist" (key_id) where valid_to is null;
alter index "raw"."civil_affairs_enrollments__hist_open" set (fillfactor = 70);
create index if not exists "civil_affairs_enrollments__hist_from" on "raw"."civil_affairs_enrollments__hist" using brin (valid_from);
create index if not exists "civil_affairs_enrollments__hist_to" on "raw"."civil_affairs_enrollments__hist" using brin (valid_to);

create or replace function "raw"."civil_affairs_enrollments__at"(x date) returns setof "raw"."civil_affairs_enrollments"
language sql stable as $fn$
select
    d.extract_date as "extract_date",
    d.batch_id as "batch_id",
    null::integer as "line_no",
    k.enrollment_id as "enrollment_id",
    h.household_id as "household_id",
    h.program as "program",
    h.status as "status",
    h.start_date as "start_date",
    h.end_date as "end_date",
    h.monthly_amount as "monthly_amount"
from audit.history_days d
join "raw"."civil_affairs_enrollments__hist" h on "h".valid_from <= d.extract_date and ("h".valid_to is null or "h".valid_to > d.extract_date)
join "raw"."civil_affairs_enrollments__keys" k on k.key_id = h.key_id
where d.table_name = 'civil_affairs_enrollments'
    and d.extract_date = x
$fn$;

grant all on "raw"."civil_affairs_enrollments__keys", "raw"."civil_affairs_enrollments__hist" to "safetynet_engineer";
revoke all on "raw"."civil_affairs_enrollments__keys", "raw"."civil_affairs_enrollments__hist" from "safetynet_analyst", "safetynet_auditor";
revoke all on function "raw"."civil_affairs_enrollments__at"(date) from public;
grant execute on function "raw"."civil_affairs_enrollments__at"(date) to "safetynet_engineer";

-- raw.housing_properties (raw snapshot)

create table if not exists "raw"."housing_properties__keys" (
    key_id integer generated always as identity primary key,
    "cert_no" text not null, "owner_person_key" bytea not null,
    unique ("cert_no", "owner_person_key"));
create table if not exists "raw"."housing_properties__hist" (
    key_id integer not null,
    "owner_id_number" text,
    "property_type" text,
    "floor_area" numeric(12,2),
    "region_code" text,
    "registered_date" date,
    "cancelled_date" date,
    valid_from date not null,
    valid_to date
);
alter table "raw"."housing_properties__hist" set (fillfactor = 100);
alter table "raw"."housing_properties__hist" add column if not exists row_hash bigint;
update "raw"."housing_properties__hist" set row_hash = hashtextextended(row("owner_id_number", "property_type", "floor_area", "region_code", "registered_date", "cancelled_date")::text, 0) where valid_to is null and row_hash is null;
create index if not exists "housing_properties__hist_open" on "raw"."housing_properties__hist" (key_id) where valid_to is null;
alter index "raw"."housing_properties__hist_open" set (fillfactor = 70);
create index if not exists "housing_properties__hist_from" on "raw"."housing_properties__hist" using brin (valid_from);
create index if not exists "housing_properties__hist_to" on "raw"."housing_properties__hist" using brin (valid_to);

create or replace function "raw"."housing_properties__at"(x date) returns setof "raw"."housing_properties"
language sql stable as $fn$
select
    d.extract_date as "extract_date",
    d.batch_id as "batch_id",
    null::integer as "line_no",
    k.cert_no as "cert_no",
    h.owner_id_number as "owner_id_number",
    k.owner_person_key as "owner_person_key",
    h.property_type as "property_type",
    h.floor_area as "floor_area",
    h.region_code as "region_code",
    h.registered_date as "registered_date",
    h.cancelled_date as "cancelled_date"
from audit.history_days d
join "raw"."housing_properties__hist" h on "h".valid_from <= d.extract_date and ("h".valid_to is null or "h".valid_to > d.extract_date)
join "raw"."housing_properties__keys" k on k.key_id = h.key_id
where d.table_name = 'housing_properties'
    and d.extract_date = x
$fn$;

grant all on "raw"."housing_properties__keys", "raw"."housing_properties__hist" to "safetynet_engineer";
revoke all on "raw"."housing_properties__keys", "raw"."housing_properties__hist" from "safetynet_analyst", "safetynet_auditor";
revoke all on function "raw"."housing_properties__at"(date) from public;
grant execute on function "raw"."housing_properties__at"(date) to "safetynet_engineer";

-- raw.bank_balances (raw snapshot)

create table if not exists "raw"."bank_balances__keys" (
    key_id integer generated always as identity primary key,
    "bank_code" text not null, "account_no" text not null,
    unique ("bank_code", "account_no"));
create table if not exists "raw"."bank_balances__hist" (
    key_id integer not null,
    "id_number" text,
    "person_key" bytea,
    "account_type" text,
    valid_from date not null,
    valid_to date
);
alter table "raw"."bank_balances__hist" set (fillfactor = 100);
alter table "raw"."bank_balances__hist" add column if not exists row_hash bigint;
update "raw"."bank_balances__hist" set row_hash = hashtextextended(row("id_number", "person_key", "account_type")::text, 0) where valid_to is null and row_hash is null;
create index if not exists "bank_balances__hist_open" on "raw"."bank_balances__hist" (key_id) where valid_to is null;
alter index "raw"."bank_balances__hist_open" set (fillfactor = 70);
create index if not exists "bank_balances__hist_from" on "raw"."bank_balances__hist" using brin (valid_from);
create index if not exists "bank_balances__hist_to" on "raw"."bank_balances__hist" using brin (valid_to);
create table if not exists "raw"."bank_balances__histv" (
    key_id integer not null,
    "balance_fen" bigint,
    valid_from date not null,
    valid_to date
);
alter table "raw"."bank_balances__histv" set (fillfactor = 100);
alter table "raw"."bank_balances__histv" add column if not exists row_hash bigint;
update "raw"."bank_balances__histv" set row_hash = hashtextextended(row("balance_fen")::text, 0) where valid_to is null and row_hash is null;
create index if not exists "bank_balances__histv_open" on "raw"."bank_balances__histv" (key_id) where valid_to is null;
alter index "raw"."bank_balances__histv_open" set (fillfactor = 70);
create index if not exists "bank_balances__histv_from" on "raw"."bank_balances__histv" using brin (valid_from);
create index if not exists "bank_balances__histv_to" on "raw"."bank_balances__histv" using brin (valid_to);

create table if not exists "raw"."bank_balances__histv_packed" (
    valid_to date not null,
    key_id integer[] not null,
    valid_from date[] not null,
    "balance_fen" bigint[] not null
);
create index if not exists "bank_balances__histv_packed_to" on "raw"."bank_balances__histv_packed" (valid_to);
create or replace view "raw"."bank_balances__histv_all" as
select key_id, "balance_fen", valid_from, valid_to from "raw"."bank_balances__histv"
union all
select u.key_id, u."balance_fen"::bigint, u.valid_from, p.valid_to
from "raw"."bank_balances__histv_packed" p
cross join lateral unnest("p".key_id, "p".valid_from, "p"."balance_fen") as u (key_id, valid_from, "balance_fen");
with closed as (delete from "raw"."bank_balances__histv" o where o.valid_to is not null returning o.key_id, o.valid_from, o.valid_to::date as valid_to, "o"."balance_fen") insert into "raw"."bank_balances__histv_packed" (valid_to, key_id, valid_from, "balance_fen") select valid_to, array_agg(key_id order by key_id), array_agg(valid_from order by key_id), array_agg("balance_fen" order by key_id) from closed group by valid_to, key_id / 8192;

create or replace function "raw"."bank_balances__histv_at"(x date)
returns table (key_id integer, "balance_fen" bigint, valid_from date, valid_to date)
language plpgsql stable rows 1000000 as $fn$
#variable_conflict use_column
begin
    return query
    select o.key_id, "o"."balance_fen", o.valid_from, o.valid_to from "raw"."bank_balances__histv" o
    where o.valid_from <= x and (o.valid_to is null or o.valid_to > x)
    union all
    select u.key_id, u."balance_fen"::bigint, u.valid_from, p.valid_to from "raw"."bank_balances__histv_packed" p
    cross join lateral unnest("p".key_id, "p".valid_from, "p"."balance_fen") as u (key_id, valid_from, "balance_fen")
    where p.valid_to > x and u.valid_from <= x;
end $fn$;

create or replace function "raw"."bank_balances__at"(x date) returns setof "raw"."bank_balances"
language sql stable as $fn$
select
    d.extract_date as "extract_date",
    d.batch_id as "batch_id",
    null::integer as "line_no",
    k.bank_code as "bank_code",
    k.account_no as "account_no",
    h.id_number as "id_number",
    h.person_key as "person_key",
    h.account_type as "account_type",
    v.balance_fen as "balance_fen",
    d.extract_date as "as_of_date"
from audit.history_days d
join "raw"."bank_balances__hist" h on "h".valid_from <= d.extract_date and ("h".valid_to is null or "h".valid_to > d.extract_date)
join "raw"."bank_balances__keys" k on k.key_id = h.key_id
join lateral "raw"."bank_balances__histv_at"(d.extract_date) v on v.key_id = h.key_id
where d.table_name = 'bank_balances'
    and d.extract_date = x
$fn$;

grant all on "raw"."bank_balances__keys", "raw"."bank_balances__hist", "raw"."bank_balances__histv", "raw"."bank_balances__histv_packed", "raw"."bank_balances__histv_all" to "safetynet_engineer";
revoke all on "raw"."bank_balances__keys", "raw"."bank_balances__hist", "raw"."bank_balances__histv", "raw"."bank_balances__histv_packed", "raw"."bank_balances__histv_all" from "safetynet_analyst", "safetynet_auditor";
revoke all on function "raw"."bank_balances__at"(date), "raw"."bank_balances__histv_at"(date) from public;
grant execute on function "raw"."bank_balances__at"(date), "raw"."bank_balances__histv_at"(date) to "safetynet_engineer";

-- marts.dim_households (mart)

create table if not exists "marts"."dim_households__keys" (
    key_id integer generated always as identity primary key,
    "household_id" text not null,
    unique ("household_id"));
create table if not exists "marts"."dim_households__hist" (
    key_id integer not null,
    "region_code" text,
    "region_name" text,
    "city_code" text,
    "urban_rural" text,
    "head_person_key" text,
    "member_count" integer,
    "deceased_member_count" integer,
    "household_size" integer,
    "is_tekun" boolean,
    "is_dibao" boolean,
    "is_linshi" boolean,
    "category" text,
    "assessed_monthly_income" numeric(14,2),
    "income_assessed_date" date,
    "per_capita_income" numeric,
    "out_of_pocket_30" numeric,
    "out_of_pocket_365" numeric,
    "adjusted_per_capita_income" numeric,
    "residential_properties" integer,
    "asset_test_passed" boolean,
    "dibao_standard" numeric(14,2),
    "standard_effective_date" date,
    valid_from date not null,
    valid_to date
);
alter table "marts"."dim_households__hist" set (fillfactor = 100);
alter table "marts"."dim_households__hist" add column if not exists row_hash bigint;
update "marts"."dim_households__hist" set row_hash = hashtextextended(row("region_code", "region_name", "city_code", "urban_rural", "head_person_key", "member_count", "deceased_member_count", "household_size", "is_tekun", "is_dibao", "is_linshi", "category", "assessed_monthly_income", "income_assessed_date", "per_capita_income", "out_of_pocket_30", "out_of_pocket_365", "adjusted_per_capita_income", "residential_properties", "asset_test_passed", "dibao_standard", "standard_effective_date")::text, 0) where valid_to is null and row_hash is null;
create index if not exists "dim_households__hist_open" on "marts"."dim_households__hist" (key_id) where valid_to is null;
alter index "marts"."dim_households__hist_open" set (fillfactor = 70);
create index if not exists "dim_households__hist_from" on "marts"."dim_households__hist" using brin (valid_from);
create index if not exists "dim_households__hist_to" on "marts"."dim_households__hist" using brin (valid_to);
create table if not exists "marts"."dim_households__histv" (
    key_id integer not null,
    "financial_assets" numeric,
    valid_from date not null,
    valid_to date
);
alter table "marts"."dim_households__histv" set (fillfactor = 100);
alter table "marts"."dim_households__histv" add column if not exists row_hash bigint;
update "marts"."dim_households__histv" set row_hash = hashtextextended(row("financial_assets")::text, 0) where valid_to is null and row_hash is null;
create index if not exists "dim_households__histv_open" on "marts"."dim_households__histv" (key_id) where valid_to is null;
alter index "marts"."dim_households__histv_open" set (fillfactor = 70);
create index if not exists "dim_households__histv_from" on "marts"."dim_households__histv" using brin (valid_from);
create index if not exists "dim_households__histv_to" on "marts"."dim_households__histv" using brin (valid_to);

create table if not exists "marts"."dim_households__histv_packed" (
    valid_to date not null,
    key_id integer[] not null,
    valid_from date[] not null,
    "financial_assets" numeric[] not null
);
create index if not exists "dim_households__histv_packed_to" on "marts"."dim_households__histv_packed" (valid_to);
create or replace view "marts"."dim_households__histv_all" as
select key_id, "financial_assets", valid_from, valid_to from "marts"."dim_households__histv"
union all
select u.key_id, u."financial_assets"::numeric, u.valid_from, p.valid_to
from "marts"."dim_households__histv_packed" p
cross join lateral unnest("p".key_id, "p".valid_from, "p"."financial_assets") as u (key_id, valid_from, "financial_assets");
with closed as (delete from "marts"."dim_households__histv" o where o.valid_to is not null returning o.key_id, o.valid_from, o.valid_to::date as valid_to, "o"."financial_assets") insert into "marts"."dim_households__histv_packed" (valid_to, key_id, valid_from, "financial_assets") select valid_to, array_agg(key_id order by key_id), array_agg(valid_from order by key_id), array_agg("financial_assets" order by key_id) from closed group by valid_to, key_id / 8192;

create or replace function "marts"."dim_households__histv_at"(x date)
returns table (key_id integer, "financial_assets" numeric, valid_from date, valid_to date)
language plpgsql stable rows 1000000 as $fn$
#variable_conflict use_column
begin
    return query
    select o.key_id, "o"."financial_assets", o.valid_from, o.valid_to from "marts"."dim_households__histv" o
    where o.valid_from <= x and (o.valid_to is null or o.valid_to > x)
    union all
    select u.key_id, u."financial_assets"::numeric, u.valid_from, p.valid_to from "marts"."dim_households__histv_packed" p
    cross join lateral unnest("p".key_id, "p".valid_from, "p"."financial_assets") as u (key_id, valid_from, "financial_assets")
    where p.valid_to > x and u.valid_from <= x;
end $fn$;

create or replace view "marts"."dim_households__history" as
select
    d.extract_date as "as_of_date",
    k.household_id as "household_id",
    h.region_code as "region_code",
    h.region_name as "region_name",
    h.city_code as "city_code",
    h.urban_rural as "urban_rural",
    h.head_person_key as "head_person_key",
    h.member_count as "member_count",
    h.deceased_member_count as "deceased_member_count",
    h.household_size as "household_size",
    h.is_tekun as "is_tekun",
    h.is_dibao as "is_dibao",
    h.is_linshi as "is_linshi",
    h.category as "category",
    h.assessed_monthly_income as "assessed_monthly_income",
    h.income_assessed_date as "income_assessed_date",
    h.per_capita_income as "per_capita_income",
    h.out_of_pocket_30 as "out_of_pocket_30",
    h.out_of_pocket_365 as "out_of_pocket_365",
    h.adjusted_per_capita_income as "adjusted_per_capita_income",
    v.financial_assets as "financial_assets",
    h.residential_properties as "residential_properties",
    h.asset_test_passed as "asset_test_passed",
    h.dibao_standard as "dibao_standard",
    h.standard_effective_date as "standard_effective_date"
from audit.history_days d
join "marts"."dim_households__hist" h on "h".valid_from <= d.extract_date and ("h".valid_to is null or "h".valid_to > d.extract_date)
join "marts"."dim_households__keys" k on k.key_id = h.key_id
join lateral "marts"."dim_households__histv_at"(d.extract_date) v on v.key_id = h.key_id
where d.table_name = 'dim_households';

grant all on "marts"."dim_households__keys", "marts"."dim_households__hist", "marts"."dim_households__histv", "marts"."dim_households__histv_packed", "marts"."dim_households__histv_all", "marts"."dim_households__history" to "safetynet_engineer";
grant select on "marts"."dim_households__keys", "marts"."dim_households__hist", "marts"."dim_households__histv", "marts"."dim_households__histv_packed", "marts"."dim_households__histv_all", "marts"."dim_households__history" to "safetynet_analyst", "safetynet_auditor";

-- marts.low_income_population (mart)

create table if not exists "marts"."low_income_population__keys" (
    key_id integer generated always as identity primary key,
    "household_id" text not null, "person_key" text not null,
    unique ("household_id", "person_key"));
create table if not exists "marts"."low_income_population__hist" (
    key_id integer not null,
    "masked_id" text,
    "masked_name" text,
    "relation" text,
    valid_from date not null,
    valid_to date
);
alter table "marts"."low_income_population__hist" set (fillfactor = 100);
alter table "marts"."low_income_population__hist" add column if not exists row_hash bigint;
update "marts"."low_income_population__hist" set row_hash = hashtextextended(row("masked_id", "masked_name", "relation")::text, 0) where valid_to is null and row_hash is null;
create index if not exists "low_income_population__hist_open" on "marts"."low_income_population__hist" (key_id) where valid_to is null;
alter index "marts"."low_income_population__hist_open" set (fillfactor = 70);
create index if not exists "low_income_population__hist_from" on "marts"."low_income_population__hist" using brin (valid_from);
create index if not exists "low_income_population__hist_to" on "marts"."low_income_population__hist" using brin (valid_to);

create or replace view "marts"."low_income_population__history" as
select
    d.extract_date as "as_of_date",
    k.household_id as "household_id",
    k.person_key as "person_key",
    h.masked_id as "masked_id",
    h.masked_name as "masked_name",
    h.relation as "relation",
    dh.region_code::text as "region_code",
    dh.urban_rural::text as "urban_rural",
    dh.category::text as "category",
    dh.household_size::integer as "household_size",
    dh.assessed_monthly_income::numeric(14,2) as "assessed_monthly_income",
    dh.per_capita_income::numeric(20,6) as "per_capita_income",
    dh.out_of_pocket_365::numeric(16,2) as "out_of_pocket_365",
    dh.adjusted_per_capita_income::numeric(20,6) as "adjusted_per_capita_income",
    dv.financial_assets::numeric(20,2) as "financial_assets",
    dh.residential_properties::integer as "residential_properties",
    dh.dibao_standard::numeric(14,2) as "dibao_standard"
from audit.history_days d
join "marts"."low_income_population__hist" h on "h".valid_from <= d.extract_date and ("h".valid_to is null or "h".valid_to > d.extract_date)
join "marts"."low_income_population__keys" k on k.key_id = h.key_id
join marts.dim_households__keys dk on dk.household_id = k.household_id
join marts.dim_households__hist dh on dh.key_id = dk.key_id and dh.valid_from <= d.extract_date and (dh.valid_to is null or dh.valid_to > d.extract_date)
join lateral marts.dim_households__histv_at(d.extract_date) dv on dv.key_id = dk.key_id
where d.table_name = 'low_income_population';

grant all on "marts"."low_income_population__keys", "marts"."low_income_population__hist", "marts"."low_income_population__history" to "safetynet_engineer";
grant select on "marts"."low_income_population__keys", "marts"."low_income_population__hist", "marts"."low_income_population__history" to "safetynet_analyst", "safetynet_auditor";

-- marts.monitoring_alerts (mart)

create table if not exists "marts"."monitoring_alerts__keys" (
    key_id integer generated always as identity primary key,
    "alert_key" text not null,
    unique ("alert_key"));
create table if not exists "marts"."monitoring_alerts__hist" (
    key_id integer not null,
    "alert_id" text,
    "rule_code" text,
    "rule_name" text,
    "severity" text,
    "household_id" text,
    "person_key" text,
    "region_code" text,
    "episode_start" date,
    "ev_stable" jsonb,
    "has_fa" boolean,
    "has_fapc" boolean,
    valid_from date not null,
    valid_to date
);
alter table "marts"."monitoring_alerts__hist" set (fillfactor = 100);
alter table "marts"."monitoring_alerts__hist" add column if not exists row_hash bigint;
update "marts"."monitoring_alerts__hist" set row_hash = hashtextextended(row("alert_id", "rule_code", "rule_name", "severity", "household_id", "person_key", "region_code", "episode_start", "ev_stable", "has_fa", "has_fapc")::text, 0) where valid_to is null and row_hash is null;
create index if not exists "monitoring_alerts__hist_open" on "marts"."monitoring_alerts__hist" (key_id) where valid_to is null;
alter index "marts"."monitoring_alerts__hist_open" set (fillfactor = 70);
create index if not exists "monitoring_alerts__hist_from" on "marts"."monitoring_alerts__hist" using brin (valid_from);
create index if not exists "monitoring_alerts__hist_to" on "marts"."monitoring_alerts__hist" using brin (valid_to);
create table if not exists "marts"."monitoring_alerts__histv" (
    key_id integer not null,
    "fa" numeric,
    "fapc" numeric,
    valid_from date not null,
    valid_to date
);
alter table "marts"."monitoring_alerts__histv" set (fillfactor = 100);
alter table "marts"."monitoring_alerts__histv" add column if not exists row_hash bigint;
update "marts"."monitoring_alerts__histv" set row_hash = hashtextextended(row("fa", "fapc")::text, 0) where valid_to is null and row_hash is null;
create index if not exists "monitoring_alerts__histv_open" on "marts"."monitoring_alerts__histv" (key_id) where valid_to is null;
alter index "marts"."monitoring_alerts__histv_open" set (fillfactor = 70);
create index if not exists "monitoring_alerts__histv_from" on "marts"."monitoring_alerts__histv" using brin (valid_from);
create index if not exists "monitoring_alerts__histv_to" on "marts"."monitoring_alerts__histv" using brin (valid_to);

create table if not exists "marts"."monitoring_alerts__histv_packed" (
    valid_to date not null,
    key_id integer[] not null,
    valid_from date[] not null,
    "fa" numeric[] not null,
    "fapc" numeric[] not null
);
create index if not exists "monitoring_alerts__histv_packed_to" on "marts"."monitoring_alerts__histv_packed" (valid_to);
create or replace view "marts"."monitoring_alerts__histv_all" as
select key_id, "fa", "fapc", valid_from, valid_to from "marts"."monitoring_alerts__histv"
union all
select u.key_id, u."fa"::numeric, u."fapc"::numeric, u.valid_from, p.valid_to
from "marts"."monitoring_alerts__histv_packed" p
cross join lateral unnest("p".key_id, "p".valid_from, "p"."fa", "p"."fapc") as u (key_id, valid_from, "fa", "fapc");
with closed as (delete from "marts"."monitoring_alerts__histv" o where o.valid_to is not null returning o.key_id, o.valid_from, o.valid_to::date as valid_to, "o"."fa", "o"."fapc") insert into "marts"."monitoring_alerts__histv_packed" (valid_to, key_id, valid_from, "fa", "fapc") select valid_to, array_agg(key_id order by key_id), array_agg(valid_from order by key_id), array_agg("fa" order by key_id), array_agg("fapc" order by key_id) from closed group by valid_to, key_id / 8192;

create or replace function "marts"."monitoring_alerts__histv_at"(x date)
returns table (key_id integer, "fa" numeric, "fapc" numeric, valid_from date, valid_to date)
language plpgsql stable rows 1000000 as $fn$
#variable_conflict use_column
begin
    return query
    select o.key_id, "o"."fa", "o"."fapc", o.valid_from, o.valid_to from "marts"."monitoring_alerts__histv" o
    where o.valid_from <= x and (o.valid_to is null or o.valid_to > x)
    union all
    select u.key_id, u."fa"::numeric, u."fapc"::numeric, u.valid_from, p.valid_to from "marts"."monitoring_alerts__histv_packed" p
    cross join lateral unnest("p".key_id, "p".valid_from, "p"."fa", "p"."fapc") as u (key_id, valid_from, "fa", "fapc")
    where p.valid_to > x and u.valid_from <= x;
end $fn$;

create or replace view "marts"."monitoring_alerts__history" as
select
    h.alert_id as "alert_id",
    k.alert_key as "alert_key",
    d.extract_date as "alert_date",
    h.rule_code as "rule_code",
    h.rule_name as "rule_name",
    h.severity as "severity",
    h.household_id as "household_id",
    h.person_key as "person_key",
    h.region_code as "region_code",
    h.episode_start as "episode_start",
    h.episode_start = d.extract_date as "is_new",
    h.ev_stable || case when h.has_fa then jsonb_build_object('financial_assets', v.fa) else '{}'::jsonb end || case when h.has_fapc then jsonb_build_object('financial_assets_per_capita', v.fapc) else '{}'::jsonb end as "evidence"
from audit.history_days d
join "marts"."monitoring_alerts__hist" h on "h".valid_from <= d.extract_date and ("h".valid_to is null or "h".valid_to > d.extract_date)
join "marts"."monitoring_alerts__keys" k on k.key_id = h.key_id
join lateral "marts"."monitoring_alerts__histv_at"(d.extract_date) v on v.key_id = h.key_id
where d.table_name = 'monitoring_alerts';

grant all on "marts"."monitoring_alerts__keys", "marts"."monitoring_alerts__hist", "marts"."monitoring_alerts__histv", "marts"."monitoring_alerts__histv_packed", "marts"."monitoring_alerts__histv_all", "marts"."monitoring_alerts__history" to "safetynet_engineer";
grant select on "marts"."monitoring_alerts__keys", "marts"."monitoring_alerts__hist", "marts"."monitoring_alerts__histv", "marts"."monitoring_alerts__histv_packed", "marts"."monitoring_alerts__histv_all", "marts"."monitoring_alerts__history" to "safetynet_analyst", "safetynet_auditor";

-- marts.alert_cases (mart)

create table if not exists "marts"."alert_cases__keys" (
    key_id integer generated always as identity primary key,
    "alert_id" text not null,
    unique ("alert_id"));
create table if not exists "marts"."alert_cases__hist" (
    key_id integer not null,
    "rule_code" text,
    "rule_name" text,
    "severity" text,
    "household_id" text,
    "person_key" text,
    "region_code" text,
    "episode_start" date,
    "state" text,
    "state_date" date,
    "verify_due" date,
    "resolve_due" date,
    "due_date" date,
    "is_overdue" boolean,
    "is_newly_overdue" boolean,
    "first_decision_date" date,
    valid_from date not null,
    valid_to date
);
alter table "marts"."alert_cases__hist" set (fillfactor = 100);
alter table "marts"."alert_cases__hist" add column if not exists row_hash bigint;
update "marts"."alert_cases__hist" set row_hash = hashtextextended(row("rule_code", "rule_name", "severity", "household_id", "person_key", "region_code", "episode_start", "state", "state_date", "verify_due", "resolve_due", "due_date", "is_overdue", "is_newly_overdue", "first_decision_date")::text, 0) where valid_to is null and row_hash is null;
create index if not exists "alert_cases__hist_open" on "marts"."alert_cases__hist" (key_id) where valid_to is null;
alter index "marts"."alert_cases__hist_open" set (fillfactor = 70);
create index if not exists "alert_cases__hist_from" on "marts"."alert_cases__hist" using brin (valid_from);
create index if not exists "alert_cases__hist_to" on "marts"."alert_cases__hist" using brin (valid_to);

create or replace view "marts"."alert_cases__history" as
select
    d.extract_date as "as_of_date",
    k.alert_id as "alert_id",
    h.rule_code as "rule_code",
    h.rule_name as "rule_name",
    h.severity as "severity",
    h.household_id as "household_id",
    h.person_key as "person_key",
    h.region_code as "region_code",
    h.episode_start as "episode_start",
    h.state as "state",
    h.state_date as "state_date",
    h.verify_due as "verify_due",
    h.resolve_due as "resolve_due",
    h.due_date as "due_date",
    h.is_overdue as "is_overdue",
    h.is_newly_overdue as "is_newly_overdue",
    h.first_decision_date as "first_decision_date"
from audit.history_days d
join "marts"."alert_cases__hist" h on "h".valid_from <= d.extract_date and ("h".valid_to is null or "h".valid_to > d.extract_date)
join "marts"."alert_cases__keys" k on k.key_id = h.key_id
where d.table_name = 'alert_cases';

grant all on "marts"."alert_cases__keys", "marts"."alert_cases__hist", "marts"."alert_cases__history" to "safetynet_engineer";
grant select on "marts"."alert_cases__keys", "marts"."alert_cases__hist", "marts"."alert_cases__history" to "safetynet_analyst", "safetynet_auditor";
