"""What a day produced, for people: rows loaded, alerts, population, DQ verdict."""

from __future__ import annotations

import csv
import os
from datetime import date
from pathlib import Path
from typing import Any

from safetynet import warehouse
from safetynet.config import Settings
from safetynet.quality import gate

# Contract section 9 defaults; the environment of the runs may shorten them.
DEADLINES = {
    "SAFETYNET_VERIFY_WORKDAYS_HIGH": "5",
    "SAFETYNET_VERIFY_WORKDAYS_MEDIUM": "10",
    "SAFETYNET_RESOLVE_WORKDAYS": "20",
}
QUERIES = {
    "Rows loaded per source (latest batch of each file)": """
        select extract_date::text, source, sum(loaded_rows), sum(rejected_rows),
               string_agg(distinct status, ',')
        from (select distinct on (extract_date, file_name) * from audit.load_batches
              where extract_date = any(%(dates)s) order by extract_date, file_name, batch_id desc) b
        group by 1, 2 order by 1, 2""",
    "Alerts by rule (new / all)": """
        select alert_date::text, rule_code, rule_name, count(*) filter (where is_new), count(*)
        from marts.monitoring_alerts where alert_date = any(%(dates)s)
        group by 1, 2, 3 order by 1, 2""",
    "Population by category (households / persons)": """
        select as_of_date::text, category, count(distinct household_id), count(*)
        from marts.low_income_population where as_of_date = any(%(dates)s)
        group by 1, 2 order by 1, 2""",
    "Data-quality verdict (latest run per day)": """
        select extract_date::text,
               case when bool_and(success or severity <> 'critical') then 'PASSED'
                    else 'BLOCKED' end,
               count(*), count(*) filter (where not success and severity = 'critical'),
               count(*) filter (where not success and severity <> 'critical')
        from audit.dq_results r
        where extract_date = any(%(dates)s)
          and run_id = (select run_id from audit.dq_results l where l.extract_date = r.extract_date
                        order by checked_at desc limit 1)
        group by 1 order by 1""",
}
HEADERS = {
    "Rows loaded per source (latest batch of each file)": (
        "date",
        "source",
        "loaded",
        "rejected",
        "status",
    ),
    "Alerts by rule (new / all)": ("date", "rule", "name", "new", "all"),
    "Population by category (households / persons)": ("date", "category", "households", "persons"),
    "Data-quality verdict (latest run per day)": (
        "date",
        "verdict",
        "checks",
        "failed critical",
        "failed warning",
    ),
}


def _table(title: str, header: tuple[str, ...], rows: list[tuple]) -> str:
    cells = [header, *[tuple("" if v is None else str(v) for v in row) for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [f"\n{title}"]
    for row in cells:
        lines.append("  " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    if not rows:
        lines.append("  (none)")
    return "\n".join(lines)


STATE_ORDER = "array['OPEN', 'VERIFYING', 'CONFIRMED', 'DISMISSED', 'RESOLVED']"
FOLLOWUP = {
    "Follow-up: alerts by state (all / overdue / newly overdue)": (
        ("date", "state", "alerts", "overdue", "newly overdue"),
        f"""
        select as_of_date::text, state, count(*), count(*) filter (where is_overdue),
               count(*) filter (where is_newly_overdue)
        from marts.alert_cases where as_of_date = any(%(dates)s)
        group by 1, 2 order by 1, array_position({STATE_ORDER}, state)""",
    ),
    "Follow-up: overdue alerts by severity": (
        ("date", "severity", "overdue", "newly overdue"),
        """
        select as_of_date::text, severity, count(*) filter (where is_overdue),
               count(*) filter (where is_newly_overdue)
        from marts.alert_cases where as_of_date = any(%(dates)s)
        group by 1, 2 order by 1, 2""",
    ),
}
PRECISION_TABLE = "marts.alert_followup_daily"


def _exists(conn: Any, relation: str) -> bool:
    found = conn.execute("select to_regclass(%s)", (relation,)).fetchone()
    return bool(found and found[0])


def report(dates: list[date]) -> str:
    settings = Settings.from_env()
    parts = []
    with warehouse.connect(settings.warehouse_url) as conn:
        for title, query in QUERIES.items():
            if "marts." in query and not _exists(conn, "marts.monitoring_alerts"):
                rows: list[tuple] = []
            else:
                rows = conn.execute(query, {"dates": dates}).fetchall()
            parts.append(_table(title, HEADERS[title], rows))
        parts.append(_deadlines())
        parts.append(_lineage(conn, settings, dates))
        if _exists(conn, "marts.alert_cases"):
            for title, (header, query) in FOLLOWUP.items():
                rows = conn.execute(query, {"dates": dates}).fetchall()
                parts.append(_table(title, header, rows))
            parts.append(_overdue_feed(conn, settings, dates))
        else:
            parts.append("\nFollow-up\n  (no marts.alert_cases in this warehouse yet)")
        parts.append(_precision(conn, dates))
        parts.append(_explain_example(conn, dates))
    parts.append(_history(settings))
    parts.append(_where(settings, dates))
    return "\n".join(parts)


def _explain_example(conn: Any, dates: list[date]) -> str:
    """(issue 21) One `make explain` command for an alert of the last day."""
    row = None
    if dates and _exists(conn, "marts.monitoring_alerts"):
        row = conn.execute(
            """select alert_id, rule_code from marts.monitoring_alerts where alert_date = %s
               order by is_new desc, rule_code, alert_id limit 1""",
            (max(dates),),
        ).fetchone()
    if row is None:
        return "\nExplain an alert / 解释预警\n  (no alert on the last day)"
    return (
        f"\nExplain an alert / 解释预警 (an {row[1]} alert of {max(dates)})\n"
        f"  make explain ALERT={row[0]}\n"
        f"  make -s explain ALERT={row[0]} FORMAT=json"
    )


def _deadlines() -> str:
    values = {name: os.environ.get(name) or default for name, default in DEADLINES.items()}
    return (
        "\nFollow-up deadlines (working days, from the environment of this process)\n"
        f"  verify high {values['SAFETYNET_VERIFY_WORKDAYS_HIGH']}, "
        f"verify medium {values['SAFETYNET_VERIFY_WORKDAYS_MEDIUM']}, "
        f"resolve {values['SAFETYNET_RESOLVE_WORKDAYS']}"
    )


def _csv_rows(path: Path) -> int | None:
    """Data rows of a feed CSV (records, header excluded), None when absent."""
    if not path.exists():
        return None
    with open(path, encoding="utf-8", newline="") as handle:
        return max(sum(1 for _ in csv.reader(handle)) - 1, 0)


def _overdue_feed(conn: Any, settings: Settings, dates: list[date]) -> str:
    counted = dict(
        conn.execute(
            """select as_of_date, count(*) filter (where is_newly_overdue)
               from marts.alert_cases where as_of_date = any(%(dates)s) group by 1""",
            {"dates": dates},
        ).fetchall()
    )
    rows = []
    for day in dates:
        in_file = _csv_rows(settings.feed_dir / day.isoformat() / "overdue.csv")
        rows.append(
            (
                day.isoformat(),
                counted.get(day, 0),
                "not published" if in_file is None else in_file,
            )
        )
    return _table(
        "Overdue feed: newly overdue alerts and rows of <feed>/<date>/overdue.csv",
        ("date", "newly overdue", "overdue.csv rows"),
        rows,
    )


PRECISION_QUERY = f"""
    select as_of_date::text, rule_code, sum(episodes_started_90d),
           sum(confirmed_or_resolved_90d), sum(dismissed_90d),
           coalesce(to_char(sum(confirmed_or_resolved_90d)::numeric
                            / nullif(sum(confirmed_or_resolved_90d) + sum(dismissed_90d), 0),
                            'FM0.000'), '-')
    from {PRECISION_TABLE} where as_of_date = any(%(dates)s)
    group by 1, 2 order by 1, 2"""


def _precision(conn: Any, dates: list[date]) -> str:
    """Field precision per rule over all counties: (CONFIRMED + RESOLVED) / decided,
    of the episodes started in the last 90 days, by their state on the date."""
    title = "Field precision by rule (episodes of the last 90 days, by state on the date)"
    if not _exists(conn, PRECISION_TABLE):
        return f"\n{title}\n  (no {PRECISION_TABLE} in this warehouse yet)"
    rows = conn.execute(PRECISION_QUERY, {"dates": dates}).fetchall()
    header = ("date", "rule", "episodes", "confirmed/resolved", "dismissed", "precision")
    return _table(title, header, rows)


def _history(settings: Settings) -> str:
    """(issue 23) The snapshot window (快照窗口) and the change history (变更历史): which
    dates stay whole, which are folded, the history's size (docs/history.md)."""
    from safetynet import history

    try:
        status = history.status(settings.warehouse_url, settings.snapshot_window_days)
    except RuntimeError as missing:  # no marts built yet
        status = f"(nothing processed yet: {missing})"
    title = "History / 变更历史 (SAFETYNET_SNAPSHOT_WINDOW_DAYS; make compact; docs/history.md)"
    return f"\n{title}\n  " + status.replace("\n", "\n  ")


def _where(settings: Settings, dates: list[date]) -> str:
    feeds = [settings.feed_dir / d.isoformat() for d in dates]
    lines = ["\nWhere things are"]
    for folder in feeds:
        state = "published" if (folder / "_manifest.json").exists() else "NOT published"
        lines.append(f"  feed {folder}  ({state})")
    lines.append(f"  Data Docs  {gate.data_docs_index(settings.reports_dir)}")
    lines.append(f"  dbt docs   {Path('dbt_project/target/index.html').resolve()} (make docs)")
    lines.append(f"  warehouse  {settings.warehouse_url.split('@')[-1]} (make psql)")
    lines.append(f"  dashboards {_superset_where()}")
    return "\n".join(lines)


def _superset_where() -> str:
    """(issue 22) Superset: running or how to start it (docs/superset.md)."""
    from safetynet_dev.stack import ports
    from safetynet_dev.stack.superset import Superset

    superset = Superset()  # its port and URL from the environment, as make superset reads them
    if ports.port_open(superset.port):
        return f"Superset {superset.url}/ (logins: make superset, docs/superset.md)"
    return (
        "make superset: 低收入人口 cockpit, 监测预警, 数据质量 in Superset "
        "(logins printed; docs/superset.md)"
    )


def _lineage(conn: Any, settings: Settings, dates: list[date]) -> str:
    """(issue 21) 血缘 The OpenLineage events and runs recorded for the days, and where."""
    from safetynet.lineage import store

    store.load_quietly(settings.warehouse_url)  # the last run's final events too
    files = store.transport_files()
    where = store.event_folder() or "(not a file transport: no local event file)"
    if not _exists(conn, "audit.lineage_events"):
        return f"\nLineage / 血缘 (OpenLineage)\n  (no audit.lineage_events yet)  files: {where}"
    row = conn.execute(
        """select count(*), count(distinct run_id), count(distinct airflow_run_id)
           from audit.lineage_events where extract_date = any(%s)""",
        (dates,),
    ).fetchone()
    events, runs, dag_runs = row if row else (0, 0, 0)
    return (
        "\nLineage / 血缘 (OpenLineage, docs/lineage.md)\n"
        f"  {events} events of {runs} runs (tasks and dbt models) in {dag_runs} DAG runs"
        " → audit.lineage_events, audit.lineage_edges\n"
        f"  event files ({len(files)}): {where}"
    )
