"""(issue 21) 血缘 Lineage with OpenLineage.

The OpenLineage provider (apache-airflow-providers-openlineage) emits one START and
one COMPLETE (or FAIL) event per task of ``safetynet_daily``; this package fills in
what the tasks read and wrote:

- ``extractor``: the custom extractor of the TaskFlow tasks (the loads: landing files
  → raw tables; check_raw and publish_feed's marts gate: the GX results as
  data-quality facets; publish_feed: marts → feed files), read from the audit tables
  of the run;
- ``dbt``: one event per dbt model (its inputs → its table), from the events Cosmos
  parses out of dbt's artefacts, as child runs of the dbt_build task;
- ``naming``: the dataset names (no credentials in any namespace);
- ``store``: loads the file transport's events into ``audit.lineage_events``.

See docs/lineage.md.
"""
