"""The independent reference of contract section 9 reproduces the worked example.

Pure Python: no server. The alerts holding on each sample date come from
``samples/expected/alerts.csv`` (severity by rule from the contract's table),
the casework from ``samples/landing/casework``.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest

try:
    from tests.reference import followup
except ImportError:  # tests/ itself is on sys.path (pytest prepend mode)
    from reference import followup  # type: ignore[no-redef]

pytestmark = pytest.mark.unit

SAMPLES = followup.CONTRACT_DIR / "samples"
D1, D2, D3 = date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3)

requires_samples = pytest.mark.skipif(
    not (SAMPLES / "expected" / "cases.csv").is_file(),
    reason=f"contract v2 samples not found under {SAMPLES} (set SAFETYNET_CONTRACT_DIR)",
)


def _csv(name: str) -> list[dict[str, str]]:
    with open(SAMPLES / "expected" / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _rows(name: str) -> list[tuple[str, ...]]:
    with open(SAMPLES / "expected" / name, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == followup.CASES_COLUMNS
    return [tuple(row) for row in rows[1:]]


def sample_holding() -> dict[date, list[followup.Alert]]:
    holding: dict[date, list[followup.Alert]] = defaultdict(list)
    for row in _csv("alerts.csv"):
        rule, household = row["rule_code"], row["household_id"]
        alert = followup.Alert(
            rule, household, row["person_key"], followup.SEVERITY[rule], household[:6]
        )
        holding[date.fromisoformat(row["alert_date"])].append(alert)
    return dict(holding)


def _compute(**deadlines: int) -> followup.Result:
    return followup.compute(sample_holding(), SAMPLES / "landing", **deadlines)


def _sorted(rows: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    return sorted(rows, key=lambda r: (r[0], r[2], r[3], r[4]))


# ---------------------------------------------------------------- worked example


@requires_samples
def test_alert_ids_of_expected_alerts() -> None:
    result = _compute()
    for row in _csv("alerts.csv"):
        key = (date.fromisoformat(row["alert_date"]), row["rule_code"], row["household_id"])
        assert result.alert_ids[(*key, row["person_key"])] == row["alert_id"], row
    episodes_started = {(e.start, *e.alert.subject) for e in result.episodes.values()}
    new_alerts = {
        (date.fromisoformat(r["alert_date"]), r["rule_code"], r["household_id"], r["person_key"])
        for r in _csv("alerts.csv")
        if r["is_new"] == "true"
    }
    assert episodes_started == new_alerts


@requires_samples
def test_cases_with_default_deadlines() -> None:
    expected = _rows("cases.csv")
    got = _compute().rows()
    assert _sorted(got) == _sorted(expected)
    assert len(got) == 47
    assert not any(c.is_overdue for c in _compute().cases)


@requires_samples
def test_cases_with_zero_days() -> None:
    expected = _rows("cases_zero_days.csv")
    result = _compute(v_high=0, v_medium=0, resolve=0)
    assert _sorted(result.rows()) == _sorted(expected)
    newly = {day: len(result.overdue(day)) for day in (D1, D2, D3)}
    assert newly[D1] == 0 and newly[D2] > 0 and newly[D3] > 0


@requires_samples
def test_sample_casework_acceptance_and_reasons() -> None:
    result = _compute()
    rejected = {(r.folder_date, r.line_no): r for r in result.rejected}
    assert {(d.folder_date, d.line_no) for d in result.accepted} == {
        (D2, 2),
        (D2, 3),
        (D2, 4),
        (D3, 2),
        (D3, 3),
        (D3, 4),
    }
    assert rejected[(D2, 5)].kinds == {"decided_on"}
    assert "before the episode start" in rejected[(D2, 5)].reason
    assert "malformed" in rejected[(D2, 6)].reason
    assert rejected[(D3, 5)].kinds == {"decided_on"}
    assert "not a date" in rejected[(D3, 5)].reason
    assert "unknown" in rejected[(D3, 6)].reason
    assert "after the folder date" in rejected[(D3, 7)].reason
    assert len(rejected) == 5
    notes = {d.note for d in result.accepted}
    assert '户主称"已就业",待复核' in notes and "电话核实,情况属实" in notes


@requires_samples
def test_an_overdue_case_row_for_overdue_csv() -> None:
    result = _compute(v_high=0, v_medium=0, resolve=0)
    rows = result.overdue(D2)
    assert rows == sorted(rows)
    confirmed = [r for r in rows if r[0] == "87404fbf532af0448ca5b35f7e677227"]
    assert confirmed == [
        (
            "87404fbf532af0448ca5b35f7e677227",
            "A04",
            "medium",
            "13082500000001",
            "",
            "130825",
            "2026-10-01",
            "CONFIRMED",
            "2026-10-01",
        )
    ]


# ---------------------------------------------------------------- working days


@pytest.fixture(scope="module")
def calendar() -> followup.Calendar:
    return followup.Calendar.from_csv()


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        ("2026-10-09", 1, "2026-10-10"),  # make-up Saturday counts
        ("2026-10-10", 1, "2026-10-12"),  # Sunday 10-11 does not
        ("2026-10-02", 1, "2026-10-08"),  # 10-03..10-07 holidays (10-05 a Monday)
        ("2026-10-04", 1, "2026-10-08"),  # holiday weekday 10-05/06/07 do not count
        ("2026-09-18", 1, "2026-09-20"),  # Sunday make-up day 09-20 counts
        ("2026-09-19", 1, "2026-09-20"),
        ("2026-09-20", 1, "2026-09-21"),
        ("2026-09-24", 1, "2026-09-28"),  # Mid-Autumn 09-25 (Friday) rests
        ("2026-10-01", 5, "2026-10-13"),
        ("2026-10-01", 10, "2026-10-20"),
        ("2026-10-01", 20, "2026-11-03"),
        ("2026-10-03", 0, "2026-10-03"),  # X + 0 = X on a holiday
        ("2026-10-11", 0, "2026-10-11"),  # and on a Sunday
        ("2026-12-31", 1, "2027-01-01"),  # beyond 2026: only weekends rest
        ("2026-12-31", 2, "2027-01-04"),
        ("2027-02-05", 5, "2027-02-12"),
        ("2027-10-01", 1, "2027-10-04"),  # 2027 holidays unknown: a plain Monday
        ("2025-12-31", 1, "2026-01-04"),  # New Year 01-01..03 rest, 01-04 Sunday make-up
    ],
)
def test_working_days(calendar: followup.Calendar, start: str, n: int, due: str) -> None:
    assert calendar.add(date.fromisoformat(start), n) == date.fromisoformat(due)


def test_working_day_kinds(calendar: followup.Calendar) -> None:
    assert calendar.is_workday(date(2026, 10, 10))  # make-up Saturday
    assert calendar.is_workday(date(2026, 9, 20))  # make-up Sunday
    assert not calendar.is_workday(date(2026, 10, 5))  # holiday Monday
    assert not calendar.is_workday(date(2026, 10, 11))  # plain Sunday
    assert calendar.is_workday(date(2026, 10, 9))  # plain Friday
    assert calendar.covers == {2026}
    with pytest.raises(ValueError, match="workdays"):
        calendar.add(date(2026, 10, 1), -1)


# ---------------------------------------------------------------- alert_id and episodes


def test_alert_id_is_sha256_prefix() -> None:
    assert (
        followup.alert_id("A03", "44010500000002", "", date(2026, 10, 2))
        == "bfb1aba79de8ba38367ea7b784ba05c2"
    )


def _alert(rule: str = "A03", household: str = "44010500000002") -> followup.Alert:
    return followup.Alert(rule, household, "", followup.SEVERITY[rule], household[:6])


def test_episode_restarts_after_a_processed_gap_not_an_unprocessed_day() -> None:
    a = _alert()
    # 10-02 not processed: the episode of 10-01 goes on on 10-03
    result = followup.compute({D1: [a], D3: [a]}, None)
    assert len(result.episodes) == 1
    # 10-02 processed without the alert: 10-03 starts a new episode, new id
    result = followup.compute({D1: [a], D2: [], D3: [a]}, None)
    assert len(result.episodes) == 2
    assert result.alert_ids[(D3, "A03", a.household_id, "")] == followup.alert_id(
        "A03", a.household_id, "", D3
    )


# ---------------------------------------------------------------- casework files


def _deliver(landing: Path, day: date, body: str) -> None:
    folder = landing / "casework" / day.isoformat()
    folder.mkdir(parents=True)
    (folder / followup.FILE_NAME).write_text(
        "alert_id,status,decided_on,handler,note\n" + body, encoding="utf-8"
    )
    (folder / "_manifest.json").write_text(
        json.dumps(
            {
                "source": "casework",
                "extract_date": day.isoformat(),
                "files": [{"name": followup.FILE_NAME, "rows": 0, "sha256": ""}],
            }
        ),
        encoding="utf-8",
    )


def test_records_spanning_lines_keep_their_first_line() -> None:
    text = 'h1,h2\na,"x\ny, ""z"""\nb,c\r\nd,"open\ne,f\n'
    records = list(followup.split_records(text))
    assert [(r.line_no, r.fields, r.problem) for r in records] == [
        (1, ("h1", "h2"), None),
        (2, ("a", 'x\ny, "z"'), None),
        (4, ("b", "c"), None),
        (5, (), "quote left open"),
        (6, ("e", "f"), None),
    ]
    assert records[1].raw == 'a,"x\ny, ""z"""'


def test_state_order_duplicates_and_rejections(tmp_path: Path) -> None:
    a = _alert("A02")
    aid = followup.alert_id("A02", a.household_id, "", D1)
    d4, d5 = date(2026, 10, 4), date(2026, 10, 5)
    _deliver(
        tmp_path,
        D2,
        f'{aid},VERIFYING,2026-10-02,S1,"a note, with ""quotes""\nand a line break"\n'
        f"{aid},CONFIRMED,2026-10-01,S2,\n"
        f'{aid},VERIFYING,2026-10-02,S1,"a note, with ""quotes""\nand a line break"\n'
        f"{aid},verifying,2026-10-02,S3,\n"
        f"{aid},DISMISSED,2026-10-03,S3,\n"
        f"{aid},DISMISSED,,S3,\n"
        f"{aid},DISMISSED,2026-10-02\n",
    )
    # later folder, same decided_on: wins over 10-02's VERIFYING
    _deliver(tmp_path, D3, f"{aid},CONFIRMED,2026-10-02,S4,\n{aid},CONFIRMED,2026-10-02,S4,\n")
    # an older decision delivered later does not override a newer one
    _deliver(tmp_path, d4, f"{aid},DISMISSED,2026-10-01,S5,\n")
    holding = {D1: [a], D2: [a], D3: [a], d4: [a], d5: [a]}
    result = followup.compute(holding, tmp_path, v_high=0, resolve=1)
    reasons = {(r.folder_date, r.line_no): r.reason for r in result.rejected}
    assert reasons == {
        (D2, 5): "exact duplicate of line 2 (counted once)",
        (D2, 7): "status: 'verifying' not one of VERIFYING, CONFIRMED, DISMISSED, RESOLVED",
        (D2, 8): "decided_on: 2026-10-03 after the folder date 2026-10-02",
        (D2, 9): "decided_on: not a date ''",
        (D2, 10): "wrong number of fields: expected 5, got 3",
        (D3, 3): "exact duplicate of line 2 (counted once)",
    }
    states = {c.as_of_date: (c.state, c.state_date, c.resolve_due) for c in result.cases}
    assert states[D1] == ("OPEN", None, None)
    assert states[D2] == ("VERIFYING", D2, None)
    assert states[D3] == ("CONFIRMED", D2, date(2026, 10, 8))
    assert states[d4] == states[D3]
    overdue = {c.as_of_date: (c.is_overdue, c.is_newly_overdue) for c in result.cases}
    # V = 0: overdue from 10-02 while OPEN/VERIFYING; CONFIRMED 10-02 + 1 = 10-08
    assert overdue == {
        D1: (False, False),
        D2: (True, True),
        D3: (False, False),
        d4: (False, False),
        d5: (False, False),
    }


def test_casework_for_an_episode_starting_on_the_folder_date_is_rejected(
    tmp_path: Path,
) -> None:
    a = _alert()
    aid = followup.alert_id("A03", a.household_id, "", D2)
    _deliver(tmp_path, D2, f"{aid},VERIFYING,2026-10-02,S1,\n")
    _deliver(tmp_path, D3, f"{aid},VERIFYING,2026-10-02,S1,\n")
    result = followup.compute({D1: [], D2: [a], D3: [a]}, tmp_path)
    assert [(r.folder_date, r.kinds) for r in result.rejected] == [(D2, {"alert_id"})]
    assert [(d.folder_date, d.status) for d in result.accepted] == [(D3, "VERIFYING")]


def test_newly_overdue_after_unprocessed_days() -> None:
    a = _alert("A01")
    start = date(2026, 9, 30)
    # 10-01 and 10-02 not processed: the episode of 09-30 goes on and falls overdue
    # (V = 0) on the next processed date, 10-03, newly; and stays so without "newly"
    result = followup.compute({start: [a], D3: [a], date(2026, 10, 4): [a]}, None, v_high=0)
    flags = [(c.as_of_date, c.is_overdue, c.is_newly_overdue) for c in result.cases]
    assert flags == [
        (start, False, False),
        (D3, True, True),
        (date(2026, 10, 4), True, False),
    ]
    assert result.overdue(D3)[0][-2:] == ("OPEN", "2026-09-30")


# ---------------------------------------------------------------- the case-system simulator


def _publish(feed: Path, day: date, result: followup.Result, alerts: list[followup.Alert]) -> None:
    """A feed folder of ``day``: its new alerts (episode starts) with alert_id."""
    folder = feed / day.isoformat()
    folder.mkdir(parents=True)
    with open(folder / "alerts.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("alert_id", "alert_date", "rule_code", "episode_start", "is_new"))
        for alert in alerts:
            aid = result.alert_ids[(day, *alert.subject)]
            if result.episodes[aid].start == day:
                writer.writerow((aid, day, alert.rule_code, day, "true"))
    (folder / "_manifest.json").write_text("{}", encoding="utf-8")


def test_simulated_casework_is_judged_as_meant(tmp_path: Path) -> None:
    from safetynet_dev.synth import casework

    days = [date(2026, 9, 18) + timedelta(days=i) for i in range(6)]
    pool = [_alert(("A01", "A03")[i % 2], f"13080{i:09d}") for i in range(400)]
    # alert i holds on day k unless (i + k) % 7 == 0: episodes end and come back
    holding = {d: [a for i, a in enumerate(pool) if (i + k) % 7] for k, d in enumerate(days)}
    landing, feed = tmp_path / "landing", tmp_path / "feed"
    for k, day in enumerate(days):
        casework.deliver(landing, feed, day, seed=5)
        result = followup.compute({d: holding[d] for d in days[: k + 1]}, landing)
        _publish(feed, day, result, holding[day])
    first = (landing / "casework" / days[0].isoformat() / "dispositions.csv").read_bytes()
    assert first == b"alert_id,status,decided_on,handler,note\n"  # no feed yet
    result = followup.compute(holding, landing, v_high=1, v_medium=2, resolve=1)
    # the manifest counts records; a second delivery gives the same bytes
    for day in days:
        folder = landing / "casework" / day.isoformat()
        listed = json.loads((folder / "_manifest.json").read_text())["files"][0]
        records = followup.read_dispositions(folder / "dispositions.csv")
        assert listed["rows"] == len(records)
        again = casework.deliver(tmp_path / "again", feed, day, seed=5)
        assert (again / "dispositions.csv").read_bytes() == (
            folder / "dispositions.csv"
        ).read_bytes()
    # every decision of an alert's life is accepted; what is rejected was meant to be
    meant = {
        (e.delivered, e.row())
        for aid, episode in result.episodes.items()
        for e in casework.life(
            casework.FeedAlert(aid, episode.alert.rule_code, episode.start, episode.start),
            seed=5,
        )
        if e.delivered <= days[-1]
    }
    accepted = {
        (d.folder_date, d.alert_id, d.status, d.decided_on.isoformat()) for d in result.accepted
    }
    assert {(day, *row[:3]) for day, row in meant} <= accepted
    kinds = Counter(kind for r in result.rejected for kind in r.kinds)
    assert set(kinds) == {"duplicate", "alert_id", "status", "decided_on"}, kinds
    bad = sum(1 for r in result.rejected if r.kinds != {"duplicate"})
    assert 0.01 * len(result.accepted) < bad < 0.06 * len(result.accepted)
    assert any("\n" in d.note for d in result.accepted)
    assert any('"' in d.note and "," in d.note for d in result.accepted)
    states = Counter(c.state for c in result.cases if c.as_of_date == days[-1])
    assert set(states) == {"OPEN", "VERIFYING", "CONFIRMED", "DISMISSED", "RESOLVED"}, states
    assert sum(len(result.overdue(d)) for d in days) > 0
