"""One alert's account as a JSON-ready dict (issue 21): the alert, the rule version
of that date's run, the delivered records, the day's checks, the publication and
the OpenLineage runs. Reads ``marts`` and ``audit`` (and ``raw`` for line numbers);
the landing files only for a date older than the snapshot window, whose raw
partitions are restored from them (``restore``, issue 23).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import psycopg

from safetynet import warehouse
from safetynet.config import Settings
from safetynet.explain import restore, sources

MODELS = {
    "A01": "int_alerts__a01_deceased_beneficiary",
    "A02": "int_alerts__a02_asset_test_failed",
    "A03": "int_alerts__a03_uncovered_low_income",
    "A04": "int_alerts__a04_expenditure_poverty",
    "A05": "int_alerts__a05_duplicate_enrollment",
    "A06": "int_alerts__a06_medical_shock",
}
MODEL_FOLDER = "dbt_project/models/intermediate/alerts"


class UnknownAlert(LookupError):
    """No such alert_id (or not on the date asked)."""


def find_alert(conn: psycopg.Connection, alert_id: str, on: date | None) -> sources.Alert:
    """The alert on ``on``, else on the latest date its episode held."""
    row = conn.execute(
        """select alert_id, alert_date, rule_code, household_id, person_key, evidence
           from marts.monitoring_alerts
           where alert_id = %s and (%s::date is null or alert_date = %s::date)
           order by alert_date desc limit 1""",
        (alert_id, on, on),
    ).fetchone()
    if row is None:
        where = f" on {on}" if on else ""
        raise UnknownAlert(f"no alert {alert_id!r}{where} in marts.monitoring_alerts")
    alert_id, day, rule, household, person, evidence = row
    return sources.Alert(alert_id, day, rule, household, person, evidence or {})


def run_of(conn: psycopg.Connection, day: date) -> str | None:
    """The run that published ``day`` (its marts and feed), else its latest checked run."""
    row = conn.execute(
        """select run_id from (
               select run_id, published_at as at, 1 as rank from audit.feed_publications
               where extract_date = %(d)s and action = 'published' and run_id is not null
               union all
               select run_id, checked_at, 2 from audit.dq_results where extract_date = %(d)s
           ) runs order by rank, at desc limit 1""",
        {"d": day},
    ).fetchone()
    return row[0] if row else None


def rule_version(conn: psycopg.Connection, alert: sources.Alert, run_id: str | None) -> dict:
    """The alert model's commit and checksum as recorded for that date's run."""
    model = MODELS[alert.rule_code]
    row = conn.execute(
        """select commit, path, checksum, run_id from audit.rule_versions
           where extract_date = %s and model = %s
           order by (run_id = %s) desc nulls last, recorded_at desc limit 1""",
        (alert.alert_date, model, run_id),
    ).fetchone()
    path = f"{MODEL_FOLDER}/{model}.sql"
    if row is None:
        return {"model": path, "commit": None, "checksum": None, "run_id": None}
    return {"model": row[1], "commit": row[0], "checksum": row[2], "run_id": row[3]}


def checks(
    conn: psycopg.Connection, day: date, run_id: str | None, tables: list[str]
) -> list[dict[str, Any]]:
    """The day's data-quality results that gated the alert: the delivery suite, the raw
    suites of the tables it read, and the marts suites."""
    rows = conn.execute(
        """select suite, expectation, column_name, severity, success from audit.dq_results
           where run_id = %s and extract_date = %s
             and (suite = 'delivery' or suite = any(%s) or suite like 'marts.%%')
           order by suite, expectation, column_name nulls first""",
        (run_id, day, tables),
    ).fetchall()
    return [
        {"suite": s, "expectation": e, "column": c, "severity": v, "success": ok}
        for s, e, c, v, ok in rows
    ]


def _feed_sha256(feed_dir: Path | None, day: date, name: str) -> str | None:
    """sha256 of a feed file from its folder's _manifest.json (the feed, not landing)."""
    if feed_dir is None:
        return None
    try:
        document = json.loads((feed_dir / day.isoformat() / "_manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return next((f.get("sha256") for f in document.get("files", []) if f["name"] == name), None)


def publication(
    conn: psycopg.Connection, alert_id: str, upto: date, feed_dir: Path | None
) -> dict[str, Any]:
    """alerts.csv line of the episode's first date (ordered as publish.feed writes it:
    rule_code, household_id, person_key), and each overdue.csv line (by alert_id)."""
    row = conn.execute(
        """select episode_start, line, sha256 from (
               select a.alert_id, a.episode_start, 1 + row_number() over (
                   order by a.rule_code, a.household_id, coalesce(a.person_key, '')) as line
               from marts.monitoring_alerts a
               join marts.monitoring_alerts me on me.alert_id = %(id)s
                    and me.alert_date = me.episode_start
               where a.alert_date = me.episode_start and a.is_new) ranked
           left join lateral (
               select sha256 from audit.feed_publications p
               where p.extract_date = ranked.episode_start and p.action = 'published'
               order by published_at desc limit 1) pub on true
           where alert_id = %(id)s""",
        {"id": alert_id},
    ).fetchone()
    alerts = None
    if row:
        alerts = {"file": f"{row[0].isoformat()}/alerts.csv", "line": int(row[1]), "sha256": row[2]}
    overdue = [
        {
            "file": f"{day.isoformat()}/overdue.csv",
            "line": int(line),
            "sha256": _feed_sha256(feed_dir, day, "overdue.csv"),
        }
        for day, line in conn.execute(
            """select as_of_date, line from (
                   select as_of_date, alert_id,
                          1 + row_number() over (partition by as_of_date order by alert_id) line
                   from marts.alert_cases
                   where is_newly_overdue and as_of_date in (
                       select as_of_date from marts.alert_cases
                       where alert_id = %s and is_newly_overdue and as_of_date <= %s)
               ) ranked where alert_id = %s order by as_of_date""",
            (alert_id, upto, alert_id),
        ).fetchall()
    ]
    escalated = conn.execute(
        "select bool_or(is_overdue) from marts.alert_cases "
        "where alert_id = %s and as_of_date <= %s",
        (alert_id, upto),
    ).fetchone()
    return {
        **(alerts or {"file": None, "line": None, "sha256": None}),
        "escalated": bool(escalated and escalated[0]),
        "overdue": overdue,
    }


# The events of the Airflow run (airflow_run_id), and the dbt model runs whose parent is
# one of its tasks: their parent run id is deterministic per task and logical date, so a
# re-run shares it; they are told apart by time (within the Airflow run's events) and by
# the warehouse (dbt job names start with the database name).
LINEAGE_RUNS = """
with of_run as (
    select * from audit.lineage_events where extract_date = %(d)s and airflow_run_id = %(r)s
),
span as (select min(event_time) as first, max(event_time) as last from of_run),
events as (
    select * from of_run
    union
    select e.* from audit.lineage_events e, span
    where e.extract_date = %(d)s and e.event_time between span.first and span.last
      and e.parent_run_id in (select run_id from of_run)
      and e.job_name like current_database() || '.%%'
)
select job_name, run_id, max(event_time), max(parent_run_id),
       coalesce(jsonb_agg(distinct i ->> 'name') filter (where i is not null), '[]'),
       coalesce(jsonb_agg(distinct o ->> 'name') filter (where o is not null), '[]')
from events e
left join lateral jsonb_array_elements(e.inputs) i on true
left join lateral jsonb_array_elements(e.outputs) o on true
group by job_name, run_id"""


@dataclass(frozen=True)
class _Run:
    job_name: str
    run_id: str
    event_time: Any
    parent_run_id: str | None
    inputs: frozenset[str]
    outputs: frozenset[str]


def _upstream(runs: list[_Run], datasets: set[str]) -> set[_Run]:
    """Runs that wrote ``datasets`` and, recursively, the runs that wrote their inputs."""
    found: set[_Run] = set()
    frontier = set(datasets)
    while True:
        more = {r for r in runs if r not in found and r.outputs & frontier}
        if not more:
            return found
        found |= more
        frontier |= {d for r in more for d in r.inputs}


def _downstream_to_feed(runs: list[_Run], datasets: set[str]) -> set[_Run]:
    """Runs on a path from ``datasets`` to a feed file (monitoring_alerts, publish_feed;
    the last run's final events are loaded by its successor, docs/lineage.md)."""
    reached: set[_Run] = set()
    frontier = set(datasets)
    while True:
        more = {r for r in runs if r not in reached and r.inputs & frontier}
        if not more:
            break
        reached |= more
        frontier |= {d for r in more for d in r.outputs}
    # the feed's writer: by its output files, or by name while only its START is loaded
    sinks = {
        r
        for r in reached
        if r.job_name.endswith(".publish_feed") or any(d.startswith("feed/") for d in r.outputs)
    }
    # the mart the feed is written from, while the feed's own events are not loaded yet
    targets = {d for r in sinks for d in r.inputs} or {
        d for r in reached for d in r.outputs if d.endswith(".monitoring_alerts")
    }
    return sinks | (reached & _upstream(list(reached), targets))


def lineage(
    conn: psycopg.Connection, day: date, run_id: str | None, model: str
) -> list[dict[str, Any]]:
    """The OpenLineage runs that produced the alert, from ``audit.lineage_events`` (issue
    21, helper "lineage"), for that date's Airflow run: the runs upstream of the rule's
    model (dbt models, the loads of the landing files), those from it to the feed
    (monitoring_alerts, publish_feed), and their parents (dbt_build, the DAG run).
    [] while that table does not exist."""
    exists = conn.execute("select to_regclass('audit.lineage_events')").fetchone()
    if not exists or not exists[0] or run_id is None:
        return []
    runs = [
        _Run(job, run, at, parent, frozenset(ins), frozenset(outs))
        for job, run, at, parent, ins, outs in conn.execute(LINEAGE_RUNS, {"d": day, "r": run_id})
    ]
    # a run with child runs (the DAG run, dbt_build: every source to every model) is
    # walked through its children only, else it would join everything to everything
    parents = {r.parent_run_id for r in runs}
    leaves = [r for r in runs if r.run_id not in parents]
    seeds = {d for r in leaves for d in r.outputs if d.endswith("." + model)}
    chosen = _upstream(leaves, seeds) | _downstream_to_feed(leaves, seeds)
    by_id = {r.run_id: r for r in runs}
    for run in list(chosen):
        parent = by_id.get(run.parent_run_id or "")
        while parent is not None and parent not in chosen:
            chosen.add(parent)
            parent = by_id.get(parent.parent_run_id or "")
    ordered = sorted(chosen, key=lambda r: (r.event_time, r.job_name))
    return [
        {"job_name": r.job_name, "run_id": r.run_id, "event_time": r.event_time.isoformat()}
        for r in ordered
    ]


def explain(
    url: str,
    alert_id: str,
    on: date | None = None,
    feed_dir: Path | None = None,
    landing: Path | None = None,
) -> dict:
    """The whole account of one alert (issue 21); raises UnknownAlert, and
    restore.RestoreRefused when its date is older than the snapshot window and a
    landing file is missing or not the one loaded (issue 23). ``landing``: the landing
    folder (default ``SAFETYNET_LANDING_DIR``), read only for such a date."""
    with warehouse.connect(url) as conn:
        alert = find_alert(conn, alert_id, on)
        run_id = run_of(conn, alert.alert_date)
        folder = landing if landing is not None else Settings.from_env().landing_dir
        relations = restore.restore(conn, folder, alert.alert_date)
        records = sources.delivered_records(conn, alert, relations)
        tables = sorted({r["table"] for r in records})
        return {
            "alert_id": alert.alert_id,
            "rule_code": alert.rule_code,
            "alert_date": alert.alert_date.isoformat(),
            "household_id": alert.household_id,
            "person_key": alert.person_key,
            "evidence": alert.evidence,
            "run_id": run_id,
            "rule": rule_version(conn, alert, run_id),
            "sources": records,
            "checks": checks(conn, alert.alert_date, run_id, tables),
            "publication": publication(conn, alert.alert_id, alert.alert_date, feed_dir),
            "lineage": lineage(conn, alert.alert_date, run_id, MODELS[alert.rule_code]),
        }
