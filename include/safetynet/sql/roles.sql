-- Access roles (group roles, NOLOGIN: grant them to people's login roles).
-- engineer: everything; analyst: marts only; auditor: marts and audit.
do $$
begin
  if not exists (select from pg_roles where rolname = 'safetynet_engineer') then
    create role safetynet_engineer nologin;
  end if;
  if not exists (select from pg_roles where rolname = 'safetynet_analyst') then
    create role safetynet_analyst nologin;
  end if;
  if not exists (select from pg_roles where rolname = 'safetynet_auditor') then
    create role safetynet_auditor nologin;
  end if;
end
$$;
grant usage on schema raw, audit, marts to safetynet_engineer;
grant all on all tables in schema raw, audit, marts to safetynet_engineer;
grant usage on schema marts to safetynet_analyst, safetynet_auditor;
grant usage on schema audit to safetynet_auditor;
grant select on all tables in schema marts to safetynet_analyst, safetynet_auditor;
grant select on all tables in schema audit to safetynet_auditor;
alter default privileges in schema marts grant select on tables to safetynet_analyst, safetynet_auditor;
alter default privileges in schema audit grant select on tables to safetynet_auditor;
alter default privileges in schema raw grant all on tables to safetynet_engineer;
revoke all on schema raw from public;
