"""Alert follow-up (contract section 9) on generated data agrees with the reference.

About 300 generated households over 2026-10-07..12 (10-07 a National Day
holiday, 10-10 a make-up Saturday, 10-11 a plain Sunday) run day by day through
Airflow with short deadlines (V_high = 1, V_medium = 2, R = 1 working days); before
each day the case-system simulator delivers that day's casework from the feeds
published so far. Then the warehouse must equal tests/reference/followup.py, fed
with the alerts of ``marts.monitoring_alerts`` and the landing's casework:

* alert_id and episode_start of every alert;
* every row of ``marts.alert_cases`` (all dates, every column of section 9);
* each day's ``overdue.csv``;
* which casework rows were accepted (``intermediate.int_casework__checked``) and
  which rejected (``audit.rejected_rows``), by file line, with a compatible reason.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from conftest import Stack, isolated_stack
from reference import followup

from safetynet_dev.synth import casework
from safetynet_dev.synth.generator import generate

pytestmark = pytest.mark.e2e

START = date(2026, 10, 7)
DAYS = [START + timedelta(days=i) for i in range(6)]
HOUSEHOLDS = 300
SEED = 31
CASEWORK_SEED = 4
BAD_SHARE = 0.2  # enough bad casework rows of every kind for ~100 decisions
DEADLINES = {
    "SAFETYNET_VERIFY_WORKDAYS_HIGH": "1",
    "SAFETYNET_VERIFY_WORKDAYS_MEDIUM": "2",
    "SAFETYNET_RESOLVE_WORKDAYS": "1",
}
CASE_COLUMNS = (
    "as_of_date",
    "alert_id",
    "rule_code",
    "severity",
    "household_id",
    "person_key",
    "region_code",
    "episode_start",
    "state",
    "state_date",
    "verify_due",
    "resolve_due",
    "is_overdue",
    "is_newly_overdue",
)
SHOWN = 25  # disagreements listed in a failure message


@pytest.fixture(scope="module")
def generated(local_stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("followup")
    with isolated_stack(local_stack, root, "t_followup_gen", key="followup-key") as stack:
        generate(stack.landing, HOUSEHOLDS, START, len(DAYS), seed=SEED)
        for day in DAYS:
            casework.deliver(
                stack.landing, stack.feed, day, seed=CASEWORK_SEED, bad_share=BAD_SHARE
            )
            run = stack.run_dag(day.isoformat(), **DEADLINES)
            assert run.returncode == 0, f"{day} failed:\n{run.stdout[-4000:]}"
        yield stack


@pytest.fixture(scope="module")
def expected(generated: Stack) -> followup.Result:
    holding: dict[date, list[followup.Alert]] = {day: [] for day in DAYS}
    for day, rule, household, person, severity, region in generated.query(
        """select alert_date, rule_code, household_id, coalesce(person_key, ''), severity,
                  region_code
           from marts.monitoring_alerts"""
    ):
        holding[day].append(followup.Alert(rule, household, person, severity, region))
    return followup.compute(
        holding,
        generated.landing,
        v_high=int(DEADLINES["SAFETYNET_VERIFY_WORKDAYS_HIGH"]),
        v_medium=int(DEADLINES["SAFETYNET_VERIFY_WORKDAYS_MEDIUM"]),
        resolve=int(DEADLINES["SAFETYNET_RESOLVE_WORKDAYS"]),
    )


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _reference_case(case: followup.Case) -> tuple[str, ...]:
    a = case.alert
    return (
        case.as_of_date.isoformat(),
        case.alert_id,
        a.rule_code,
        a.severity,
        a.household_id,
        a.person_key,
        a.region_code,
        case.episode_start.isoformat(),
        case.state,
        _text(case.state_date),
        case.verify_due.isoformat(),
        _text(case.resolve_due),
        _text(case.is_overdue),
        _text(case.is_newly_overdue),
    )


def _disagreements(
    got: dict[tuple[str, str], tuple[str, ...]], want: dict[tuple[str, str], tuple[str, ...]]
) -> list[str]:
    """'date alert_id: field expected X, got Y' lines (missing / unexpected rows too)."""
    lines = []
    for key in sorted(set(got) | set(want)):
        if key not in got:
            lines.append(f"{key[0]} {key[1]}: missing from the warehouse: {want[key]}")
        elif key not in want:
            lines.append(f"{key[0]} {key[1]}: not expected: {got[key]}")
        else:
            for name, g, w in zip(CASE_COLUMNS, got[key], want[key], strict=True):
                if g != w:
                    lines.append(f"{key[0]} {key[1]}: {name} expected {w!r}, got {g!r}")
    return lines


def test_alert_ids_and_episodes(generated: Stack, expected: followup.Result) -> None:
    rows = generated.query(
        """select alert_date, rule_code, household_id, coalesce(person_key, ''), alert_id,
                  episode_start, is_new
           from marts.monitoring_alerts"""
    )
    wrong = []
    for day, rule, household, person, aid, start, is_new in rows:
        want = expected.alert_ids[(day, rule, household, person)]
        want_start = expected.episodes[want].start
        if (aid, start, is_new) != (want, want_start, want_start == day):
            wrong.append(
                f"{day} {rule} {household} {person}: alert_id/episode_start/is_new expected "
                f"{want} {want_start} {want_start == day}, got {aid} {start} {is_new}"
            )
    assert not wrong, "\n".join(wrong[:SHOWN])
    assert sum(1 for e in expected.episodes.values() if e.start > START) > 0


def test_alert_cases_agree_with_the_reference(generated: Stack, expected: followup.Result) -> None:
    columns = ", ".join(
        "coalesce(person_key, '') as person_key" if c == "person_key" else c for c in CASE_COLUMNS
    )
    got = {
        (r[0], r[1]): r
        for r in (
            tuple(_text(v) for v in row)
            for row in generated.query(f"select {columns} from marts.alert_cases")
        )
    }
    want = {(r[0], r[1]): r for r in map(_reference_case, expected.cases)}
    assert len(got) == len(generated.query("select 1 from marts.alert_cases")), "duplicate rows"
    wrong = _disagreements(got, want)
    assert not wrong, f"{len(wrong)} disagreements:\n" + "\n".join(wrong[:SHOWN])
    # the data exercised what it should
    states = Counter(case.state for case in expected.cases)
    assert set(states) == {"OPEN", "VERIFYING", "CONFIRMED", "DISMISSED", "RESOLVED"}, states
    newly = Counter(c.as_of_date for c in expected.cases if c.is_newly_overdue)
    assert len(newly) >= 2, newly
    assert any(c.state == "CONFIRMED" and c.is_overdue for c in expected.cases)


def test_overdue_feed_agrees_with_the_reference(
    generated: Stack, expected: followup.Result
) -> None:
    for day in DAYS:
        path = generated.feed / day.isoformat() / "overdue.csv"
        with open(path, encoding="utf-8", newline="") as handle:
            rows = [tuple(r) for r in csv.reader(handle)]
        assert rows[0] == followup.OVERDUE_COLUMNS, f"{path}: header {rows[0]}"
        want = expected.overdue(day)
        assert rows[1:] == want, (
            f"{day}: overdue.csv differs\nonly in the feed: {sorted(set(rows[1:]) - set(want))}"
            f"\nonly in the reference: {sorted(set(want) - set(rows[1:]))}"
        )


def _pipeline_kinds(reason: str) -> set[str]:
    text = reason.lower()
    kinds = {k for k in ("alert_id", "status", "decided_on") if k in text}
    if "duplicate" in text or "repeat" in text:
        kinds.add("duplicate")
    return kinds or {"fields"}


def test_casework_acceptance_agrees_with_the_reference(
    generated: Stack, expected: followup.Result
) -> None:
    rejected = {
        (day, line): reason
        for day, line, reason in generated.query(
            """select extract_date, line_no, reason from audit.rejected_rows r
               where source = 'casework'
                 and batch_id = (select max(batch_id) from audit.load_batches b
                                 where b.source = 'casework'
                                   and b.extract_date = r.extract_date)"""
        )
    }
    accepted = {
        (day, line)
        for day, line in generated.query(
            """select extract_date, line_no from intermediate.int_casework__checked
               where rejection_reason is null"""
        )
    }
    want_rejected = {(r.folder_date, r.line_no): r for r in expected.rejected}
    want_accepted = {(d.folder_date, d.line_no) for d in expected.accepted}
    assert want_rejected and want_accepted
    wrong = [
        f"{day} line {line}: expected rejected ({want_rejected[(day, line)].reason}), "
        f"not in audit.rejected_rows"
        for day, line in sorted(set(want_rejected) - set(rejected))
    ]
    wrong += [
        f"{day} line {line}: expected accepted, rejected: {rejected[(day, line)]}"
        for day, line in sorted(set(rejected) - set(want_rejected))
    ]
    wrong += [
        f"{day} line {line}: expected accepted, not accepted by the warehouse"
        for day, line in sorted(want_accepted - accepted)
    ]
    wrong += [
        f"{day} line {line}: accepted by the warehouse, expected rejected"
        for day, line in sorted(accepted - want_accepted)
    ]
    for key in sorted(set(rejected) & set(want_rejected)):
        ours, theirs = want_rejected[key].kinds, _pipeline_kinds(rejected[key])
        if not ours & theirs:
            wrong.append(
                f"{key[0]} line {key[1]}: reason expected {want_rejected[key].reason!r}, "
                f"got {rejected[key]!r}"
            )
    assert not wrong, f"{len(wrong)} disagreements:\n" + "\n".join(wrong[:SHOWN])
    kinds = Counter(k for r in expected.rejected for k in r.kinds)
    assert {"duplicate", "alert_id", "status", "decided_on"} <= set(kinds), kinds
