"""What a day produced, for people: rows loaded, alerts, population, DQ verdict."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from safetynet import warehouse
from safetynet.config import Settings
from safetynet.quality import gate

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


def report(dates: list[date]) -> str:
    settings = Settings.from_env()
    parts = []
    with warehouse.connect(settings.warehouse_url) as conn:
        for title, query in QUERIES.items():
            exists = conn.execute("select to_regclass('marts.monitoring_alerts')").fetchone()
            if "marts." in query and not (exists and exists[0]):
                rows: list[tuple] = []
            else:
                rows = conn.execute(query, {"dates": dates}).fetchall()
            parts.append(_table(title, HEADERS[title], rows))
    parts.append(_where(settings, dates))
    return "\n".join(parts)


def _where(settings: Settings, dates: list[date]) -> str:
    feeds = [settings.feed_dir / d.isoformat() for d in dates]
    lines = ["\nWhere things are"]
    for folder in feeds:
        state = "published" if (folder / "_manifest.json").exists() else "NOT published"
        lines.append(f"  feed {folder}  ({state})")
    lines.append(f"  Data Docs  {gate.data_docs_index(settings.reports_dir)}")
    lines.append(f"  dbt docs   {Path('dbt_project/target/index.html').resolve()} (make docs)")
    lines.append(f"  warehouse  {settings.warehouse_url.split('@')[-1]} (make psql)")
    return "\n".join(lines)
