"""(issue 21) Load the OpenLineage file transport's events into ``audit.lineage_events``.

Locally the provider writes one event per file (transport ``file``, ``append``
false: ``<log_file_path>-<timestamp>.json``, under the deployment's reports folder:
``transport``; with ``append`` true, one JSON event per line of ``<log_file_path>``).
``load`` reads them all and inserts the new ones: a unique index on (run_id,
event_type, job_name, event_time) makes a second load of the same files insert
nothing. Called at the end of each run (publish_feed,
discard_day) and by ``python -m safetynet.lineage load``. With another transport
(HTTP to Marquez, docker-compose) there is no file and nothing to load.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from safetynet import warehouse
from safetynet.lineage import transport as lineage_transport

log = logging.getLogger(__name__)
TRANSPORT_ENV = "AIRFLOW__OPENLINEAGE__TRANSPORT"
RECENT = timedelta(days=1)  # see load()

INSERT = """
insert into audit.lineage_events (event_time, event_type, job_namespace, job_name, run_id,
    parent_job_name, parent_run_id, airflow_run_id, extract_date, inputs, outputs, event)
values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
on conflict (run_id, event_type, job_name, event_time) do nothing
"""
# A dbt model's run has no Airflow facet: it takes its parent's (the dbt_build task).
# Every re-run of a date gives dbt_build the same OpenLineage run id, so the parent
# event is the latest one at or before the model's (the re-run that built it).
INHERIT = """
with parent as (
    select distinct on (c.run_id, c.event_type, c.job_name, c.event_time)
        c.run_id, c.event_type, c.job_name, c.event_time, p.airflow_run_id, p.extract_date
    from audit.lineage_events as c
    inner join audit.lineage_events as p
        on p.run_id = c.parent_run_id and p.airflow_run_id is not null
        and p.event_time <= c.event_time
    where c.airflow_run_id is null
    order by c.run_id, c.event_type, c.job_name, c.event_time, p.event_time desc)
update audit.lineage_events as c
set airflow_run_id = parent.airflow_run_id, extract_date = parent.extract_date
from parent
where (c.run_id, c.event_type, c.job_name, c.event_time)
    = (parent.run_id, parent.event_type, parent.job_name, parent.event_time)
"""


@dataclass(frozen=True)
class LoadResult:
    files: int
    events: int
    inserted: int


def transport_config(transport: str | None = None) -> dict[str, Any]:
    """The transport of the events: Airflow's ``[openlineage] transport`` (JSON, the local
    stack), else the OpenLineage client's ``OPENLINEAGE__TRANSPORT__*`` variables
    (docker-compose)."""
    text = transport if transport is not None else os.environ.get(TRANSPORT_ENV, "")
    if text.strip():
        try:
            config = json.loads(text)
        except json.JSONDecodeError:
            log.warning("%s is not JSON: no lineage file to load", TRANSPORT_ENV)
            return {}
        return config if isinstance(config, dict) else {}
    prefix = "OPENLINEAGE__TRANSPORT__"
    config = {k[len(prefix) :].lower(): v for k, v in os.environ.items() if k.startswith(prefix)}
    config["append"] = str(config.get("append", "")).lower() == "true"
    return config


def event_folder(transport: str | None = None, reports_dir: Path | None = None) -> Path | None:
    """The folder the file transport writes into (None: another transport)."""
    config = transport_config(transport)
    if config.get("type") != "file" or not config.get("log_file_path"):
        return None
    if config.get("filesystem") == lineage_transport.FILESYSTEM:
        return lineage_transport.event_dir(reports_dir)
    return None if config.get("filesystem") else Path(config["log_file_path"]).parent


def transport_files(transport: str | None = None, reports_dir: Path | None = None) -> list[Path]:
    """The event files of the configured file transport ([] for any other transport).
    With the project's filesystem (``transport.FILESYSTEM``) they are under the reports
    folder (``reports_dir``, default: the deployment's)."""
    config = transport_config(transport)
    if config.get("type") != "file" or not config.get("log_file_path"):
        return []
    path = Path(config["log_file_path"])
    if config.get("filesystem") == lineage_transport.FILESYSTEM:
        path = lineage_transport.event_dir(reports_dir) / path
    elif config.get("filesystem"):
        log.warning(
            "lineage transport filesystem %s: files not readable here", config["filesystem"]
        )
        return []
    if config.get("append"):
        return [path] if path.exists() else []
    return sorted(path.parent.glob(f"{path.name}-*.json"))


def read_events(files: list[Path]) -> Iterator[dict[str, Any]]:
    """Each JSON event of the files (one per line); an unreadable line is skipped."""
    for path in files:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    log.warning("lineage file %s line %d is not JSON: skipped", path, number)


def _datasets(items: list[dict[str, Any]] | None) -> str:
    return json.dumps([{"namespace": d["namespace"], "name": d["name"]} for d in items or []])


def _airflow_run(facets: dict[str, Any]) -> tuple[str | None, date | None]:
    """(Airflow run id, extract date D) from the provider's run facets."""
    for key in ("airflow", "airflowDagRun"):
        dag_run = (facets.get(key) or {}).get("dagRun") or {}
        if dag_run.get("run_id"):
            logical = dag_run.get("logical_date") or dag_run.get("data_interval_start")
            day = date.fromisoformat(str(logical)[:10]) if logical else None
            return str(dag_run["run_id"]), day
    return None, None


def event_row(event: dict[str, Any]) -> tuple[Any, ...]:
    """The columns of audit.lineage_events for one event."""
    run, job = event.get("run") or {}, event.get("job") or {}
    facets = run.get("facets") or {}
    parent = facets.get("parent") or {}
    airflow_run_id, extract_date = _airflow_run(facets)
    return (
        event["eventTime"],
        event.get("eventType") or "OTHER",
        job.get("namespace") or "",
        job.get("name") or "",
        run.get("runId") or "",
        (parent.get("job") or {}).get("name"),
        (parent.get("run") or {}).get("runId"),
        airflow_run_id,
        extract_date,
        _datasets(event.get("inputs")),
        _datasets(event.get("outputs")),
        json.dumps(event, ensure_ascii=False),
    )


def load(url: str, files: list[Path] | None = None, everything: bool = False) -> LoadResult:
    """Insert the new events of ``files`` (default: the transport's) into the audit table.

    Without ``files`` and ``everything``, a file written more than ``RECENT`` before the
    newest event already stored is not read again (its events are in: the in-run loads
    stay cheap however many runs the folder holds)."""
    if files is None:
        files = transport_files()
        if not everything:
            files = _recent(url, files)
    rows = [event_row(e) for e in read_events(files) if e.get("run") and e.get("job")]
    if not rows:
        return LoadResult(len(files), 0, 0)
    warehouse.ensure_schema(url)
    with warehouse.connect(url) as conn, conn.cursor() as cur:
        before = _count(cur)
        cur.executemany(INSERT, rows)
        inserted = _count(cur) - before
        for _ in range(3):  # dbt tests and models under dbt_build under the DAG run
            if cur.execute(INHERIT).rowcount == 0:
                break
    log.info("lineage: %d events in %d files, %d new", len(rows), len(files), inserted)
    return LoadResult(len(files), len(rows), inserted)


def _recent(url: str, files: list[Path]) -> list[Path]:
    """The files modified after (newest stored event - RECENT); all when none is stored."""
    with warehouse.connect(url) as conn:
        table = conn.execute("select to_regclass('audit.lineage_events')").fetchone()
        row = (
            conn.execute(
                "select extract(epoch from max(event_time)) from audit.lineage_events"
            ).fetchone()
            if table and table[0]
            else None
        )
    if not row or row[0] is None:
        return files
    since = float(row[0]) - RECENT.total_seconds()
    return [f for f in files if f.stat().st_mtime >= since]


def _count(cur: Any) -> int:
    row = cur.execute("select count(*) from audit.lineage_events").fetchone()
    return int(row[0]) if row else 0


def load_quietly(url: str) -> LoadResult | None:
    """End of a run: load, but a lineage problem never fails the day's feed."""
    try:
        return load(url)
    except Exception:  # lineage is a record of the run, not a gate
        log.warning("lineage events not loaded (python -m safetynet.lineage load)", exc_info=True)
        return None
