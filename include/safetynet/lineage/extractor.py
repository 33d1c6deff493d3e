"""(issue 21) The OpenLineage extractor of safetynet_daily's TaskFlow tasks.

Registered with ``AIRFLOW__OPENLINEAGE__EXTRACTORS`` (the provider's documented way
to add lineage to an operator it does not know). A ``@task`` is a
``_PythonDecoratedOperator``, a ``@task.sensor`` (the loads, issue 23) a
``DecoratedSensorOperator``; for those tasks the provider would report no dataset.
On completion (or failure) this extractor reads what the task did from the audit
tables of its Airflow run, the record the auditors already trust:

- ``load_<source>``: the delivered files (``audit.load_batches``, latest attempt) →
  the raw tables they were loaded into, with row counts (a delivery refused as a
  whole, e.g. a checksum: the source's files of the day, no output);
- ``check_raw``: the checked tables as inputs, each with a
  DataQualityAssertionsDatasetFacet of its GX results (``audit.dq_results``,
  ``gate.quality_facets``);
- ``publish_feed`` (the marts gate, then the feed): the checked marts, with their
  facets as above, and marts.monitoring_alerts and marts.alert_cases → the feed files
  alerts.csv and overdue.csv of the day (``audit.feed_publications``).

Other tasks (check_arrivals, discard_day, compact_history) report no dataset.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from airflow.providers.openlineage.extractors.base import BaseExtractor, OperatorLineage
from openlineage.client.event_v2 import InputDataset, OutputDataset
from openlineage.client.generated.input_statistics_input_dataset import (
    InputStatisticsInputDatasetFacet,
)
from openlineage.client.generated.output_statistics_output_dataset import (
    OutputStatisticsOutputDatasetFacet,
)

from safetynet import warehouse
from safetynet.config import Settings
from safetynet.ingest.sources import specs_for
from safetynet.lineage import naming
from safetynet.publish import feed
from safetynet.quality import gate

# A suite whose name is not the table it checks (expectations/*.yml).
SUITE_TABLES = {
    "delivery": "audit.load_batches",
    "audit.casework_rejections": "audit.rejected_rows",
}
LAYER_SUITES = {
    "check_raw": "suite = 'delivery' or suite like 'raw.%%'",
    "publish_feed": "suite like 'marts.%%' or suite like 'audit.%%'",  # its marts gate
}
FEED_INPUTS = ("marts.monitoring_alerts", "marts.alert_cases")  # publish/feed.py queries


class SafetynetExtractor(BaseExtractor):
    """Lineage of the ``@task`` steps of safetynet_daily (and of its ``@task.sensor``
    loads, which wait for their manifest and load), from the audit tables."""

    @classmethod
    def get_operator_classnames(cls) -> list[str]:
        return ["_PythonDecoratedOperator", "DecoratedSensorOperator"]

    def _execute_extraction(self) -> OperatorLineage | None:
        return OperatorLineage()  # START: nothing is known before the task ran

    def extract_on_complete(self, task_instance: Any) -> OperatorLineage | None:
        return task_lineage(self.operator.task_id, str(task_instance.run_id))

    def extract_on_failure(self, task_instance: Any) -> OperatorLineage | None:
        return self.extract_on_complete(task_instance)


def task_lineage(task_id: str, run_id: str, url: str | None = None) -> OperatorLineage:
    """The datasets task ``task_id`` of Airflow run ``run_id`` read and wrote."""
    url = url or Settings.from_env().warehouse_url
    if task_id.startswith("load_"):
        return load_lineage(url, task_id.removeprefix("load_"), run_id)
    if task_id == "publish_feed":
        return feed_lineage(url, run_id)
    if task_id in LAYER_SUITES:
        return check_lineage(url, task_id, run_id)
    return OperatorLineage()


def load_lineage(url: str, source: str, run_id: str) -> OperatorLineage:
    """Files of the source's latest load attempt in this run → the raw tables loaded."""
    with warehouse.connect(url) as conn:
        rows = conn.execute(
            """select extract_date, file_name, target_table, file_rows, loaded_rows, status
               from audit.load_batches as b
               where run_id = %s and source = %s and attempt_id is not distinct from (
                   select l.attempt_id from audit.load_batches as l
                   where l.run_id = b.run_id and l.source = b.source
                   order by l.batch_id desc limit 1)
               order by batch_id""",
            (run_id, source),
        ).fetchall()
    namespace = naming.warehouse_namespace(url)
    inputs, outputs = [], []
    for day, file_name, table, file_rows, loaded_rows, status in rows:
        if not table:  # the delivery failed as a whole (file_name holds the check's name)
            inputs += [
                InputDataset(naming.FILE_NAMESPACE, naming.landing_file(source, day, name))
                for name in expected_files(source, day)
            ]
            continue
        stats = InputStatisticsInputDatasetFacet(rowCount=file_rows)
        inputs.append(
            InputDataset(
                naming.FILE_NAMESPACE,
                naming.landing_file(source, day, file_name),
                inputFacets={"inputStatistics": stats} if file_rows is not None else {},
            )
        )
        if status == "loaded":
            out = OutputStatisticsOutputDatasetFacet(rowCount=loaded_rows)
            outputs.append(
                OutputDataset(
                    namespace,
                    naming.table_name(url, table),
                    outputFacets={"outputStatistics": out},
                )
            )
    return OperatorLineage(inputs=inputs, outputs=outputs)


def expected_files(source: str, day: date) -> list[str]:
    """The files the source delivers for D (contract section 3): what a load that failed
    before opening a batch was reading."""
    return [spec.file_name(day) for spec in specs_for(source)]


def stored_checks(url: str, task_id: str, run_id: str) -> list[gate.CheckResult]:
    """The run's latest result of each check of the task's layer (audit.dq_results)."""
    with warehouse.connect(url) as conn:
        rows = conn.execute(
            f"""select distinct on (suite, expectation, coalesce(column_name, ''))
                       suite, expectation, column_name, severity, success
                from audit.dq_results
                where run_id = %s and ({LAYER_SUITES[task_id]})
                order by suite, expectation, coalesce(column_name, ''), checked_at desc""",
            (run_id,),
        ).fetchall()
    return [gate.CheckResult(s, e, c, sev, ok, "", "") for s, e, c, sev, ok in rows]


def check_lineage(url: str, task_id: str, run_id: str) -> OperatorLineage:
    """The checked tables, each with its data-quality assertions facet."""
    namespace = naming.warehouse_namespace(url)
    facets = gate.quality_facets(stored_checks(url, task_id, run_id))
    return OperatorLineage(
        inputs=[
            InputDataset(
                namespace,
                naming.table_name(url, SUITE_TABLES.get(suite, suite)),
                facets={"dataQualityAssertions": facet},
            )
            for suite, facet in sorted(facets.items())
        ]
    )


def feed_lineage(url: str, run_id: str) -> OperatorLineage:
    """The checked marts (the task's gate, with their data-quality facets) → the day's
    feed files, when this run published them."""
    with warehouse.connect(url) as conn:
        row = conn.execute(
            """select extract_date from audit.feed_publications
               where run_id = %s order by published_at desc limit 1""",
            (run_id,),
        ).fetchone()
    namespace = naming.warehouse_namespace(url)
    inputs = list(check_lineage(url, "publish_feed", run_id).inputs)
    checked = {dataset.name for dataset in inputs}
    read = [naming.table_name(url, table) for table in FEED_INPUTS]
    inputs += [InputDataset(namespace, name) for name in read if name not in checked]
    if not row:
        return OperatorLineage(inputs=inputs)
    day: date = row[0]
    return OperatorLineage(
        inputs=inputs,
        outputs=[
            OutputDataset(naming.FILE_NAMESPACE, naming.feed_file(day, name))
            for name in (feed.ALERTS_FILE, feed.OVERDUE_FILE)
        ],
    )
