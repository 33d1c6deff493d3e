"""The whole DAG, through Airflow, on the contract's worked example.

Reproduces samples/expected/alerts.csv and population.csv exactly (as sets),
publishes a feed per day, and gives byte-identical feeds on a re-run.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLES, Stack, isolated_stack

from safetynet_dev.docs import dbt_environment

pytestmark = pytest.mark.e2e

DAYS = ["2026-10-01", "2026-10-02", "2026-10-03"]


def expected(name: str) -> set[tuple[str, ...]]:
    with open(SAMPLES / "expected" / name, encoding="utf-8", newline="") as handle:
        return {tuple(row.values()) for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def samples_run(local_stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("samples")
    with isolated_stack(local_stack, root, "t_samples_pipeline", key="sample-key") as stack:
        shutil.copytree(SAMPLES / "landing", stack.landing)
        for day in DAYS:
            run = stack.run_dag(day)
            assert run.returncode == 0, f"run for {day} failed:\n{run.stdout[-4000:]}"
        yield stack


def test_alerts_match_the_worked_example(samples_run: Stack) -> None:
    rows = samples_run.query(
        """select alert_date::text, rule_code, household_id, coalesce(person_key, ''),
                  case when is_new then 'true' else 'false' end
           from marts.monitoring_alerts"""
    )
    assert set(rows) == expected("alerts.csv")
    assert len(rows) == len(set(rows))


def test_population_matches_the_worked_example(samples_run: Stack) -> None:
    rows = samples_run.query(
        "select as_of_date::text, household_id, person_key, category "
        "from marts.low_income_population"
    )
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
        assert {
            (r["alert_date"], r["rule_code"], r["household_id"], r["person_key"], r["is_new"])
            for r in rows
        } == want
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
    ids = {
        r[0] for r in samples_run.query("select distinct id_number from raw.civil_affairs_persons")
    }
    names = {r[0] for r in samples_run.query("select distinct name from raw.civil_affairs_persons")}
    text = " ".join(
        str(r)
        for r in samples_run.query(
            "select to_jsonb(p)::text from marts.low_income_population p "
            "union all select to_jsonb(a)::text from marts.monitoring_alerts a"
        )
    )
    assert not any(i in text for i in ids)
    assert not any(len(n) > 1 and n in text for n in names)


@pytest.mark.parametrize(
    ("role", "readable", "forbidden"),
    [
        (
            "safetynet_analyst",
            ["marts.low_income_population", "marts.monitoring_alerts"],
            [
                "raw.civil_affairs_persons",
                "staging.stg_civil_affairs__persons",
                "audit.rejected_rows",
            ],
        ),
        (
            "safetynet_auditor",
            ["marts.monitoring_alerts", "audit.rejected_rows", "audit.dq_results"],
            ["raw.civil_affairs_persons", "staging.stg_civil_affairs__persons"],
        ),
    ],
)
def test_roles_see_only_their_schemas(
    samples_run: Stack, role: str, readable: list[str], forbidden: list[str]
) -> None:
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
        "and stage = 'published' order by recorded_at desc limit 1"
    )
    metrics = rows[0][0]
    assert metrics["sources"]["bank"] == {"rows": 332, "loaded": 332, "rejected": 0}
    assert metrics["new_alerts"] == metrics["feed"]["rows"] > 0
    assert metrics["population"] > 0


def test_incremental_claims_equal_a_rebuild_in_order_and_after_an_earlier_date(
    samples_run: Stack, tmp_path
) -> None:
    """int_claims__latest_versions merges only the new batches on an in-order
    day, and rebuilds as of D when D is not later than what it holds. The
    samples re-send claims C0000000006 (v2 on 10-02) and C0000000008 (v2 on 10-03)."""
    project = ROOT / "dbt_project"
    environ = dbt_environment(samples_run.url)
    model = "int_claims__latest_versions"
    compiled = (
        tmp_path
        / "target"
        / "compiled"
        / "safetynet"
        / "models"
        / "intermediate"
        / "households"
        / f"{model}.sql"
    )

    def build(day: str, *extra: str) -> str:
        """dbt run of the claims model as of day; returns how it was built."""
        run = subprocess.run(
            [
                str(Path(sys.executable).parent / "dbt"),
                "run",
                "--project-dir",
                str(project),
                "--profiles-dir",
                str(project),
                "--target-path",
                str(tmp_path / "target"),
                "--log-path",
                str(tmp_path / "logs"),
                "-s",
                model,
                "--vars",
                f"{{as_of_date: '{day}'}}",
                *extra,
            ],
            check=False,
            env=environ,
            capture_output=True,
            text=True,
            cwd=project,
        )
        assert run.returncode == 0, run.stdout[-3000:]
        return "merge" if "-- merge of the batches" in compiled.read_text() else "rebuild"

    def held() -> list[tuple]:
        return samples_run.query(
            "select claim_id, claim_version, out_of_pocket, received_date "
            f"from intermediate.{model} order by claim_id"
        )

    def as_of(day: str) -> list[tuple]:
        """Independent: the highest version of each claim received up to day."""
        return samples_run.query(
            "select distinct on (claim_id) claim_id, version, out_of_pocket::numeric(14, 2), "
            "extract_date from raw.health_medical_claims where extract_date <= %s "
            "order by claim_id, version desc, extract_date desc",
            (day,),
        )

    assert build("2026-10-01", "--full-refresh") == "rebuild"
    assert build("2026-10-02") == "merge"
    merged_02 = held()
    assert build("2026-10-03") == "merge"
    merged_03 = held()
    assert merged_02 == as_of("2026-10-02") and merged_03 == as_of("2026-10-03")
    # (b) an earlier date after a later one: rebuilt as of that date, not merged
    assert build("2026-10-02") == "rebuild"
    assert held() == merged_02
    assert ("C0000000008", 1) in {row[:2] for row in held()}
    # (a) the in-order merges equal a full rebuild as of the last day
    assert build("2026-10-03", "--full-refresh") == "rebuild"
    assert held() == merged_03
    assert ("C0000000008", 2) in {row[:2] for row in held()}
