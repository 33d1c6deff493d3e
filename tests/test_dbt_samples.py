"""The dbt project reproduces the contract's worked example (section 8).

Loads the three sample days (2026-10-01..03) of all four sources with the
project's loader into a scratch database on the local PostgreSQL, runs
`dbt seed` and `dbt build` for each day in order, and compares
marts.monitoring_alerts and marts.low_income_population with
samples/expected/alerts.csv and population.csv exactly, as sets. Then
re-runs 2026-10-02 after 2026-10-03 and checks that no row of any date
changed (idempotent, and an earlier date is recomputed from its own
inputs only).

The scratch database (default `safetynet_dbt_test`, env
SAFETYNET_TEST_DB_NAME) is dropped and recreated, so the shared
`warehouse` database is never touched. Skipped when PostgreSQL is not
reachable.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT = ROOT / "dbt_project"
DBT = ROOT / ".venv" / "bin" / "dbt"
CONTRACT = Path(__file__).resolve().parent / "fixtures" / "contract"
LANDING = CONTRACT / "samples" / "landing"
EXPECTED = CONTRACT / "samples" / "expected"

HOST = os.environ.get("SAFETYNET_DB_HOST", "127.0.0.1")
PORT = os.environ.get("SAFETYNET_DB_PORT", "55432")
USER = os.environ.get("SAFETYNET_DB_USER", "safetynet")
TEST_DB = os.environ.get("SAFETYNET_TEST_DB_NAME", "safetynet_dbt_test")
PSEUDONYM_KEY = "sample-key"
SAMPLE_DATES = [date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3)]
SOURCES = ["civil_affairs", "health", "housing", "bank"]

sys.path.insert(0, str(ROOT / "plugins"))


def _url(dbname: str) -> str:
    return f"postgresql://{USER}@{HOST}:{PORT}/{dbname}"


def _reachable() -> bool:
    try:
        with psycopg.connect(_url("postgres"), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


pytestmark = [
    pytest.mark.skipif(not _reachable(), reason="local PostgreSQL not reachable"),
    pytest.mark.skipif(not DBT.exists(), reason="dbt not installed in .venv"),
]


def _recreate_database() -> None:
    with psycopg.connect(_url("postgres"), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{TEST_DB}" with (force)')
        conn.execute(f'create database "{TEST_DB}"')


def _load_samples() -> None:
    from safetynet import loader

    for extract_date in SAMPLE_DATES:
        for source in SOURCES:
            loader.load_source(_url(TEST_DB), LANDING, source, extract_date, PSEUDONYM_KEY)


def _dbt(tmp_path: Path, *args: str) -> float:
    """Run the dbt CLI as the pipeline does; return its wall time in seconds."""
    env = dict(os.environ, SAFETYNET_DB_NAME=TEST_DB, DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    command = [
        str(DBT), *args, "--profiles-dir", ".",
        "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"),
    ]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=DBT_PROJECT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    return elapsed


def _build(tmp_path: Path, as_of_date: date) -> float:
    return _dbt(tmp_path, "build", "--vars", f'{{as_of_date: "{as_of_date.isoformat()}"}}')


def _query(sql: str) -> list[tuple]:
    with psycopg.connect(_url(TEST_DB)) as conn:
        return conn.execute(sql).fetchall()


def _alerts() -> set[tuple[str, str, str, str, str]]:
    rows = _query(
        "select alert_date::text, rule_code, household_id, coalesce(person_key, ''), "
        "case when is_new then 'true' else 'false' end from marts.monitoring_alerts"
    )
    return set(rows)


def _population() -> set[tuple[str, str, str, str]]:
    rows = _query(
        "select as_of_date::text, household_id, person_key, category "
        "from marts.low_income_population"
    )
    return set(rows)


def _expected(file_name: str, columns: list[str]) -> set[tuple[str, ...]]:
    with (EXPECTED / file_name).open(newline="", encoding="utf-8") as handle:
        return {tuple(row[c].strip() for c in columns) for row in csv.DictReader(handle)}


def _mart_rows(table: str, date_column: str) -> dict[str, list[tuple]]:
    """Every row of a mart, all columns as text, grouped by date."""
    rows = _query(f"select {date_column}::text, t::text from marts.{table} as t order by 1, 2")
    grouped: dict[str, list[tuple]] = {}
    for day, row in rows:
        grouped.setdefault(day, []).append(row)
    return grouped


MARTS = {
    "monitoring_alerts": "alert_date",
    "low_income_population": "as_of_date",
    "dim_households": "as_of_date",
    "population_daily_summary": "as_of_date",
}


@pytest.fixture(scope="module")
def built_samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    tmp_path = tmp_path_factory.mktemp("dbt")
    _recreate_database()
    _load_samples()
    timings = {"seed": _dbt(tmp_path, "seed")}
    for as_of_date in SAMPLE_DATES:
        timings[as_of_date.isoformat()] = _build(tmp_path, as_of_date)
    before_rerun = {table: _mart_rows(table, column) for table, column in MARTS.items()}
    timings["rerun 2026-10-02"] = _build(tmp_path, date(2026, 10, 2))
    after_rerun = {table: _mart_rows(table, column) for table, column in MARTS.items()}
    print("dbt wall times (s):", {k: round(v, 1) for k, v in timings.items()})
    return {"timings": timings, "before_rerun": before_rerun, "after_rerun": after_rerun}


def test_monitoring_alerts_match_expected(built_samples: dict) -> None:
    expected = _expected("alerts.csv", ["alert_date", "rule_code", "household_id", "person_key", "is_new"])
    actual = _alerts()
    assert actual - expected == set(), "alerts not in expected/alerts.csv"
    assert expected - actual == set(), "expected alerts missing"


def test_low_income_population_matches_expected(built_samples: dict) -> None:
    expected = _expected("population.csv", ["as_of_date", "household_id", "person_key", "category"])
    actual = _population()
    assert actual - expected == set(), "population rows not in expected/population.csv"
    assert expected - actual == set(), "expected population rows missing"


def test_rerunning_an_earlier_date_changes_nothing(built_samples: dict) -> None:
    before, after = built_samples["before_rerun"], built_samples["after_rerun"]
    for table in MARTS:
        assert sorted(before[table]) == sorted(after[table]), f"{table}: dates processed"
        for day in before[table]:
            assert before[table][day] == after[table][day], f"{table} rows of {day} changed on re-run"
    assert set(before["monitoring_alerts"]) == {d.isoformat() for d in SAMPLE_DATES}


def test_marts_hold_no_raw_identifiers(built_samples: dict) -> None:
    raw_ids = {row[0] for row in _query("select id_number from raw.civil_affairs_persons")}
    names = {row[0] for row in _query("select name from raw.civil_affairs_persons")}
    for table in MARTS:
        text = "\n".join(row[0] for row in _query(f"select t::text from marts.{table} as t"))
        leaked_ids = [i for i in raw_ids if i in text]
        assert leaked_ids == [], f"raw id numbers in marts.{table}"
        leaked_names = [n for n in names if len(n) > 1 and n in text]
        assert leaked_names == [], f"full names in marts.{table}"
