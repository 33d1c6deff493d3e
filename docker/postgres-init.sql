-- First start of the postgres container only (empty data volume): the image's
-- entrypoint runs this file with psql as the superuser, ON_ERROR_STOP on.
-- Passwords come from the container environment (docker-compose.yml passes
-- AIRFLOW_DB_PASSWORD and WAREHOUSE_DB_PASSWORD from .env); nothing secret is here.
-- Changing them later: ALTER ROLE ... PASSWORD, then update .env (this file never reruns).

\set airflow_password ''
\set warehouse_password ''
\getenv airflow_password AIRFLOW_DB_PASSWORD
\getenv warehouse_password WAREHOUSE_DB_PASSWORD
select :'airflow_password' = '' as no_airflow_password,
       :'warehouse_password' = '' as no_warehouse_password \gset
\if :no_airflow_password
  do $$ begin raise exception 'AIRFLOW_DB_PASSWORD is not set'; end $$;
\endif
\if :no_warehouse_password
  do $$ begin raise exception 'WAREHOUSE_DB_PASSWORD is not set'; end $$;
\endif

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
\set superset_password ''
\set superset_analyst_password ''
\set superset_auditor_password ''
\getenv superset_password SUPERSET_DB_PASSWORD
\getenv superset_analyst_password SUPERSET_ANALYST_DB_PASSWORD
\getenv superset_auditor_password SUPERSET_AUDITOR_DB_PASSWORD
select :'superset_password' = '' or :'superset_analyst_password' = ''
       or :'superset_auditor_password' = '' as no_superset_password \gset
\if :no_superset_password
  do $$ begin raise exception 'SUPERSET_*_DB_PASSWORD are not all set'; end $$;
\endif
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
