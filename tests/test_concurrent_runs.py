"""Runs of two dates cannot interleave in the warehouse (issue 20).

The intermediate tables hold one date: two runs building side by side would build one
date's marts from the other's rows. ``check_raw`` takes the warehouse lease
(``safetynet.runlock``), ``publish_feed`` or ``discard_day`` releases it.

- e2e: two published dates re-run side by side (two ``airflow dags test`` processes at
  once on one warehouse) leave marts and feeds exactly as the serial runs left them;
- integration: the lease itself (wait, timeout, take-over of an expired one, release
  only by its holder).
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import date

import pytest
from conftest import ROOT, Stack, isolated_stack

from safetynet import warehouse
from safetynet_dev.synth import generator

D1, D2 = "2026-10-01", "2026-10-02"


def start_dag(stack: Stack, day: str, log_name: str) -> tuple[subprocess.Popen, object]:
    log = open(stack.reports / log_name, "w")  # noqa: SIM115 (closed by the caller)
    process = subprocess.Popen(
        ["airflow", "dags", "test", "safetynet_daily", day],
        env=stack.environ(),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    return process, log


@pytest.fixture(scope="module")
def published(local_stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """D1 and D2 run one after the other: the reference state."""
    root = tmp_path_factory.mktemp("concurrent")
    with isolated_stack(local_stack, root, "t_concurrent") as stack:
        generator.generate(root / "landing", 300, date(2026, 10, 1), 2, seed=11)
        for day in (D1, D2):
            run = stack.run_dag(day)
            (stack.reports / f"serial-{day}.log").write_text(run.stdout + run.stderr)
            assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
        yield stack


@pytest.mark.e2e
def test_two_dates_rerun_side_by_side_equal_the_serial_runs(published: Stack) -> None:
    serial = {day: published.day_state(day) for day in (D1, D2)}
    for day in (D1, D2):
        marts, feed = serial[day]
        assert marts["marts.low_income_population"][0] > 0, day
        assert None not in feed.values(), day

    runs = [start_dag(published, day, f"side-by-side-{day}.log") for day in (D1, D2)]
    codes = []
    for process, log in runs:
        codes.append(process.wait(timeout=1800))
        log.close()  # type: ignore[attr-defined]
    logs = {day: (published.reports / f"side-by-side-{day}.log").read_text() for day in (D1, D2)}
    for (day, text), code in zip(logs.items(), codes, strict=True):
        assert code == 0, f"{day}:\n{text[-4000:]}"

    assert {day: published.day_state(day) for day in (D1, D2)} == serial
    # they did meet: one run waited for the other's lease
    assert any("warehouse held by run" in text for text in logs.values())
    assert published.query("select count(*) from audit.run_lease") == [(0,)]
    feeds = published.query(
        "select extract_date::text, action, count(*) from audit.feed_publications "
        "group by 1, 2 order by 1, 2"
    )
    assert feeds == [(D1, "published", 2), (D2, "published", 2)]  # nothing withdrawn


# ---------------------------------------------------------------- the lease itself


@pytest.fixture
def lease_db(local_stack, tmp_path) -> Iterator[str]:
    with isolated_stack(local_stack, tmp_path, "t_runlock") as stack:
        warehouse.ensure_schema(stack.url)
        yield stack.url


DAY1, DAY2 = date(2026, 10, 1), date(2026, 10, 2)


@pytest.fixture
def runlock():
    """The module (imported here: the e2e test above also runs against a tree without it)."""
    from safetynet import runlock as module

    return module


@pytest.mark.integration
def test_a_second_run_waits_for_the_lease_then_times_out(lease_db: str, runlock) -> None:
    runlock.acquire(lease_db, "run_a", DAY1, wait=0)
    started = time.monotonic()
    with pytest.raises(runlock.LeaseTimeout, match="run_a"):
        runlock.acquire(lease_db, "run_b", DAY2, wait=1.5, poll=0.2)
    assert time.monotonic() - started >= 1.5
    # a retry of the holder's own step takes it again
    runlock.acquire(lease_db, "run_a", DAY1, wait=0)
    assert runlock.current(lease_db)["run_id"] == "run_a"


@pytest.mark.integration
def test_the_waiting_run_gets_the_lease_when_the_holder_releases(lease_db: str, runlock) -> None:
    runlock.acquire(lease_db, "run_a", DAY1, wait=0)
    timer = threading.Timer(1.0, runlock.release, (lease_db, "run_a", DAY1))
    timer.start()
    runlock.acquire(lease_db, "run_b", DAY2, wait=30, poll=0.2)
    timer.join()
    assert runlock.current(lease_db)["run_id"] == "run_b"


@pytest.mark.integration
def test_an_expired_lease_is_taken_over_and_its_holder_loses_it(lease_db: str, runlock) -> None:
    runlock.acquire(lease_db, "dead_run", DAY1, wait=0, ttl=1)
    time.sleep(1.2)
    runlock.acquire(lease_db, "run_b", DAY2, wait=0)
    with pytest.raises(runlock.LeaseLost, match="run_b"):
        runlock.renew(lease_db, "dead_run", DAY1)
    assert not runlock.release(lease_db, "dead_run", DAY1)  # only the holder releases
    assert runlock.phase_of(lease_db, "run_b", DAY2) == runlock.CHECKING
    runlock.renew(lease_db, "run_b", DAY2, phase=runlock.BUILDING)
    assert runlock.phase_of(lease_db, "run_b", DAY2) == runlock.BUILDING
    assert runlock.release(lease_db, "run_b", DAY2)
    assert runlock.current(lease_db) is None


@pytest.mark.integration
def test_same_run_id_of_another_date_does_not_share_the_lease(lease_db: str, runlock) -> None:
    runlock.acquire(lease_db, "manual__x", DAY1, wait=0)
    with pytest.raises(runlock.LeaseTimeout):
        runlock.acquire(lease_db, "manual__x", DAY2, wait=0)


@pytest.mark.integration
def test_a_load_waits_while_another_run_of_its_date_holds_the_lease(lease_db: str, runlock) -> None:
    runlock.wait_for_same_date(lease_db, "run_b", DAY1, wait=0)  # free: no wait
    runlock.acquire(lease_db, "run_a", DAY1, wait=0)
    runlock.wait_for_same_date(lease_db, "run_b", DAY2, wait=0)  # another date: no wait
    runlock.wait_for_same_date(lease_db, "run_a", DAY1, wait=0)  # its own run: no wait
    with pytest.raises(runlock.LeaseTimeout, match="run_a"):
        runlock.wait_for_same_date(lease_db, "run_b", DAY1, wait=0.5, poll=0.1)
    timer = threading.Timer(0.5, runlock.release, (lease_db, "run_a", DAY1))
    timer.start()
    runlock.wait_for_same_date(lease_db, "run_b", DAY1, wait=30, poll=0.1)
    timer.join()
