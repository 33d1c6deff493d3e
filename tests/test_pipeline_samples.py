"""The whole DAG, through Airflow, on the contract's worked example.

Reproduces samples/expected/alerts.csv and population.csv exactly (as sets),
publishes a feed per day, and gives byte-identical feeds on a re-run.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil

import pytest
from conftest import SAMPLES, Stack

DAYS = ["2026-10-01", "2026-10-02", "2026-10-03"]


def expected(name: str) -> set[tuple[str, ...]]:
    with open(SAMPLES / "expected" / name, encoding="utf-8", newline="") as handle:
        return {tuple(row.values()) for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def samples_run(request: pytest.FixtureRequest, local_stack, tmp_path_factory) -> Stack:
    from conftest import create_database

    root = tmp_path_factory.mktemp("samples")
    stack = Stack(create_database(local_stack, "t_samples_pipeline"), root / "landing",
                  root / "feed", root / "reports", key="sample-key")
    shutil.copytree(SAMPLES / "landing", stack.landing)
    for day in DAYS:
        run = stack.run_dag(day)
        assert run.returncode == 0, f"run for {day} failed:\n{run.stdout[-4000:]}"
    return stack


def test_alerts_match_the_worked_example(samples_run: Stack) -> None:
    rows = samples_run.query(
        """select alert_date::text, rule_code, household_id, coalesce(person_key, ''),
                  case when is_new then 'true' else 'false' end
           from marts.monitoring_alerts""")
    assert set(rows) == expected("alerts.csv")
    assert len(rows) == len(set(rows))


def test_population_matches_the_worked_example(samples_run: Stack) -> None:
    rows = samples_run.query(
        "select as_of_date::text, household_id, person_key, category "
        "from marts.low_income_population")
    assert set(rows) == expected("population.csv")
    assert len(rows) == len(set(rows))


def test_feed_holds_the_new_alerts_of_each_day(samples_run: Stack) -> None:
    new_alerts = expected("alerts.csv")
    for day in DAYS:
        folder = samples_run.feed / day
        manifest = json.loads((folder / "_manifest.json").read_text())
        body = (folder / "alerts.csv").read_bytes()
        assert manifest["files"][0]["sha256"] == hashlib.sha256(body).hexdigest()
        with open(folder / "alerts.csv", encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert manifest["files"][0]["rows"] == len(rows)
        want = {a for a in new_alerts if a[0] == day and a[4] == "true"}
        assert {(r["alert_date"], r["rule_code"], r["household_id"], r["person_key"],
                 r["is_new"]) for r in rows} == want
        assert all(json.loads(r["evidence"]) for r in rows)


def test_rerunning_a_passed_day_gives_the_same_feed_bytes(samples_run: Stack) -> None:
    before = (samples_run.feed / "2026-10-02" / "alerts.csv").read_bytes()
    population = samples_run.query("select count(*) from marts.low_income_population")
    run = samples_run.run_dag("2026-10-02")
    assert run.returncode == 0, run.stdout[-3000:]
    assert (samples_run.feed / "2026-10-02" / "alerts.csv").read_bytes() == before
    assert samples_run.query("select count(*) from marts.low_income_population") == population
    test_alerts_match_the_worked_example(samples_run)


def test_marts_hold_no_raw_identifiers(samples_run: Stack) -> None:
    ids = {r[0] for r in samples_run.query(
        "select distinct id_number from raw.civil_affairs_persons")}
    names = {r[0] for r in samples_run.query("select distinct name from raw.civil_affairs_persons")}
    text = " ".join(str(r) for r in samples_run.query(
        "select to_jsonb(p)::text from marts.low_income_population p "
        "union all select to_jsonb(a)::text from marts.monitoring_alerts a"))
    assert not any(i in text for i in ids)
    assert not any(len(n) > 1 and n in text for n in names)


@pytest.mark.parametrize("role, readable, forbidden", [
    ("safetynet_analyst", ["marts.low_income_population", "marts.monitoring_alerts"],
     ["raw.civil_affairs_persons", "staging.stg_civil_affairs__persons", "audit.rejected_rows"]),
    ("safetynet_auditor", ["marts.monitoring_alerts", "audit.rejected_rows", "audit.dq_results"],
     ["raw.civil_affairs_persons", "staging.stg_civil_affairs__persons"]),
])
def test_roles_see_only_their_schemas(samples_run: Stack, role: str, readable: list[str],
                                      forbidden: list[str]) -> None:
    import psycopg
    from safetynet import warehouse

    for table in readable:
        with warehouse.connect(samples_run.url) as conn:
            conn.execute(f"set role {role}")
            conn.execute(f"select count(*) from {table}").fetchone()
    for table in forbidden:
        with warehouse.connect(samples_run.url) as conn:
            conn.execute(f"set role {role}")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select count(*) from {table}")


def test_run_summary_is_stored(samples_run: Stack) -> None:
    rows = samples_run.query(
        "select metrics from audit.run_summaries where extract_date = '2026-10-01' "
        "and stage = 'published' order by recorded_at desc limit 1")
    metrics = rows[0][0]
    assert metrics["sources"]["bank"] == {"rows": 332, "loaded": 332, "rejected": 0}
    assert metrics["new_alerts"] == metrics["feed"]["rows"] > 0
    assert metrics["population"] > 0
