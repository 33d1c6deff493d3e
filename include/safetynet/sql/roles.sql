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
-- (v2, contract section 6) audit: each table the auditor reads is granted by name,
-- and only tables that hold masked forms (privacy.py); a new audit table is not
-- readable by auditors until it is listed here. The raw line of a rejected row is
-- in raw.rejected_lines (engineers only).
revoke all on all tables in schema audit from safetynet_auditor, safetynet_analyst;
alter default privileges in schema audit revoke all on tables from safetynet_auditor;
grant select on audit.load_batches, audit.rejected_rows, audit.source_arrivals,
    audit.dq_results, audit.feed_publications, audit.run_summaries to safetynet_auditor;
alter default privileges in schema marts grant select on tables to safetynet_analyst, safetynet_auditor;
alter default privileges in schema raw grant all on tables to safetynet_engineer;
revoke all on schema raw from public;
revoke all on schema audit from public;
revoke all on all tables in schema raw from safetynet_auditor, safetynet_analyst;
