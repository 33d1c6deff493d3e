"""The steps of ``safetynet_daily``, one function per DAG task.

Each takes plain values (the extract date, the run id) and reads the
deployment's settings from the environment, so the DAG file stays a
picture of the flow and every step can be run and tested on its own.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from datetime import date, timedelta
from typing import Any

import psycopg
from psycopg import sql

from safetynet import runlock, warehouse
from safetynet.config import Settings, pseudonym_key
from safetynet.ingest import arrivals, casework, loader, rejects
from safetynet.lineage import store as lineage_store
from safetynet.publish import feed
from safetynet.quality import gate

log = logging.getLogger(__name__)
# (issue 23) the marts that repeat themselves daily keep whole snapshots of the newest
# SAFETYNET_SNAPSHOT_WINDOW_DAYS processed dates in marts.<name>__recent; older dates are
# folded into the change history (safetynet.history); marts.<name> is a view over both
WINDOWED_MARTS = ("low_income_population", "monitoring_alerts", "dim_households", "alert_cases")
RECENT = "__recent"
# the public names analysts, GX, the feed and explain read, and each one's date column
PUBLIC_MART_DATE_COLUMNS = {
    "marts.low_income_population": "as_of_date",
    "marts.monitoring_alerts": "alert_date",
    "marts.dim_households": "as_of_date",
    "marts.population_daily_summary": "as_of_date",
    # (v2) alert follow-up, section 9 (marts.alert_episodes is a view)
    "marts.alert_cases": "as_of_date",
    "marts.alert_followup_daily": "as_of_date",
}
# the tables D's mart rows are written to (discard_day deletes them)
MART_DATE_COLUMNS = {
    (f"{table}{RECENT}" if table.split(".")[1] in WINDOWED_MARTS else table): column
    for table, column in PUBLIC_MART_DATE_COLUMNS.items()
}


class IncompleteDelivery(Exception):
    """Sources whose manifest did not arrive before the timeout."""


def poke_source(source: str, extract_date: date, waited_seconds: float) -> bool:
    settings = Settings.from_env()
    return arrivals.record_poke(
        settings.warehouse_url, settings.landing_dir, source, extract_date, waited_seconds
    )


def check_arrivals(extract_date: date) -> None:
    settings = Settings.from_env()
    # retention (contract v2 section 6): raw lines of old rejected rows go, once a day
    rejects.purge(settings.warehouse_url)
    missing = arrivals.missing_sources(settings.landing_dir, extract_date)
    if missing:
        arrivals.mark_late(settings.warehouse_url, missing, extract_date)
        raise IncompleteDelivery(
            f"delivery for {extract_date} incomplete after {settings.source_timeout}s: "
            f"no manifest from {', '.join(missing)}"
        )


def load(source: str, extract_date: date, run_id: str | None = None) -> dict[str, Any]:
    settings = Settings.from_env()
    key = pseudonym_key()  # a worker without the key stops before it touches anything
    # another run of D checking or building (make run D beside the scheduler's run of D)
    runlock.wait_for_same_date(settings.warehouse_url, run_id, extract_date)
    results = loader.load_source(
        settings.warehouse_url, settings.landing_dir, source, extract_date, key, run_id
    )
    return {
        r.file_name: {"rows": r.rows, "loaded": r.loaded, "rejected": r.rejected} for r in results
    }


def _expected_rows(url: str, extract_date: date, run_id: str) -> dict[str, dict[str, int]]:
    with warehouse.connect(url) as conn:
        rows = conn.execute(
            """select distinct on (target_table) target_table, manifest_rows - rejected_rows
               from audit.load_batches
               where extract_date = %s and status = 'loaded' and run_id = %s
               order by target_table, batch_id desc""",
            (extract_date, run_id),
        ).fetchall()
    return {table: {"expected_rows": int(n)} for table, n in rows}


def check_raw(extract_date: date, run_id: str, exclusive: bool = False) -> dict[str, int]:
    """The day's deliveries and raw batches. ``exclusive`` (the DAG's check_raw): first take
    the warehouse lease (runlock: one run at a time from here to the feed), and mark it
    ``building`` when the checks pass."""
    settings = Settings.from_env()
    if exclusive:
        runlock.acquire(settings.warehouse_url, run_id, extract_date)
    params = {
        "per_suite": _expected_rows(settings.warehouse_url, extract_date, run_id),
        "expected_rows": -1,
        "run_id": run_id,
    }
    checks = gate.run_checks(
        settings.warehouse_url, settings.reports_dir, "raw", extract_date, run_id, params
    )
    gate.enforce(checks, extract_date)
    if exclusive:
        runlock.renew(settings.warehouse_url, run_id, extract_date, phase=runlock.BUILDING)
    return _tally(checks)


def hold_lease(extract_date: date, run_id: str) -> None:
    """Before dbt_build: this run still holds the warehouse (else it must not build)."""
    runlock.renew(Settings.from_env().warehouse_url, run_id, extract_date)


def _population_band(url: str, extract_date: date) -> dict[str, int]:
    band = float(os.environ.get("SAFETYNET_POPULATION_BAND", "0.2"))
    with warehouse.connect(url) as conn:
        row = conn.execute(
            "select count(*) from marts.low_income_population where as_of_date = %s",
            (extract_date - timedelta(days=1),),
        ).fetchone()
    previous = int(row[0]) if row else 0
    if previous == 0:
        return {"population_min": 0, "population_max": 2**31 - 1}
    return {
        "population_min": int(previous * (1 - band)),
        "population_max": int(previous * (1 + band)) + 1,
    }


def record_rule_versions(project_dir: str, extract_date: date, run_id: str) -> int:
    """dbt_build's callback (issue 21): the run's git commit and the model checksums of
    the manifest dbt wrote in ``project_dir`` go to audit.rule_versions."""
    from safetynet.explain import versions

    url = Settings.from_env().warehouse_url
    return versions.record_from_project(url, run_id, extract_date, project_dir)


def check_marts(extract_date: date, run_id: str) -> dict[str, int]:
    """First the casework rows dbt rejected go to audit.rejected_rows (a warning check
    of the marts suites counts them), then the marts checks."""
    settings = Settings.from_env()
    runlock.renew(settings.warehouse_url, run_id, extract_date)
    rejected = casework.record_warehouse_rejections(settings.warehouse_url, extract_date)
    params = _population_band(settings.warehouse_url, extract_date)
    checks = gate.run_checks(
        settings.warehouse_url, settings.reports_dir, "marts", extract_date, run_id, params
    )
    gate.enforce(checks, extract_date)
    return {**_tally(checks), "casework_rejected": rejected or 0}


def _tally(checks: list[gate.CheckResult]) -> dict[str, int]:
    return {
        "checks": len(checks),
        "failed_critical": sum(not c.success and c.severity == "critical" for c in checks),
        "failed_warning": sum(not c.success and c.severity != "critical" for c in checks),
    }


def discard_day(extract_date: date, run_id: str | None = None) -> list[str]:
    """After a failure: remove D's mart rows and D's feed only when this run built them
    (it holds the warehouse lease in phase ``building``: its raw checks passed, so
    dbt_build started), then release the lease. A run that failed before building (a
    load, check_raw, waiting for the lease) leaves D's marts and feed as they were:
    another run may have published them. Without ``run_id`` (by hand): discard D."""
    settings = Settings.from_env()
    phase = runlock.phase_of(settings.warehouse_url, run_id, extract_date) if run_id else None
    removed: list[str] = []
    if run_id and phase != runlock.BUILDING:
        log.warning(
            "run %s built nothing of %s (lease: %s): its marts and feed are left as they were",
            run_id,
            extract_date,
            phase or "not held",
        )
    else:
        with warehouse.connect(settings.warehouse_url) as conn:
            for public, column in PUBLIC_MART_DATE_COLUMNS.items():
                table = _table_of_rows(conn, public)
                if table:
                    schema, name = table.split(".")
                    conn.execute(
                        sql.SQL("delete from {} where {} = %s").format(
                            sql.Identifier(schema, name), sql.Identifier(column)
                        ),
                        (extract_date,),
                    )
                    removed.append(table)
            removed += _unfold_marts(conn, extract_date)
        feed.withdraw(settings.warehouse_url, settings.feed_dir, extract_date)
    if run_id and phase:
        runlock.release(settings.warehouse_url, run_id, extract_date)
    lineage_store.load_quietly(settings.warehouse_url)  # (issue 21) the run's lineage so far
    return removed


def _table_of_rows(conn: psycopg.Connection, public: str) -> str | None:
    """The table holding a mart's rows of D: ``<name>__recent`` of a windowed mart, else
    the public name when it is a table (every other mart; a warehouse not set up by
    dbt yet); None when there is none."""
    recent = f"{public}{RECENT}"
    if public.split(".")[1] in WINDOWED_MARTS and _regclass(conn, recent):
        return recent
    row = conn.execute(
        "select relkind in ('r', 'p') from pg_class where oid = to_regclass(%s)", (public,)
    ).fetchone()
    return public if row and row[0] else None


def _regclass(conn: psycopg.Connection, name: str) -> bool:
    row = conn.execute("select to_regclass(%s)", (name,)).fetchone()
    return bool(row and row[0])


def _unfold_marts(conn: psycopg.Connection, extract_date: date) -> list[str]:
    """(issue 23, design 2.5) D was folded into the change history and this run re-built
    it: its calendar rows of the windowed marts go too, so D is no longer a processed
    date (as a discarded day in the window). Raw calendar rows stay (raw is never
    discarded); versions covering no calendar day are pruned by the next compaction."""
    if not _regclass(conn, "audit.history_days"):
        return []
    rows = conn.execute(
        "delete from audit.history_days where extract_date = %s and table_name = any(%s) "
        "returning table_name",
        (extract_date, list(WINDOWED_MARTS)),
    ).fetchall()
    return sorted(f"audit.history_days ({name})" for (name,) in rows)


def publish(extract_date: date, run_id: str) -> dict[str, Any]:
    """Writes D's feed (after ``check_marts`` passed), then releases the warehouse lease.
    When the feed cannot be written, the DAG's discard_day removes D and releases it."""
    settings = Settings.from_env()
    runlock.renew(settings.warehouse_url, run_id, extract_date)
    publication = feed.publish(settings.warehouse_url, settings.feed_dir, extract_date, run_id)
    log.info(
        "feed %s: %d new alerts, sha256 %s; %d newly overdue",
        publication.folder,
        publication.rows,
        publication.sha256,
        publication.overdue_rows,
    )
    result = {
        "folder": str(publication.folder),
        "rows": publication.rows,
        "sha256": publication.sha256,
        "overdue_rows": publication.overdue_rows,
    }
    record_summary(
        extract_date, run_id or "", "published", {**_day_counts(extract_date), "feed": result}
    )
    runlock.release(settings.warehouse_url, run_id, extract_date)
    lineage_store.load_quietly(settings.warehouse_url)  # (issue 21) the run's lineage so far
    return result


def compact_history(extract_date: date, run_id: str) -> dict[str, Any]:
    """(issue 23) After the feed: fold every processed date older than the newest
    ``SAFETYNET_SNAPSHOT_WINDOW_DAYS`` into the change history (safetynet.history),
    under the warehouse lease (phase ``compacting``: never beside a check or a build),
    renewing it between the folds. When another run holds the warehouse past
    ``SAFETYNET_LEASE_WAIT`` the compaction is *deferred*: nothing folded, the task
    succeeds and the next run folds what is left (it folds every date due)."""
    from safetynet import history  # imported on use: the DAG file parses without it

    settings = Settings.from_env()
    report = history.compact_leased(
        settings.warehouse_url, settings.snapshot_window_days, run_id, extract_date
    )
    if report is None:
        record_summary(extract_date, run_id, "compaction_deferred", {"reason": "warehouse busy"})
        return {"deferred": True}
    metrics = {"deferred": False, "window_days": settings.snapshot_window_days}
    metrics.update(_as_metrics(report))
    log.info("compaction: %s", metrics)
    record_summary(extract_date, run_id, "compacted", metrics)
    return metrics


def _as_metrics(report: object) -> dict[str, Any]:
    """The compaction report as JSON-able metrics (a dataclass, or its repr)."""
    if dataclasses.is_dataclass(report) and not isinstance(report, type):
        return json.loads(json.dumps(dataclasses.asdict(report), default=str))
    return {"report": repr(report)}


def _day_counts(extract_date: date) -> dict[str, Any]:
    """Rows in, rejected, loaded per source; alerts and population of the day."""
    settings = Settings.from_env()
    with warehouse.connect(settings.warehouse_url) as conn:
        loads = conn.execute(
            """select source, sum(file_rows), sum(loaded_rows), sum(rejected_rows)
               from (select distinct on (file_name) * from audit.load_batches
                     where extract_date = %s and status = 'loaded'
                     order by file_name, batch_id desc) b group by source""",
            (extract_date,),
        ).fetchall()
        alerts = conn.execute(
            "select count(*), count(*) filter (where is_new) from marts.monitoring_alerts "
            "where alert_date = %s",
            (extract_date,),
        ).fetchone()
        population = conn.execute(
            "select count(*) from marts.low_income_population where as_of_date = %s",
            (extract_date,),
        ).fetchone()
    return {
        "sources": {
            s: {"rows": int(r), "loaded": int(ld), "rejected": int(rj)} for s, r, ld, rj in loads
        },
        "alerts": int(alerts[0]) if alerts else 0,
        "new_alerts": int(alerts[1]) if alerts else 0,
        "population": int(population[0]) if population else 0,
    }


def record_summary(extract_date: date, run_id: str, stage: str, metrics: dict[str, Any]) -> None:
    settings = Settings.from_env()
    with warehouse.connect(settings.warehouse_url, autocommit=True) as conn:
        conn.execute(
            "insert into audit.run_summaries (run_id, extract_date, stage, metrics) "
            "values (%s, %s, %s, %s)",
            (run_id, extract_date, stage, json.dumps(metrics, default=str)),
        )
