"""History in little space, point in time kept (issue 23, docs/history-design.md 4.5).

Real Airflow runs of safetynet_daily with a window of one processed date
(``SAFETYNET_SNAPSHOT_WINDOW_DAYS=1``): every run ends with ``compact_history``, which
folds every older date into the change history. One warehouse, in this order:

- **window of 1**, four days: after each run only D's raw snapshot partitions and
  D's ``__recent`` mart rows are left, and every earlier date's public marts
  (``marts.<name>``, views over the window and the history) still give the rows that
  date's own run wrote (count and md5 of the rows' text);
- **re-run older than the window**: day 1 (folded, its raw partitions dropped) is
  re-run; the loader reloads it from the landing folder (the archive of record) and the
  marts and the feed are byte for byte those of its first run;
- **compaction beside a run**: while another run holds the warehouse lease the
  compaction is deferred (nothing folded, the task's step succeeds), the next one
  catches up (day 1 folded again: the history is unchanged, every date as before);
- **discard of an old re-run**: a re-run of folded day 2 that fails after dbt_build
  leaves day 2 unprocessed (no public rows, no calendar rows, skipped by the
  processed dates), and the other dates as they were, also after the next compaction;
- **whole-history reads from the versions**: after every step above, ``alert_episodes``
  and the episode starts (``int_followup__episode_starts``) equal their per-date
  definition over the public views (EXCEPT ALL both ways), also while a folded date is
  re-built in the window;
- **population band with W=1**: a re-run of day 4 whose population drops far below
  day 3's (folded) fails the band check (a warning in this deployment: README,
  ``SAFETYNET_POPULATION_BAND``), which read day 3's count from the history.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

import pytest
from conftest import DAY_FINGERPRINT, Stack, isolated_stack

from safetynet import history, pipeline, runlock, warehouse
from safetynet.history.specs import MART_SPECS, RAW_SPECS
from safetynet_dev.synth import damage, generator

pytestmark = pytest.mark.e2e

DAYS = ["2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04"]
W1 = {"SAFETYNET_SNAPSHOT_WINDOW_DAYS": "1"}


@dataclass
class Windowed:
    """The warehouse, and what each day's own first run left (day_state right after it)."""

    stack: Stack
    first: dict[str, tuple] = field(default_factory=dict)
    leftovers: dict[str, dict[str, set[str]]] = field(default_factory=dict)


def _errors(output: str) -> str:
    lines = [
        line[:400]
        for line in output.splitlines()
        if "error" in line.lower() or "failed" in line.lower()
    ]
    return "\n".join(lines[-40:])


def _run(stack: Stack, day: str, name: str, **env: str) -> str:
    run = stack.run_dag(day, **env)
    output = run.stdout + run.stderr
    (stack.reports / f"run-{name}.log").write_text(output)
    assert run.returncode == 0, _errors(output)
    return output


def _dates_left(stack: Stack) -> dict[str, set[str]]:
    """The dates still held whole: per raw snapshot table and per ``__recent`` table."""
    left = {}
    for spec in RAW_SPECS + MART_SPECS:
        table = f"{spec.schema}.{spec.snapshot_table}"
        rows = stack.query(f"select distinct {spec.date_column}::text from {table}")
        left[table] = {r[0] for r in rows}
    return left


def _public(stack: Stack, day: str) -> dict[str, tuple]:
    """Count and md5 of the rows' text of ``day`` in every public mart (day_state reads
    the public names: a folded date is rebuilt from the history)."""
    return stack.day_state(day)[0]


def _history_tables(stack: Stack) -> dict[str, tuple]:
    """Every version of every history table (count, md5 of the sorted rows' text) and the
    calendar without its run and batch (a reload of a raw date has a new batch)."""
    tables = stack.query(
        """select n.nspname || '.' || c.relname from pg_class c
           join pg_namespace n on n.oid = c.relnamespace
           where c.relkind = 'r' and c.relname ~ '__(hist|histv|histv_packed|keys)$'"""
    )
    state = {
        name: stack.query(
            f"""select count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), ''))
                from {name} t"""
        )[0]
        for (name,) in tables
    }
    state["audit.history_days"] = stack.query(
        """select count(*), md5(string_agg(concat_ws('|', table_name, extract_date, rows,
                  text_md5), ',' order by table_name, extract_date))
           from audit.history_days"""
    )[0]
    return state


def _processed(stack: Stack) -> list[str]:
    """The processed dates as dbt's macros see them (recent rows or calendar rows)."""
    rows = stack.query(
        """select as_of_date::text from marts.low_income_population__recent
           union select extract_date::text from audit.history_days
           where table_name = 'low_income_population' order by 1"""
    )
    return [r[0] for r in rows]


# the per-date definitions over the public views (what alert_episodes and the episode
# starts were before issue 23's reads from the versions): the equality reference
PER_DATE_EPISODES = """
with latest as (
    select greatest(
        (select max(as_of_date) from marts.low_income_population__recent),
        (select max(extract_date) from audit.history_days
         where table_name = 'low_income_population')) as processed_date),
cases as (
    select c.* from marts.alert_cases c join latest on c.as_of_date <= latest.processed_date),
held as (
    select alert_id, max(as_of_date) as last_held_date, count(*)::integer as held
    from cases group by alert_id),
latest_case as (
    select distinct on (alert_id) * from cases order by alert_id, as_of_date desc)
select l.alert_id, l.rule_code, l.rule_name, l.severity, l.household_id, l.person_key,
       l.region_code, l.episode_start, h.last_held_date, h.held,
       h.last_held_date = latest.processed_date, l.state, l.state_date,
       l.first_decision_date, l.is_overdue,
       h.last_held_date < latest.processed_date
       and l.state in ('OPEN', 'VERIFYING', 'CONFIRMED')
from latest_case l join held h using (alert_id) cross join latest"""
PER_DATE_STARTS = """
select alert_id, rule_code, region_code, episode_start from marts.monitoring_alerts
where alert_date <= %(d)s and alert_date = episode_start"""
FROM_VERSIONS_STARTS = """
select alert_id, rule_code, region_code, episode_start
from intermediate.int_followup__episode_starts where episode_start <= %(d)s"""


def _differences(stack: Stack, new: str, old: str, params: dict[str, str]) -> tuple:
    """(rows only in ``new``, rows only in ``old``, rows of ``new``): EXCEPT ALL both ways."""
    return stack.query(
        f"""with new as ({new}), old as ({old})
            select (select count(*) from (select * from new except all select * from old) a),
                   (select count(*) from (select * from old except all select * from new) b),
                   (select count(*) from new)""",
        params,
    )[0]


def _assert_history_reads_match(stack: Stack) -> int:
    """alert_episodes and the episode starts, read from the versions, equal their per-date
    definitions over the public views (issue 23, docs/history.md "Known limits"). Returns
    the number of episodes."""
    definition = stack.query("select pg_get_viewdef('marts.alert_episodes'::regclass)")[0][0]
    assert "alert_cases__hist" in definition, "alert_episodes reads the versions"
    only_new, only_old, episodes = _differences(
        stack, "select * from marts.alert_episodes", PER_DATE_EPISODES, {}
    )
    assert (only_new, only_old) == (0, 0), f"alert_episodes: {only_new} new, {only_old} old"
    for day in [*DAYS, "2026-09-30"]:
        only_new, only_old, _ = _differences(
            stack, FROM_VERSIONS_STARTS, PER_DATE_STARTS, {"d": day}
        )
        assert (only_new, only_old) == (0, 0), f"episode starts <= {day}"
    return episodes


@pytest.fixture(scope="module")
def windowed(local_stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Windowed]:
    root = tmp_path_factory.mktemp("history")
    with isolated_stack(local_stack, root, "t_history_e2e") as stack:
        generator.generate(root / "pristine", 150, date(2026, 10, 1), len(DAYS), seed=7)
        shutil.copytree(root / "pristine", stack.landing)
        state = Windowed(stack)
        for day in DAYS:
            _run(stack, day, f"first-{day}", **W1)
            state.first[day] = stack.day_state(day)
            state.leftovers[day] = _dates_left(stack)
        yield state


def test_a_window_of_one_keeps_only_the_day_and_every_date_queryable(
    windowed: Windowed,
) -> None:
    stack = windowed.stack
    for day in DAYS:
        left = windowed.leftovers[day]
        assert all(dates == {day} for dates in left.values()), f"after {day}'s run: {left}"
        marts, feed = windowed.first[day]
        assert all(count > 0 for table, (count, _) in marts.items() if "alert" not in table)
        assert feed, f"{day} published"
    folded = stack.query(
        "select table_name, extract_date::text from audit.history_days order by 1, 2"
    )
    names = {spec.table for spec in RAW_SPECS + MART_SPECS}
    assert set(folded) == {(name, day) for name in names for day in DAYS[:-1]}
    for day in DAYS:  # the public marts of every date: as its own run wrote them
        assert _public(stack, day) == windowed.first[day][0], day
    assert _processed(stack) == DAYS
    assert _assert_history_reads_match(stack) > 0
    folded = stack.query(
        """select count(*) from intermediate.int_followup__episode_starts
           where episode_start < %s""",
        (DAYS[-1],),
    )
    assert folded[0][0] > 0, "episode starts read from the versions"


def test_a_rerun_older_than_the_window_is_byte_for_byte_and_compaction_waits(
    windowed: Windowed, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack, day1 = windowed.stack, DAYS[0]
    before = _history_tables(stack)
    assert stack.query(
        "select count(*) from raw.civil_affairs_households where extract_date = %s", (day1,)
    ) == [(0,)]
    # re-run day 1 with a window wide enough that its own compaction keeps it whole
    _run(stack, day1, "rerun-day1", SAFETYNET_SNAPSHOT_WINDOW_DAYS="4")
    assert stack.day_state(day1) == windowed.first[day1]  # marts and feed
    for table, column in pipeline.MART_DATE_COLUMNS.items():  # read from the window
        rebuilt = stack.query(DAY_FINGERPRINT.format(table=table, column=column), (day1,))[0]
        assert rebuilt == windowed.first[day1][0][table.removesuffix(pipeline.RECENT)], table
    reloaded = stack.query(
        "select count(*) from raw.civil_affairs_households where extract_date = %s", (day1,)
    )
    assert reloaded[0][0] > 0, "day 1 reloaded from the landing folder"
    assert stack.query(
        "select count(*) > 0 from marts.alert_cases__recent where as_of_date = %s", (day1,)
    ) == [(True,)], "day 1 re-built in the window while folded"
    _assert_history_reads_match(stack)

    # the next compaction (W=1) while another run holds the warehouse: deferred
    for name, value in stack.environ(**W1, SAFETYNET_LEASE_WAIT="1").items():
        monkeypatch.setenv(name, value)
    runlock.acquire(stack.url, "another-run", date(2026, 10, 9), wait=0)
    try:
        assert pipeline.compact_history(date.fromisoformat(DAYS[-1]), "compact-1") == {
            "deferred": True
        }
        by_hand = subprocess.run(  # make compact: the same lease, deferred too
            [sys.executable, "-m", "safetynet.history", "compact"],
            env=stack.environ(**W1, SAFETYNET_LEASE_WAIT="1"),
            capture_output=True,
            text=True,
            check=False,
        )
        assert by_hand.returncode == 75 and "deferred" in by_hand.stderr, by_hand.stderr[-2000:]
    finally:
        runlock.release(stack.url, "another-run", date(2026, 10, 9))
    assert stack.day_state(day1) == windowed.first[day1], "nothing folded"
    assert _history_tables(stack) == before
    deferred = stack.query(
        "select count(*) from audit.run_summaries where stage = 'compaction_deferred'"
    )
    assert deferred == [(1,)]

    # the next one catches up: day 1 folded again, the history as it was
    caught_up = pipeline.compact_history(date.fromisoformat(DAYS[-1]), "compact-2")
    assert not caught_up["deferred"] and caught_up["stopped"] is None, caught_up
    assert {f["table"] for f in caught_up["folded"]} >= {spec.table for spec in MART_SPECS}
    assert _history_tables(stack) == before
    assert _dates_left(stack) == windowed.leftovers[DAYS[-1]]
    for day in DAYS:
        assert _public(stack, day) == windowed.first[day][0], day
    _assert_history_reads_match(stack)
    assert stack.query("select count(*) from audit.run_lease") == [(0,)]


def test_a_failed_rerun_of_a_folded_day_is_discarded(
    windowed: Windowed, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack, day2 = windowed.stack, DAYS[1]
    # publish_feed's marts gate fails after dbt_build re-built day 2 (folded): a trigger
    # refuses its marts check results (as in test_failure_path)
    with warehouse.connect(stack.url) as conn:
        conn.execute(
            """create function audit.test_refuse_marts_results() returns trigger
               language plpgsql as $$ begin
                 raise exception 'test_refuse_marts_results'; end $$"""
        )
        conn.execute(
            f"""create trigger test_refuse_marts_results before insert on audit.dq_results
                for each row when (new.extract_date = date '{day2}'
                                   and new.suite like 'marts.%')
                execute function audit.test_refuse_marts_results()"""
        )
    try:
        run = stack.run_dag(day2, **W1)
        output = run.stdout + run.stderr
        (stack.reports / "run-rerun-day2-fails.log").write_text(output)
        assert run.returncode != 0 and "test_refuse_marts_results" in output, _errors(output)
    finally:
        with warehouse.connect(stack.url) as conn:
            conn.execute("drop trigger test_refuse_marts_results on audit.dq_results")
            conn.execute("drop function audit.test_refuse_marts_results()")
    assert {count for count, _ in _public(stack, day2).values()} == {0}
    assert stack.day_state(day2)[1] == {}, "feed withdrawn"
    calendar = stack.query(
        "select table_name from audit.history_days where extract_date = %s", (day2,)
    )
    assert {name for (name,) in calendar} == {spec.table for spec in RAW_SPECS}
    assert day2 not in _processed(stack)
    assert stack.query(
        """select greatest(
               (select max(as_of_date) from marts.low_income_population__recent
                where as_of_date < %(d)s),
               (select max(extract_date) from audit.history_days
                where table_name = 'low_income_population' and extract_date < %(d)s))::text""",
        {"d": DAYS[2]},
    ) == [(DAYS[0],)], "latest_processed_date_before(day 3) skips day 2"
    assert stack.query("select count(*) from audit.run_lease") == [(0,)]
    for name, value in stack.environ(**W1).items():
        monkeypatch.setenv(name, value)
    history.compact(stack.url, 1)  # the versions at day 2 are normalised
    for day in (DAYS[0], DAYS[2], DAYS[3]):
        assert _public(stack, day) == windowed.first[day][0], day
    assert {count for count, _ in _public(stack, day2).values()} == {0}
    _assert_history_reads_match(stack)


def test_the_population_band_sees_a_jump_when_the_day_before_is_folded(
    windowed: Windowed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The band check of D (a warning: README, SAFETYNET_POPULATION_BAND) reads D - 1's
    population through the public view, from the history when D - 1 is folded."""
    stack, day3, day4 = windowed.stack, DAYS[2], DAYS[3]
    population = "marts.low_income_population"
    assert stack.query(
        f"select count(*) from {population}__recent where as_of_date = %s", (day3,)
    ) == [(0,)], "day 3 is folded"
    count3 = windowed.first[day3][0][population][0]
    for name, value in stack.environ(**W1).items():
        monkeypatch.setenv(name, value)
    band = pipeline._population_band(stack.url, date.fromisoformat(day4))
    assert band["population_min"] == int(count3 * 0.8) > 0  # read from the history
    count4 = windowed.first[day4][0][population][0]
    assert band["population_min"] <= count4 <= band["population_max"], "day 4 passed"
    assert not _band_failed(stack, day4)

    # day 4 delivered again with every bank balance x 1000: the asset test fails for
    # every household not enrolled in DIBAO/TEKUN, the population drops far below day 3's
    folder = damage.folder(stack.landing, "bank", day4)
    saved = stack.reports / "bank-day4"
    shutil.copytree(folder, saved)
    balances = next(folder.glob("balances_*"))
    header, records = damage.read_records(balances)
    damage.write_records(balances, header, [[*r[:4], r[4] + "000", *r[5:]] for r in records])
    damage.rewrite_manifest(folder)
    try:
        _run(stack, day4, "day4-jump", **W1)  # a warning: the day is published
    finally:
        shutil.rmtree(folder)
        shutil.copytree(saved, folder)
    jumped = stack.query(
        "select count(*) from marts.low_income_population where as_of_date = %s", (day4,)
    )[0][0]
    assert 0 < jumped < band["population_min"], (jumped, band)
    assert _band_failed(stack, day4), "the band check of day 4 failed (warning)"
    _assert_history_reads_match(stack)


def _band_failed(stack: Stack, day: str) -> bool:
    """The latest band check of ``day`` failed (the warning row-count check)."""
    rows = stack.query(
        """select success from audit.dq_results
           where extract_date = %s and suite = 'marts.low_income_population'
             and expectation = 'expect_table_row_count_to_be_between' and severity = 'warning'
           order by checked_at desc limit 1""",
        (day,),
    )
    assert rows, f"no band check of {day}"
    return not rows[0][0]
