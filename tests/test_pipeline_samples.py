"""The whole DAG, through Airflow, on the contract's worked example.

Reproduces samples/expected/alerts.csv (with alert_id), population.csv and
cases.csv exactly (as sets), and cases_zero_days.csv in a second stack run
with every follow-up deadline at 0 working days; publishes a feed per day,
and gives byte-identical feeds and the same follow-up rows on a re-run.
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

from safetynet import warehouse
from safetynet_dev.docs import dbt_environment

pytestmark = pytest.mark.e2e

DAYS = ["2026-10-01", "2026-10-02", "2026-10-03"]


# marts.alert_cases in the column order of samples/expected/cases.csv
CASES_QUERY = """
select as_of_date::text, alert_id, rule_code, household_id, coalesce(person_key, ''),
       episode_start::text, state, coalesce(state_date::text, ''), verify_due::text,
       coalesce(resolve_due::text, ''), case when is_overdue then 'true' else 'false' end,
       case when is_newly_overdue then 'true' else 'false' end
from marts.alert_cases
"""
ZERO_DAYS = {
    "SAFETYNET_VERIFY_WORKDAYS_HIGH": "0",
    "SAFETYNET_VERIFY_WORKDAYS_MEDIUM": "0",
    "SAFETYNET_RESOLVE_WORKDAYS": "0",
}


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


@pytest.fixture(scope="module")
def zero_days_run(local_stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The same days with V_HIGH = V_MEDIUM = R = 0 working days (env of the run)."""
    root = tmp_path_factory.mktemp("samples_zero_days")
    with isolated_stack(local_stack, root, "t_samples_zero_days", key="sample-key") as stack:
        shutil.copytree(SAMPLES / "landing", stack.landing)
        for day in DAYS:
            run = stack.run_dag(day, **ZERO_DAYS)
            assert run.returncode == 0, f"run for {day} failed:\n{run.stdout[-4000:]}"
        yield stack


def test_alerts_match_the_worked_example(samples_run: Stack) -> None:
    rows = samples_run.query(
        """select alert_date::text, rule_code, household_id, coalesce(person_key, ''),
                  case when is_new then 'true' else 'false' end, alert_id
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


def test_cases_match_the_worked_example(samples_run: Stack) -> None:
    """Section 9 with the default deadlines (V 5 / 10, R 20 working days)."""
    rows = samples_run.query(CASES_QUERY)
    assert set(rows) == expected("cases.csv")
    assert len(rows) == len(set(rows))


def test_cases_with_zero_working_days_match_the_worked_example(zero_days_run: Stack) -> None:
    """V = R = 0: unhandled alerts fall overdue the day after they start, and
    are newly overdue only on the first day they are."""
    rows = zero_days_run.query(CASES_QUERY)
    assert set(rows) == expected("cases_zero_days.csv")
    assert len(rows) == len(set(rows))
    alerts = zero_days_run.query(
        """select alert_date::text, rule_code, household_id, coalesce(person_key, ''),
                  case when is_new then 'true' else 'false' end, alert_id
           from marts.monitoring_alerts"""
    )
    assert set(alerts) == expected("alerts.csv")


def test_casework_rejections_have_their_reasons(samples_run: Stack) -> None:
    """int_casework__checked: the rows of the samples' casework folders the
    warehouse rejects (the loader already took out the one with no date)."""
    rows = samples_run.query(
        "select extract_date::text, line_no, rejection_reason "
        "from intermediate.int_casework__checked where rejection_reason is not null"
    )
    assert set(rows) == {
        ("2026-10-02", 5, "decided_on: 2026-09-30 before the episode start 2026-10-01"),
        ("2026-10-02", 6, "alert_id: malformed 'A03-6bd4b724'"),
        ("2026-10-03", 6, "alert_id: unknown 8e889fabf8fe83027e1f5209688f0ffe"),
        ("2026-10-03", 7, "decided_on: 2026-10-04 after the folder date 2026-10-03"),
    }
    accepted = samples_run.query(
        "select count(*) from intermediate.int_casework__checked where rejection_reason is null"
    )
    assert accepted == [(6,)]


def test_followup_summary_and_episodes_agree_with_the_cases(samples_run: Stack) -> None:
    summary = samples_run.query(
        """select as_of_date::text, sum(alerts_holding), sum(overdue_alerts),
                  sum(confirmed_alerts), sum(resolved_alerts), sum(verifying_alerts)
           from marts.alert_followup_daily group by as_of_date order by as_of_date"""
    )
    cases = samples_run.query(
        """select as_of_date::text, count(*), count(*) filter (where is_overdue),
                  count(*) filter (where state = 'CONFIRMED'),
                  count(*) filter (where state = 'RESOLVED'),
                  count(*) filter (where state = 'VERIFYING')
           from marts.alert_cases group by as_of_date order by as_of_date"""
    )
    assert summary == cases
    # 10-03: five episodes have a first decision (10-01 or 10-02, in the last 30 days);
    # three of them are CONFIRMED or RESOLVED by 10-03, none DISMISSED
    decided = samples_run.query(
        """select sum(first_decisions_30d), sum(confirmed_or_resolved_90d), sum(dismissed_90d)
           from marts.alert_followup_daily where as_of_date = '2026-10-03'"""
    )
    assert decided == [(5, 3, 0)]
    episodes = samples_run.query(
        "select count(*), count(*) filter (where is_ongoing), "
        "count(*) filter (where ended_unresolved) from marts.alert_episodes"
    )
    # 18 alerts hold on 10-03; three episodes ended OPEN (A04 on 10-01 twice, A06 on 10-02)
    assert episodes == [(len({row[1] for row in expected("cases.csv")}), 18, 3)]


def test_feed_holds_the_new_alerts_of_each_day(samples_run: Stack) -> None:
    new_alerts = {a[:5] for a in expected("alerts.csv")}
    for day in DAYS:
        folder = samples_run.feed / day
        manifest = json.loads((folder / "_manifest.json").read_text())
        listed = {entry["name"]: entry for entry in manifest["files"]}
        body = (folder / "alerts.csv").read_bytes()
        assert listed["alerts.csv"]["sha256"] == hashlib.sha256(body).hexdigest()
        with open(folder / "alerts.csv", encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert listed["alerts.csv"]["rows"] == len(rows)
        want = {a for a in new_alerts if a[0] == day and a[4] == "true"}
        assert {
            (r["alert_date"], r["rule_code"], r["household_id"], r["person_key"], r["is_new"])
            for r in rows
        } == want
        assert all(json.loads(r["evidence"]) for r in rows)


def test_rerunning_a_passed_day_gives_the_same_feed_bytes(samples_run: Stack) -> None:
    """Re-running 10-02 after 10-03 uses only the casework folders <= 10-02 and
    gives the rows of its first run (follow-up state and summary included)."""
    before = (samples_run.feed / "2026-10-02" / "alerts.csv").read_bytes()
    population = samples_run.query("select count(*) from marts.low_income_population")
    summary = "select * from marts.alert_followup_daily order by as_of_date, region_code, rule_code"
    summary_before = samples_run.query(summary)
    run = samples_run.run_dag("2026-10-02")
    assert run.returncode == 0, run.stdout[-3000:]
    assert (samples_run.feed / "2026-10-02" / "alerts.csv").read_bytes() == before
    assert samples_run.query("select count(*) from marts.low_income_population") == population
    test_alerts_match_the_worked_example(samples_run)
    test_cases_match_the_worked_example(samples_run)
    assert samples_run.query(summary) == summary_before


def test_marts_hold_no_raw_identifiers(samples_run: Stack) -> None:
    ids = {
        r[0] for r in samples_run.query("select distinct id_number from raw.civil_affairs_persons")
    }
    names = {r[0] for r in samples_run.query("select distinct name from raw.civil_affairs_persons")}
    text = " ".join(
        str(r)
        for r in samples_run.query(
            "select to_jsonb(p)::text from marts.low_income_population p "
            "union all select to_jsonb(a)::text from marts.monitoring_alerts a "
            "union all select to_jsonb(c)::text from marts.alert_cases c "
            "union all select to_jsonb(e)::text from marts.alert_episodes e"
        )
    )
    assert not any(i in text for i in ids)
    assert not any(len(n) > 1 and n in text for n in names)


@pytest.mark.parametrize(
    ("role", "readable", "forbidden"),
    [
        (
            "safetynet_analyst",
            [
                "marts.low_income_population",
                "marts.monitoring_alerts",
                "marts.alert_cases",
                "marts.alert_episodes",
                "marts.alert_followup_daily",
            ],
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
    """int_claims__latest_versions merges the batches received up to D that it
    does not hold yet (D's on an in-order day, also a blocked day's increment),
    and rebuilds as of D when it holds a batch that is not there as of D (an
    earlier date). The samples re-send claims C0000000006 (v2 on 10-02) and
    C0000000008 (v2 on 10-03)."""
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
    # (c) a batch of an earlier date that the table does not hold yet (a blocked
    # day's increment, or a date loaded late) is merged by the next run: 10-02's
    # partition is held back while 10-01 and 10-03 are merged, then comes back
    with warehouse.connect(samples_run.url) as conn:
        conn.execute(
            "create table public.claims_held_back as select * from raw.health_medical_claims "
            "where extract_date = '2026-10-02'"
        )
        conn.execute("delete from raw.health_medical_claims where extract_date = '2026-10-02'")
    try:
        assert build("2026-10-01", "--full-refresh") == "rebuild"
        assert build("2026-10-03") == "merge"
        assert held() == as_of("2026-10-03")
    finally:
        with warehouse.connect(samples_run.url) as conn:
            conn.execute(
                "insert into raw.health_medical_claims select * from public.claims_held_back"
            )
            conn.execute("drop table public.claims_held_back")
    assert build("2026-10-03") == "merge"
    assert "2026-10-02/" in compiled.read_text()
    assert held() == merged_03
    # a re-run of the same date merges nothing more (every present batch is held)
    assert build("2026-10-03") == "merge"
    assert held() == merged_03
    # (a) the in-order merges equal a full rebuild as of the last day
    assert build("2026-10-03", "--full-refresh") == "rebuild"
    assert held() == merged_03
    assert ("C0000000008", 2) in {row[:2] for row in held()}


def _parsed_manifest(url: str, target: Path) -> dict:
    project = ROOT / "dbt_project"
    parse = subprocess.run(
        [
            *(str(Path(sys.executable).parent / "dbt"), "parse", "--project-dir", str(project)),
            *("--profiles-dir", str(project), "--target-path", str(target)),
            *("--log-path", str(target / "logs")),
        ],
        check=False,
        env=dbt_environment(url),
        capture_output=True,
        text=True,
        cwd=project,
    )
    assert parse.returncode == 0, parse.stdout[-3000:]
    return json.loads((target / "manifest.json").read_text(encoding="utf-8"))


def test_model_docs_are_the_relations_comments(samples_run: Stack, tmp_path) -> None:
    """(issue 23) macros/persist_docs.sql writes a model's docs in one statement: every
    model's description is its relation's comment, every documented column's its
    column's (as dbt's own macro wrote them)."""
    comments = {
        (schema, relation, column): text
        for schema, relation, column, text in samples_run.query(
            "select n.nspname, c.relname, coalesce(a.attname, ''), d.description "
            "from pg_description d join pg_class c on c.oid = d.objoid "
            "join pg_namespace n on n.oid = c.relnamespace "
            "left join pg_attribute a on a.attrelid = c.oid and a.attnum = d.objsubid "
            "where d.classoid = 'pg_class'::regclass and (d.objsubid = 0 or a.attnum > 0)"
        )
    }
    columns = {
        (schema, relation, column)
        for schema, relation, column in samples_run.query(
            "select table_schema, table_name, column_name from information_schema.columns"
        )
    }
    models = [
        node
        for node in _parsed_manifest(samples_run.url, tmp_path / "target")["nodes"].values()
        if node["resource_type"] == "model" and node["description"]
    ]
    assert len(models) > 30
    for node in models:
        relation = (node["schema"], node["alias"])
        assert comments.get((*relation, "")) == node["description"], relation
        documented = [c for c in node["columns"].values() if (*relation, c["name"]) in columns]
        assert documented, relation
        for column in documented:
            assert comments.get((*relation, column["name"]), "") == column["description"], (
                relation,
                column["name"],
            )
