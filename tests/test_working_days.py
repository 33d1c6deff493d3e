"""Working-day arithmetic of contract section 9, through dbt and PostgreSQL.

The macro ``add_working_days`` over the model ``int_followup__working_days``
(seed ``workdays`` = contract/reference/workdays.csv) is the one place the
deadlines are counted. Checked here on the rules' edge cases (a make-up
Saturday counts, a holiday weekday does not, the count starts the day after
X, X + 0 = X even on a rest day, past the calendar's last year only the
weekend rule applies), on ``working_days_between``, and against a plain
Python count over every start date of four months.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import CONTRACT, ROOT, create_database, drop_database

from safetynet import warehouse
from safetynet_dev.docs import dbt_environment

pytestmark = pytest.mark.integration
PROJECT = ROOT / "dbt_project"
DBT = str(Path(sys.executable).parent / "dbt")
# dbt's target and log folders of this module (never the project's own target/)
SCRATCH = Path(tempfile.mkdtemp(prefix="safetynet_working_days_"))

# (X, n, X + n working days) on the 2026 State Council arrangement
EDGE_CASES = [
    # count starts the day after X; 2026-10-10 is a make-up Saturday (workday)
    ("2026-10-09", 1, "2026-10-10"),
    # 10-01..10-07 are holidays (10-01 a Thursday): 10-08 is the first working day
    ("2026-09-30", 1, "2026-10-08"),
    ("2026-10-01", 5, "2026-10-13"),  # 08, 09, 10 (Sat, make-up), 12, 13
    ("2026-10-01", 10, "2026-10-20"),
    ("2026-10-01", 20, "2026-11-03"),
    # a listed holiday on a weekday is not counted (Mid-Autumn Friday 09-25)
    ("2026-09-24", 1, "2026-09-28"),
    # make-up Sunday 2026-09-20 counts
    ("2026-09-19", 1, "2026-09-20"),
    # X + 0 = X, even on a rest day or a holiday
    ("2026-10-04", 0, "2026-10-04"),
    ("2026-10-01", 0, "2026-10-01"),
    ("2026-10-08", 0, "2026-10-08"),
    # an ordinary weekend
    ("2026-11-06", 1, "2026-11-09"),
    ("2026-11-07", 1, "2026-11-09"),
    # past the calendar's last year (2026): weekends only, 2027-01-01 (a Friday) works
    ("2026-12-31", 1, "2027-01-01"),
    ("2027-01-01", 1, "2027-01-04"),
    ("2027-09-30", 5, "2027-10-07"),
]


@pytest.fixture(scope="module")
def calendar_db(local_stack) -> Iterator[str]:
    """A database holding the seed and the calendar model only."""
    name = "t_working_days"
    url = create_database(local_stack, name)
    try:
        dbt("seed", "-s", "workdays", url=url)
        dbt("run", "-s", "int_followup__working_days", url=url)
        yield url
    finally:
        drop_database(local_stack, name)


def dbt(*args: str, url: str, as_of: str = "2026-10-01", env: dict | None = None) -> str:
    run = subprocess.run(
        [
            DBT,
            "--quiet",
            *args,
            "--project-dir",
            str(PROJECT),
            "--profiles-dir",
            str(PROJECT),
            "--vars",
            f"{{as_of_date: '{as_of}'}}",
            "--target-path",
            str(SCRATCH / "target"),
            "--log-path",
            str(SCRATCH / "logs"),
        ],
        check=False,
        env={**dbt_environment(url), **(env or {})},
        capture_output=True,
        text=True,
        cwd=PROJECT,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run.stdout


def compiled(url: str, inline: str) -> str:
    """The SQL dbt compiles for ``inline`` (macros and refs resolved)."""
    return dbt("compile", "--inline", inline, url=url)


def python_add(calendar: dict[date, str], start: date, workdays: int) -> date:
    """Plain statement of section 9: the n-th working day after start."""

    def working(day: date) -> bool:
        kind = calendar.get(day)
        return kind == "workday" if kind else day.weekday() < 5

    day, left = start, workdays
    while left:
        day += timedelta(days=1)
        left -= working(day)
    return day


def test_edge_cases(calendar_db: str) -> None:
    values = ", ".join(f"(date '{x}', {n})" for x, n, _ in EDGE_CASES)
    sql = compiled(
        calendar_db,
        "select x::text, n, {{ add_working_days('x', 'n') }}::text as due "
        f"from (values {values}) as cases (x, n)",
    )
    with warehouse.connect(calendar_db) as conn:
        got = [tuple(r) for r in conn.execute(sql).fetchall()]
    assert got == EDGE_CASES


def test_null_start_gives_null(calendar_db: str) -> None:
    sql = compiled(calendar_db, "select {{ add_working_days('cast(null as date)', 5) }} as due")
    with warehouse.connect(calendar_db) as conn:
        assert conn.execute(sql).fetchone() == (None,)


def test_working_days_between_inverts_add(calendar_db: str) -> None:
    sql = compiled(
        calendar_db,
        "select {{ working_days_between(\"date '2026-10-01'\", \"date '2026-10-13'\") }},"
        " {{ working_days_between(\"date '2026-10-08'\", \"date '2026-10-08'\") }},"
        " {{ working_days_between(\"date '2026-10-01'\", \"date '2026-10-07'\") }}",
    )
    with warehouse.connect(calendar_db) as conn:
        assert conn.execute(sql).fetchone() == (5, 0, 0)


def test_every_start_date_agrees_with_a_plain_count(calendar_db: str) -> None:
    with open(CONTRACT / "reference" / "workdays.csv", encoding="utf-8", newline="") as handle:
        calendar = {date.fromisoformat(r["date"]): r["kind"] for r in csv.DictReader(handle)}
    starts = [date(2026, 9, 1) + timedelta(days=i) for i in range(150)]
    sql = compiled(
        calendar_db,
        "select x::text, n, {{ add_working_days('x', 'n') }}::text"
        " from generate_series(date '2026-09-01', date '2027-01-28', interval '1 day') as x_day"
        " cross join lateral (select cast(x_day as date) as x) as start_day"
        " cross join (values (0), (1), (5), (10), (20)) as counts (n)",
    )
    with warehouse.connect(calendar_db) as conn:
        got = {(r[0], r[1]): r[2] for r in conn.execute(sql).fetchall()}
    want = {
        (x.isoformat(), n): python_add(calendar, x, n).isoformat()
        for x in starts
        for n in (0, 1, 5, 10, 20)
    }
    assert got == want


def test_the_seed_is_the_contract_calendar() -> None:
    seed = (PROJECT / "seeds" / "workdays.csv").read_bytes()
    assert seed == (CONTRACT / "reference" / "workdays.csv").read_bytes()


@pytest.mark.parametrize("bad", ["-1", "5 days", "1.5"])
def test_a_malformed_deadline_stops_the_run(calendar_db: str, bad: str) -> None:
    run = subprocess.run(
        [
            DBT,
            "compile",
            "-s",
            "alert_cases",
            "--project-dir",
            str(PROJECT),
            "--profiles-dir",
            str(PROJECT),
            "--vars",
            "{as_of_date: '2026-10-01'}",
            "--target-path",
            str(SCRATCH / "target"),
            "--log-path",
            str(SCRATCH / "logs"),
        ],
        check=False,
        env={**dbt_environment(calendar_db), "SAFETYNET_RESOLVE_WORKDAYS": bad},
        capture_output=True,
        text=True,
        cwd=PROJECT,
    )
    assert run.returncode != 0
    assert "SAFETYNET_RESOLVE_WORKDAYS must be a whole number" in run.stdout
