"""The failure path really runs (issue 20), through real Airflow runs.

D1 and D2 are published. Then D2 is re-run three times, each failing at another step:

- ``dbt_build`` fails (a mart refuses D2's rows): ``discard_day`` removes D2's rows
  of every mart and D2's feed, D1 is untouched;
- ``publish_feed`` fails in its marts gate after D2's marts were built (a critical
  check of the marts), before any feed is written: the same;
- a corrupt delivery fails D2 before it builds anything: D2's earlier publication
  (marts and feed) stays as it was (``discard_day`` only discards what its own run built).

Each run releases the warehouse lease. And the critical check "population has rows
for D" blocks a date without any.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date

import pytest
from conftest import Stack, isolated_stack

from safetynet import warehouse
from safetynet.pipeline import PUBLIC_MART_DATE_COLUMNS
from safetynet.quality import gate
from safetynet_dev.synth import damage, generator

pytestmark = pytest.mark.e2e

D1, D2 = "2026-10-01", "2026-10-02"


@pytest.fixture(scope="module")
def two_days(local_stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("failure_path")
    with isolated_stack(local_stack, root, "t_failure_path") as stack:
        generator.generate(root / "pristine", 300, date(2026, 10, 1), 2, seed=7)
        shutil.copytree(root / "pristine", stack.landing)
        for day in (D1, D2):
            run = stack.run_dag(day)
            assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
        yield stack


def _errors(output: str) -> str:
    """The lines of a run's output that say what failed (for an assertion message)."""
    lines = [
        line[:400]
        for line in output.splitlines()
        if "error" in line.lower() or "failed" in line.lower() or "Task failed" in line
    ]
    return "\n".join(lines[-40:])


def _published(stack: Stack) -> None:
    """D2 published (again, when an earlier test of this module left it discarded)."""
    if not stack.day_state(D2)[1]:
        _republish(stack)


def _failed_run(stack: Stack, name: str) -> str:
    run = stack.run_dag(D2)
    output = run.stdout + run.stderr
    (stack.reports / f"run-{name}.log").write_text(output)
    assert run.returncode != 0, _errors(output)
    return output


def _assert_discarded(stack: Stack, day1_before: tuple) -> None:
    marts, feed = stack.day_state(D2)
    assert {table: count for table, (count, _) in marts.items()} == dict.fromkeys(
        PUBLIC_MART_DATE_COLUMNS, 0
    )
    assert feed == {}
    assert stack.day_state(D1) == day1_before
    withdrawn = stack.query(
        "select action from audit.feed_publications where extract_date = %s "
        "order by published_at desc limit 1",
        (D2,),
    )
    assert withdrawn == [("withdrawn",)]
    assert stack.query("select count(*) from audit.run_lease") == [(0,)]


def _republish(stack: Stack) -> None:
    run = stack.run_dag(D2)
    assert run.returncode == 0, _errors(run.stdout + run.stderr)
    assert stack.day_state(D2)[1], "D2 published again"


def test_failed_dbt_build_discards_the_day(two_days: Stack) -> None:
    _published(two_days)
    day1 = two_days.day_state(D1)
    refuse = f"""alter table marts.monitoring_alerts__recent add constraint test_refuse_d2
                 check (alert_date <> date '{D2}') not valid"""
    with warehouse.connect(two_days.url) as conn:
        conn.execute(refuse)
    try:
        output = _failed_run(two_days, "dbt-build-fails")
        assert "test_refuse_d2" in output, _errors(output)
    finally:
        with warehouse.connect(two_days.url) as conn:
            conn.execute(  # (issue 23) D's rows are written to the window's table
                "alter table marts.monitoring_alerts__recent drop constraint test_refuse_d2"
            )
    _assert_discarded(two_days, day1)
    _republish(two_days)


def test_failed_marts_gate_discards_the_built_day(two_days: Stack) -> None:
    """dbt builds D2 (its own tests pass), then publish_feed's marts gate fails: a
    trigger refuses to store D2's marts check results. The day is discarded like a
    failed gate."""
    _published(two_days)
    day1 = two_days.day_state(D1)
    with warehouse.connect(two_days.url) as conn:
        conn.execute(
            """create function audit.test_refuse_marts_results() returns trigger
               language plpgsql as $$ begin
                 raise exception 'test_refuse_marts_results'; end $$"""
        )
        conn.execute(
            f"""create trigger test_refuse_marts_results before insert on audit.dq_results
                for each row when (new.extract_date = date '{D2}' and new.suite like 'marts.%')
                execute function audit.test_refuse_marts_results()"""
        )
    try:
        output = _failed_run(two_days, "check-marts-fails")
        assert "test_refuse_marts_results" in output, _errors(output)
        assert "Task failed" in output
    finally:
        with warehouse.connect(two_days.url) as conn:
            conn.execute("drop trigger test_refuse_marts_results on audit.dq_results")
            conn.execute("drop function audit.test_refuse_marts_results()")
    _assert_discarded(two_days, day1)
    _republish(two_days)


def test_a_day_without_population_rows_is_blocked(two_days: Stack, tmp_path) -> None:
    """The critical check 'marts.low_income_population has rows for D' (a day with no
    alerts is legitimate, one with no population is not): the marts checks of a date
    that has no rows."""
    empty = date(2026, 10, 5)
    checks = gate.run_checks(
        two_days.url,
        tmp_path,
        "marts",
        empty,
        "test_no_population",
        {"population_min": 0, "population_max": 2**31 - 1},
    )
    failed = {
        (c.suite, c.expectation) for c in checks if not c.success and c.severity == "critical"
    }
    assert failed == {("marts.low_income_population", "expect_table_row_count_to_be_between")}
    with pytest.raises(gate.QualityGateFailed, match="low_income_population"):
        gate.enforce(checks, empty)


def test_a_run_failing_before_the_build_leaves_the_published_day(two_days: Stack) -> None:
    """A corrupt re-delivery of D2 fails in load/check_raw: D2's earlier marts and feed
    were published by another run and stay exactly as they were."""
    _published(two_days)
    before = {day: two_days.day_state(day) for day in (D1, D2)}
    balances = damage.folder(two_days.landing, "bank", D2) / "balances_20261002.txt"
    pristine = balances.read_bytes()
    damage.flip_byte(balances)
    try:
        output = _failed_run(two_days, "corrupt-redelivery")
        assert "sha256" in output, _errors(output)
    finally:
        balances.write_bytes(pristine)
    assert {day: two_days.day_state(day) for day in (D1, D2)} == before
    assert two_days.query("select count(*) from audit.run_lease") == [(0,)]
