-- First start of the postgres container only (empty data volume): the image's
-- entrypoint runs this file with psql as the superuser, ON_ERROR_STOP on.
-- Passwords come from the container environment (docker-compose.yml passes
-- AIRFLOW_DB_PASSWORD, WAREHOUSE_DB_PASSWORD and the three SUPERSET_*_DB_PASSWORD from
-- .env); nothing secret is here.
-- Changing them later: ALTER ROLE ... PASSWORD, then update .env (this file never reruns).

\set airflow_password ''
\set warehouse_password ''
\set superset_password ''
\set superset_analyst_password ''
\set superset_auditor_password ''
\getenv airflow_password AIRFLOW_DB_PASSWORD
\getenv warehouse_password WAREHOUSE_DB_PASSWORD
\getenv superset_password SUPERSET_DB_PASSWORD
\getenv superset_analyst_password SUPERSET_ANALYST_DB_PASSWORD
\getenv superset_auditor_password SUPERSET_AUDITOR_DB_PASSWORD
-- Every password is required: stop, naming the ones that are empty.
select coalesce(string_agg(name, ', '), '') as missing_passwords
from (values ('AIRFLOW_DB_PASSWORD', :'airflow_password'),
             ('WAREHOUSE_DB_PASSWORD', :'warehouse_password'),
             ('SUPERSET_DB_PASSWORD', :'superset_password'),
             ('SUPERSET_ANALYST_DB_PASSWORD', :'superset_analyst_password'),
             ('SUPERSET_AUDITOR_DB_PASSWORD', :'superset_auditor_password')) as p (name, value)
where value = '' \gset
select set_config('safetynet.missing_passwords', :'missing_passwords', false) as ignored \gset
do $$
begin
    if current_setting('safetynet.missing_passwords') <> '' then
        raise exception 'not set in .env: %', current_setting('safetynet.missing_passwords');
    end if;
end $$;

-- Airflow metadata: its own role and database.
create role airflow login password :'airflow_password';
create database airflow owner airflow;
revoke all on database airflow from public;

-- Warehouse: owned by the pipeline's login role `safetynet` (not a superuser).
-- The group roles of include/safetynet/sql/roles.sql are created here, because
-- creating roles needs CREATEROLE, which the pipeline's role does not get.
create role safetynet login password :'warehouse_password';
create role safetynet_engineer nologin;
create role safetynet_analyst nologin;
create role safetynet_auditor nologin;
create database warehouse owner safetynet;
revoke all on database warehouse from public;
grant connect on database warehouse
    to safetynet_engineer, safetynet_analyst, safetynet_auditor;

-- Superset (issue 22, docs/superset.md): its metadata role and database, and the two
-- read-only logins of its warehouse connections (members of the analyst and auditor
-- group roles: PostgreSQL, not Superset, decides what their queries may read).
create role superset login password :'superset_password';
create database superset owner superset;
revoke all on database superset from public;
create role superset_analyst login password :'superset_analyst_password' in role safetynet_analyst;
create role superset_auditor login password :'superset_auditor_password' in role safetynet_auditor;
alter role superset_analyst set default_transaction_read_only = on;
alter role superset_auditor set default_transaction_read_only = on;
alter role superset_analyst set statement_timeout = '120s';
alter role superset_auditor set statement_timeout = '120s';

\connect warehouse
-- pgcrypto is a trusted extension (the owner could create it); done here anyway.
create extension if not exists pgcrypto;
