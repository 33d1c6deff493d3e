"""(issue 21) One OpenLineage run per dbt model, as child runs of the dbt_build task.

Cosmos (astronomer-cosmos 1.15.1, ``DbtLocalBaseOperator``) parses dbt's artefacts
(manifest.json, run_results.json) with openlineage-integration-common after the
build and keeps one COMPLETE event per model and test on the operator
(``openlineage_events_completes``); its ``get_openlineage_facets_on_complete`` then
merges them into the task's one event (every input to every output). The per-model
events (``<db>.<schema>.<model>.build.run``: its parents → its table) are what give
the graph raw → staging → intermediate → marts, so dbt_build's ``post_execute``
emits them with a parent facet naming the dbt_build task run (and the DAG run as
the root).

A dbt source is named by openlineage-integration-common after its ``name``, not its
``identifier`` (``raw.balances`` for the table ``raw.bank_balances``): the names are
put right from the project's source files first, so the tables the loads wrote are
the ones the staging models read (and dbt_build's merged event says the same).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import attr
import yaml

log = logging.getLogger(__name__)
# libyaml's safe loader when present: the models' .yml files in 0.01 s instead of 0.09 s,
# on dbt_build's critical path (issue 23)
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def emit_model_events(context: Any, result: Any = None) -> int:
    """dbt_build's post_execute: emit Cosmos's per-model events; returns how many."""
    from airflow.providers.openlineage import conf

    task = context["task"]
    events = list(getattr(task, "openlineage_events_completes", None) or [])
    if conf.is_disabled() or not events:
        return 0
    from airflow.providers.openlineage.plugins.adapter import OpenLineageAdapter

    try:
        events = with_source_tables(events, source_tables(Path(task.project_dir)))
        events = without_repeated_schemas(events)
        # dbt_build's own event: the same names, without the facets (names_only)
        task.openlineage_events_completes = names_only(events)
        adapter = OpenLineageAdapter()
        parent = parent_facet(context["ti"])
        for event in events:
            run = attr.evolve(event.run, facets={**(event.run.facets or {}), "parent": parent})
            adapter.emit(attr.evolve(event, run=run))
    except Exception:  # lineage is a record of the run: it never fails the build
        log.warning("OpenLineage: dbt model events not emitted", exc_info=True)
        return 0
    log.info("OpenLineage: %d dbt model and test events emitted", len(events))
    return len(events)


def names_only(events: list[Any]) -> list[Any]:
    """(issue 23) The events with their datasets' facets left out, for dbt_build's own
    COMPLETE: Cosmos merges every model's inputs and outputs into it and compares each
    dataset, schema and docs included, with those it has (O(n²); a 356-kB event, ~0.4 s
    of a sample day's dbt_build). The model events carry the facets; lineage_edges
    leaves the merged event out (docs/lineage.md)."""

    def bare(dataset: Any) -> Any:
        return attr.evolve(dataset, facets={})

    return [
        attr.evolve(
            e, inputs=[bare(d) for d in e.inputs or []], outputs=[bare(d) for d in e.outputs or []]
        )
        for e in events
    ]


# dataset facets that describe a table, not its use by the run: said once, by the event
# of the model that builds the table
TABLE_FACETS = ("schema", "documentation")


def without_repeated_schemas(events: list[Any]) -> list[Any]:
    """(issue 23) The events with ``TABLE_FACETS`` left out of every input that another
    event of the build outputs: a model's columns and docs travel once, with the event
    that builds it, not again with each model and test reading it (two thirds of the
    dataset facets of a build; each is walked by the provider's secrets redactor, ~0.3 s
    of a sample day's dbt_build, and stored daily). A source keeps them; an input's other
    facets (a test's ``dataQualityAssertions``) stay."""
    built = {d.name for e in events for d in e.outputs or []}

    def lean(dataset: Any) -> Any:
        if dataset.name not in built or not dataset.facets:
            return dataset
        facets = {k: v for k, v in dataset.facets.items() if k not in TABLE_FACETS}
        return attr.evolve(dataset, facets=facets)

    return [attr.evolve(e, inputs=[lean(d) for d in e.inputs or []]) for e in events]


def parent_facet(ti: Any) -> Any:
    """ParentRunFacet of a child run of task instance ``ti`` (root: its DAG run)."""
    from airflow.providers.openlineage.plugins import macros
    from openlineage.client.facet_v2 import parent_run

    return parent_run.ParentRunFacet(
        run=parent_run.Run(runId=macros.lineage_run_id(ti)),
        job=parent_run.Job(
            namespace=macros.lineage_job_namespace(), name=macros.lineage_job_name(ti)
        ),
        root=parent_run.Root(
            run=parent_run.RootRun(runId=macros.lineage_root_run_id(ti)),
            job=parent_run.RootJob(
                namespace=macros.lineage_root_job_namespace(ti),
                name=macros.lineage_root_job_name(ti),
            ),
        ),
    )


def source_tables(project_dir: Path) -> dict[str, str]:
    """``schema.name`` → ``schema.identifier`` of every dbt source table of the project."""
    renamed = {}
    for path in sorted((project_dir / "models").rglob("*.yml")):
        spec = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER) or {}
        for source in spec.get("sources") or []:
            schema = source.get("schema") or source["name"]
            for table in source.get("tables") or []:
                identifier = table.get("identifier") or table["name"]
                if identifier != table["name"]:
                    renamed[f"{schema}.{table['name']}"] = f"{schema}.{identifier}"
    return renamed


def with_source_tables(events: list[Any], renamed: dict[str, str]) -> list[Any]:
    """The events with each source input named after its table (``source_tables``)."""

    def table(dataset: Any) -> Any:
        database, _, relation = dataset.name.partition(".")
        if relation in renamed:
            return attr.evolve(dataset, name=f"{database}.{renamed[relation]}")
        return dataset

    return [attr.evolve(e, inputs=[table(d) for d in e.inputs or []]) for e in events]
