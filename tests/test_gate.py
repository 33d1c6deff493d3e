"""The data-quality gate, through real Airflow runs on generated data.

Day 1 passes. Each damaged delivery of day 2 fails the run with the failed
check named, publishes no feed for day 2, and leaves day 1's feed and marts
untouched; a tolerated (<= 1%) damage publishes with a warning; the
corrected delivery re-run publishes day 2.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from casework_landing import write_casework
from conftest import Stack, isolated_stack

from safetynet.ingest import loader
from safetynet_dev.synth import damage, generator

pytestmark = pytest.mark.e2e

D1, D2 = "2026-10-01", "2026-10-02"


@pytest.fixture(scope="module")
def gate(local_stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("gate")
    with isolated_stack(local_stack, root, "t_gate") as stack:
        generator.generate(root / "pristine", 300, date(2026, 10, 1), 2, seed=5)
        shutil.copytree(root / "pristine", stack.landing)
        run = stack.run_dag(D1)
        assert run.returncode == 0, run.stdout[-3000:]
        yield stack


def restore_day2(stack: Stack) -> None:
    pristine = stack.landing.parent / "pristine"
    for source in ("civil_affairs", "health", "housing", "bank", "casework"):
        target = stack.landing / source / D2
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(pristine / source / D2, target)


def _truncate(landing: Path) -> None:
    damage.truncate_file(damage.folder(landing, "bank", D2) / "balances_20261002.txt", 0.6)


def _flip(landing: Path) -> None:
    damage.flip_byte(damage.folder(landing, "housing", D2) / "properties.csv")


def _drop(landing: Path) -> None:
    damage.drop_column(landing, "civil_affairs", D2, "households.csv", "urban_rural")


def _invalid_ids(landing: Path) -> None:
    damage.invalidate_ids(landing, "civil_affairs", D2, "persons.csv", 0.03, seed=1)


def _missing(landing: Path) -> None:
    damage.remove_source(landing, "health", D2)


def _casework_flip(landing: Path) -> None:
    damage.flip_byte(damage.folder(landing, "casework", D2) / "dispositions.csv")


@pytest.mark.parametrize(
    ("damage_day2", "named_check"),
    [
        (_truncate, "rows, manifest says"),
        (_flip, "sha256"),
        (_drop, "header drift, missing ['urban_rural']"),
        (_invalid_ids, "more than the 1% tolerance"),
        (_missing, "no manifest from health"),
        (_casework_flip, "casework/2026-10-02/dispositions.csv: sha256"),
    ],
    ids=[
        "truncated",
        "checksum",
        "dropped-column",
        "invalid-ids-3pct",
        "missing-source",
        "casework-checksum",
    ],
)
def test_damaged_day_is_blocked(gate: Stack, damage_day2, named_check: str) -> None:
    before = gate.day_state(D1)
    restore_day2(gate)
    damage_day2(gate.landing)
    run = gate.run_dag(D2)
    (gate.reports / f"run-{damage_day2.__name__}.log").write_text(run.stdout + run.stderr)
    assert run.returncode != 0
    assert named_check in run.stdout + run.stderr
    assert "data-quality gate failed" in run.stdout + run.stderr or "incomplete" in run.stdout
    assert not (gate.feed / D2).exists()
    assert gate.day_state(D1) == before
    assert gate.query(
        "select count(*) from marts.low_income_population where as_of_date = %s", (D2,)
    ) == [(0,)]
    failed = gate.query(
        "select suite from audit.dq_results where extract_date = %s and "
        "not success and severity = 'critical'",
        (D2,),
    )
    assert ("delivery",) in failed


def _cut_persons(stack: Stack) -> int:
    """D2's persons.csv cut to a multiple of 100 rows (their count)."""
    restore_day2(stack)
    path = damage.folder(stack.landing, "civil_affairs", D2) / "persons.csv"
    header, records = damage.read_records(path)
    rows = len(records) // 100 * 100
    assert rows >= 200
    damage.write_records(path, header, records[:rows])
    damage.rewrite_manifest(path.parent)
    return rows


def _persons_with_bad_ids(stack: Stack, over: int) -> tuple[int, int]:
    """The cut persons.csv with 1% of its rows, plus ``over``, given an id_number with a
    wrong check character. (rows, bad rows)."""
    rows = _cut_persons(stack)
    wanted = rows // 100 + over
    bad = damage.invalidate_ids(stack.landing, "civil_affairs", D2, "persons.csv", wanted / rows)
    assert bad == wanted
    return rows, bad


def _load_persons(stack: Stack, run_id: str):
    results = loader.load_source(
        stack.url, stack.landing, "civil_affairs", date.fromisoformat(D2), stack.key, run_id
    )
    return {r.file_name: r for r in results}["persons.csv"]


def test_reject_threshold_is_exactly_one_percent(gate: Stack) -> None:
    """Exactly 1% rejected rows load (a warning); one row more blocks the source."""
    rows = _cut_persons(gate)
    clean = _load_persons(gate, "test_gate_clean")  # no row of the cut file is rejected
    assert (clean.rows, clean.rejected) == (rows, 0)

    rows, bad = _persons_with_bad_ids(gate, 0)
    at_limit = _load_persons(gate, "test_gate_one_percent")
    assert (at_limit.rows, at_limit.rejected) == (rows, bad)
    assert at_limit.reject_ratio == 0.01
    loaded = gate.query(
        "select status, message from audit.load_batches where batch_id = %s",
        (at_limit.batch_id,),
    )
    assert loaded[0][0] == "loaded" and "within the 1% tolerance" in loaded[0][1]

    rows, bad = _persons_with_bad_ids(gate, 1)
    with pytest.raises(loader.DeliveryError, match="more than the 1% tolerance"):
        _load_persons(gate, "test_gate_one_percent_and_one")
    assert bad == rows // 100 + 1
    restore_day2(gate)


def test_tolerated_invalid_ids_publish_with_a_warning(gate: Stack) -> None:
    restore_day2(gate)
    bad = damage.invalidate_ids(gate.landing, "civil_affairs", D2, "persons.csv", 0.004, seed=2)
    assert bad > 0
    run = gate.run_dag(D2)
    assert run.returncode == 0, run.stdout[-3000:]
    assert (gate.feed / D2 / "_manifest.json").exists()
    warnings = gate.query(
        """select suite, expectation from audit.dq_results where extract_date = %s and not success
           and severity = 'warning' and run_id = (select max(run_id) from audit.dq_results
                                                  where extract_date = %s)""",
        (D2, D2),
    )
    assert ("delivery", "expect_column_values_to_be_in_set") in warnings
    rejected = gate.query(
        "select count(*) from audit.rejected_rows where extract_date = %s "
        "and reason = 'invalid id_number'",
        (D2,),
    )
    assert rejected[0][0] >= bad


def test_corrected_redelivery_publishes(gate: Stack) -> None:
    restore_day2(gate)
    run = gate.run_dag(D2)
    assert run.returncode == 0, run.stdout[-3000:]
    first = (gate.feed / D2 / "alerts.csv").read_bytes()
    assert gate.query(
        "select count(*) > 0 from marts.low_income_population where as_of_date = %s", (D2,)
    ) == [(True,)]
    published = gate.query(
        "select action, run_id like 'manual\\_\\_%%' "
        "from audit.feed_publications where extract_date = %s "
        "order by published_at desc limit 1",
        (D2,),
    )
    assert published == [("published", True)]
    rerun = gate.run_dag(D2)
    assert rerun.returncode == 0
    assert (gate.feed / D2 / "alerts.csv").read_bytes() == first


def test_casework_with_a_fifth_of_bad_rows_publishes_with_a_warning(gate: Stack) -> None:
    """Contract v2 section 9: rejected casework rows never block the day; each is in
    audit.rejected_rows with its line and reason (loader and warehouse alike)."""
    restore_day2(gate)
    with open(gate.feed / D1 / "alerts.csv", encoding="utf-8", newline="") as handle:
        alerts = [row["alert_id"] for row in csv.DictReader(handle)]
    assert alerts, "day 1 published alerts"
    good = [
        (alerts[i % len(alerts)], "VERIFYING", D1, f"S{i:04d}", f'核查中, 第{i}次\n"复核"')
        for i in range(8)
    ]
    bad = [
        (alerts[0], "LOST", D2, "S9001", "status outside the four"),  # line 2: the loader
        ("0" * 32, "CONFIRMED", D2, "S9002", "no such alert"),  # the warehouse
    ]
    write_casework(gate.landing, D2, [bad[0], *good[:4], bad[1], *good[4:]])
    run = gate.run_dag(D2)
    (gate.reports / "run-casework-bad-rows.log").write_text(run.stdout + run.stderr)
    assert run.returncode == 0, run.stdout[-3000:]
    assert (gate.feed / D2 / "overdue.csv").exists()
    rejected = gate.query(
        """select line_no, reason from audit.rejected_rows r
           where source = 'casework' and extract_date = %s
             and batch_id = (select max(batch_id) from audit.load_batches
                             where source = 'casework' and extract_date = %s)
           order by line_no""",
        (D2, D2),
    )
    # good rows span two lines each (their note holds a line break): the unknown
    # alert_id starts on line 2 + 1 + 4 * 2 = 11
    assert [line for line, _ in rejected] == [2, 11]
    assert rejected[0][1] == "invalid status" and "alert_id" in rejected[1][1]
    warnings = gate.query(
        """select suite from audit.dq_results where extract_date = %s and not success
           and severity = 'warning' and run_id = (select max(run_id) from audit.dq_results
                                                  where extract_date = %s)""",
        (D2, D2),
    )
    assert {("delivery",), ("audit.casework_rejections",)} <= set(warnings)
