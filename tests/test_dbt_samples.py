"""The dbt project reproduces the contract's worked example (section 8).

Loads the three sample days (2026-10-01..03) of all four sources with the
project's loader (pseudonym key `sample-key`) into a database of its own on
the local PostgreSQL, runs `dbt seed` and `dbt build` for each day in
order (the CLI, as the pipeline runs it), and compares
marts.monitoring_alerts and marts.low_income_population with
samples/expected/alerts.csv and population.csv exactly, as sets. Then
re-runs 2026-10-02 after 2026-10-03 and checks that no row of any date
changed: re-running a date is idempotent and an earlier date is computed
from its own inputs only, whatever was loaded since.
"""

from __future__ import annotations

import csv
import os
import subprocess
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from conftest import CONTRACT, ROOT, create_database
from safetynet import loader, localpg

DBT_PROJECT = ROOT / "dbt_project"
DBT = ROOT / ".venv" / "bin" / "dbt"
LANDING = CONTRACT / "samples" / "landing"
EXPECTED = CONTRACT / "samples" / "expected"
PSEUDONYM_KEY = "sample-key"
SAMPLE_DATES = [date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3)]
SOURCES = ["civil_affairs", "health", "housing", "bank"]


def _dbt_environment(url: str) -> dict[str, str]:
    """profiles.yml reads SAFETYNET_DB_*: point them at the test database."""
    parts = urlsplit(url)
    return {
        **os.environ,
        "SAFETYNET_DB_HOST": parts.hostname or "127.0.0.1",
        "SAFETYNET_DB_PORT": str(parts.port or 5432),
        "SAFETYNET_DB_USER": parts.username or "",
        "SAFETYNET_DB_PASSWORD": parts.password or "",
        "SAFETYNET_DB_NAME": parts.path.lstrip("/"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


class Warehouse:
    def __init__(self, url: str, work_dir: Path) -> None:
        self.url = url
        self.work_dir = work_dir

    def load_samples(self) -> None:
        for extract_date in SAMPLE_DATES:
            for source in SOURCES:
                loader.load_source(self.url, LANDING, source, extract_date, PSEUDONYM_KEY)

    def dbt(self, *args: str) -> float:
        """Run the dbt CLI; return its wall time in seconds."""
        command = [
            str(DBT),
            *args,
            "--profiles-dir",
            ".",
            "--target-path",
            str(self.work_dir / "target"),
            "--log-path",
            str(self.work_dir / "logs"),
        ]
        started = time.perf_counter()
        result = subprocess.run(
            command,
            cwd=DBT_PROJECT,
            env=_dbt_environment(self.url),
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - started
        assert result.returncode == 0, (
            f"dbt {' '.join(args)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
        )
        return elapsed

    def build(self, as_of_date: date) -> float:
        return self.dbt("build", "--vars", f'{{as_of_date: "{as_of_date.isoformat()}"}}')

    def query(self, sql: str) -> list[tuple]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(sql).fetchall()

    def alerts(self) -> set[tuple]:
        return set(
            self.query(
                "select alert_date::text, rule_code, household_id, coalesce(person_key, ''), "
                "case when is_new then 'true' else 'false' end from marts.monitoring_alerts"
            )
        )

    def population(self) -> set[tuple]:
        return set(
            self.query(
                "select as_of_date::text, household_id, person_key, category "
                "from marts.low_income_population"
            )
        )

    def mart_rows(self, table: str, date_column: str) -> dict[str, list[str]]:
        """Every row of a mart, all columns as text, grouped by date."""
        rows = self.query(
            f"select {date_column}::text, t::text from marts.{table} as t order by 1, 2"
        )
        grouped: dict[str, list[str]] = {}
        for day, row in rows:
            grouped.setdefault(day, []).append(row)
        return grouped


def _expected(file_name: str, columns: list[str]) -> set[tuple[str, ...]]:
    with (EXPECTED / file_name).open(newline="", encoding="utf-8") as handle:
        return {tuple(row[c].strip() for c in columns) for row in csv.DictReader(handle)}


MARTS = {
    "monitoring_alerts": "alert_date",
    "low_income_population": "as_of_date",
    "dim_households": "as_of_date",
    "population_daily_summary": "as_of_date",
}


@pytest.fixture(scope="module")
def built_samples(local_stack: localpg.Cluster, tmp_path_factory: pytest.TempPathFactory) -> dict:
    url = create_database(local_stack, "t_dbt_samples")
    warehouse = Warehouse(url, tmp_path_factory.mktemp("dbt"))
    warehouse.load_samples()
    timings = {"seed": warehouse.dbt("seed")}
    for as_of_date in SAMPLE_DATES:
        timings[as_of_date.isoformat()] = warehouse.build(as_of_date)
    before_rerun = {table: warehouse.mart_rows(table, column) for table, column in MARTS.items()}
    timings["rerun 2026-10-02"] = warehouse.build(date(2026, 10, 2))
    after_rerun = {table: warehouse.mart_rows(table, column) for table, column in MARTS.items()}
    print("dbt wall times (s):", {k: round(v, 1) for k, v in timings.items()})
    return {
        "warehouse": warehouse,
        "before_rerun": before_rerun,
        "after_rerun": after_rerun,
    }


def test_monitoring_alerts_match_expected(built_samples: dict) -> None:
    columns = ["alert_date", "rule_code", "household_id", "person_key", "is_new"]
    expected = _expected("alerts.csv", columns)
    actual = built_samples["warehouse"].alerts()
    assert actual - expected == set(), "alerts not in expected/alerts.csv"
    assert expected - actual == set(), "expected alerts missing"


def test_low_income_population_matches_expected(built_samples: dict) -> None:
    expected = _expected("population.csv", ["as_of_date", "household_id", "person_key", "category"])
    actual = built_samples["warehouse"].population()
    assert actual - expected == set(), "population rows not in expected/population.csv"
    assert expected - actual == set(), "expected population rows missing"


def test_rerunning_an_earlier_date_changes_nothing(built_samples: dict) -> None:
    before, after = built_samples["before_rerun"], built_samples["after_rerun"]
    for table in MARTS:
        assert sorted(before[table]) == sorted(after[table]), f"{table}: dates processed"
        for day in before[table]:
            assert before[table][day] == after[table][day], f"{table} {day} changed on re-run"
    assert set(before["monitoring_alerts"]) == {d.isoformat() for d in SAMPLE_DATES}


def test_marts_hold_no_raw_identifiers(built_samples: dict) -> None:
    warehouse = built_samples["warehouse"]
    raw_ids = {row[0] for row in warehouse.query("select id_number from raw.civil_affairs_persons")}
    names = {row[0] for row in warehouse.query("select name from raw.civil_affairs_persons")}
    for table in MARTS:
        rows = warehouse.query(f"select t::text from marts.{table} as t")
        text = "\n".join(row[0] for row in rows)
        leaked_ids = [i for i in raw_ids if i in text]
        assert leaked_ids == [], f"raw id numbers in marts.{table}"
        leaked_names = [n for n in names if len(n) > 1 and n in text]
        assert leaked_names == [], f"full names in marts.{table}"
