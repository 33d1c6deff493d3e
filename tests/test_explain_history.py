"""Explain an alert older than the snapshot window / 窗口外日期的预警解释 (issue 23,
docs/history-design.md 2.5 and 4 step 5), end to end.

About 300 generated households over two working days, run through Airflow. An alert
of each rule on day 1 is explained (``make explain``'s command line) while day 1 is in
the window; then day 1 is folded: by the compaction (``safetynet.history.compact``
with a window of 1) when it exists, else by hand, as the compaction does it (a row
per raw snapshot table in ``audit.history_days`` with the load batch that stood for
the date, then the partition dropped). Then:

* the raw partitions of day 1 are gone, explain restores them from the landing folder
  and cites exactly the same sources (file, line, sha256, batch_id, record), and every
  cited line, read back, holds the record;
* a day inside the window restores nothing;
* a landing file of day 1 replaced afterwards (or removed): explain exits 3, names
  the file and the sha256 mismatch, prints no raw id number and no traceback;
* the restore's time at this size is printed (docs/explain.md has the figures).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from conftest import ROOT, Stack, isolated_stack
from psycopg import sql
from test_explain import RAW_ID, alerts_per_rule, check_record, explain, physical_record

from safetynet import warehouse
from safetynet.explain import restore
from safetynet.ingest.rowcheck import partition_name
from safetynet.ingest.sources import SPECS
from safetynet_dev.synth.generator import generate

pytestmark = pytest.mark.e2e

START = date(2026, 10, 12)  # Monday
DAYS = [START, START + timedelta(days=1)]
HOUSEHOLDS = 300
KEY = "explain-history-key"
SNAPSHOT_SPECS = [s for s in SPECS if s.table in restore.SNAPSHOT_TABLES]
CALENDAR = """create table if not exists audit.history_days (
    table_name text not null, extract_date date not null, batch_id bigint,
    rows bigint not null, text_md5 text not null, run_id text,
    folded_at timestamptz not null default now(), primary key (table_name, extract_date))"""


def web_page(stack: Stack, alert_id: str, day: date) -> str:
    """The plugin's explain page (status, newline, HTML), rendered in a subprocess with
    the stack's settings, as the api-server would."""
    script = (
        "import sys; sys.path.insert(0, 'plugins'); import safetynet_docs_plugin as p; "
        f"r = p._explain_page('auditor', {alert_id!r}, {day.isoformat()!r}); "
        "print(r.status_code); print(r.body.decode())"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=stack.environ(),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def account_of(stack: Stack, alert_id: str, day: date) -> dict[str, Any]:
    done = explain(stack, alert_id, "--format", "json", "--date", day.isoformat())
    assert done.returncode == 0, done.stderr[-3000:]
    assert not RAW_ID.search(done.stdout), "a raw id number in the account"
    return json.loads(done.stdout)


def fold_by_hand(stack: Stack, day: date) -> None:
    """What the compaction leaves of a raw snapshot date (design 2.2, 2.3): its calendar
    row (the batch that stood for it, the row count) and no partition."""
    with warehouse.connect(stack.url) as conn:
        conn.execute(CALENDAR)
        for spec in SNAPSHOT_SPECS:
            table = sql.Identifier("raw", spec.table)
            conn.execute(
                sql.SQL(
                    """insert into audit.history_days
                           (table_name, extract_date, batch_id, rows, text_md5)
                       select {name}, %(d)s, max(batch_id), count(*),
                              md5(coalesce(string_agg(t::text, '|' order by t::text), ''))
                       from {table} t where extract_date = %(d)s"""
                ).format(name=sql.Literal(spec.table), table=table),
                {"d": day},
            )
            part = sql.Identifier("raw", partition_name(spec, day))
            conn.execute(sql.SQL("drop table {}").format(part))


def fold(stack: Stack, day: date) -> str:
    """Fold ``day`` (the newest date stays) by the compaction with a window of 1; by
    hand while the compaction or the marts' ``__recent`` tables it reads are absent."""
    try:
        from safetynet.history import compact
    except ImportError:  # the compaction of issue 23 not there yet
        compact = None
    wired = stack.query("select to_regclass('marts.low_income_population__recent')")
    if compact is None or wired == [(None,)]:
        fold_by_hand(stack, day)
        return "by hand"
    report = compact(stack.url, 1)
    assert day in {f.date for f in report.folded}, report
    return "compaction"


@pytest.fixture(scope="module")
def history(local_stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two days run; day 1's accounts recorded inside the window; then day 1 folded."""
    root = tmp_path_factory.mktemp("explain_history")
    with isolated_stack(local_stack, root, "t_explain_history", key=KEY) as stack:
        generate(stack.landing, HOUSEHOLDS, START, len(DAYS), seed=31)
        for day in DAYS:
            run = stack.run_dag(day.isoformat())
            assert run.returncode == 0, f"{day} failed:\n{run.stdout[-4000:]}"
        picked = alerts_per_rule(stack, DAYS[0])
        assert len(picked) >= 3, f"too few rules on {DAYS[0]}: {sorted(picked)}"
        with warehouse.connect(stack.url) as conn:
            assert restore.folded_tables(conn, DAYS[0]) == []  # in the window
        inside = {a: account_of(stack, a, DAYS[0]) for a in picked.values()}
        how = fold(stack, DAYS[0])
        print(f"\nday {DAYS[0]} folded {how}")
        yield {"stack": stack, "picked": picked, "inside": inside, "how": how}


def test_folded_day_has_no_raw_partitions(history: dict[str, Any]) -> None:
    stack: Stack = history["stack"]
    for spec in SNAPSHOT_SPECS:
        name = f"raw.{partition_name(spec, DAYS[0])}"
        assert stack.query("select to_regclass(%s)", (name,)) == [(None,)], name
        assert stack.query(
            f"select count(*) from raw.{spec.table} where extract_date = %s", (DAYS[0],)
        ) == [(0,)]
    with warehouse.connect(stack.url) as conn:
        folded = {f.table for f in restore.folded_tables(conn, DAYS[0])}
        assert folded == set(restore.SNAPSHOT_TABLES), history["how"]
        assert restore.folded_tables(conn, DAYS[1]) == []  # inside the window: nothing


def test_same_sources_after_the_fold(history: dict[str, Any]) -> None:
    stack: Stack = history["stack"]
    for rule, alert_id in sorted(history["picked"].items()):
        before = history["inside"][alert_id]
        after = account_of(stack, alert_id, DAYS[0])
        assert before["sources"], rule
        snapshot = {f"raw.{t}" for t in restore.SNAPSHOT_TABLES}
        assert snapshot & {s["table"] for s in before["sources"]}, rule
        assert after["sources"] == before["sources"], rule
        assert (after["evidence"], after["rule"]) == (before["evidence"], before["rule"])
        assert after == before, rule  # publication, checks, lineage: read by public names
        for source in after["sources"]:
            check_record(physical_record(stack, source), source, after["household_id"])


def test_restore_time(history: dict[str, Any]) -> None:
    """The restore of all five snapshot tables of one day (printed; docs/explain.md)."""
    stack: Stack = history["stack"]
    with warehouse.connect(stack.url) as conn:
        started = time.monotonic()
        relations = restore.restore(conn, stack.landing, DAYS[0], KEY)
        seconds = time.monotonic() - started
        counts = {
            t: conn.execute(
                sql.SQL("select count(*) from pg_temp.{}").format(sql.Identifier(t))
            ).fetchall()[0][0]
            for t in relations
        }
    assert set(relations) == set(restore.SNAPSHOT_TABLES)
    print(f"\nrestore of {DAYS[0]} ({HOUSEHOLDS} households, {counts}): {seconds:.2f} s")


@pytest.mark.parametrize("damage", ["replaced", "missing"])
def test_a_changed_landing_file_is_refused(history: dict[str, Any], damage: str) -> None:
    stack: Stack = history["stack"]
    alert_id = history["picked"][sorted(history["picked"])[0]]
    relative = f"civil_affairs/{DAYS[0].isoformat()}/households.csv"
    path = stack.landing / relative
    kept = path.with_name("households.csv.kept")
    shutil.copy2(path, kept)
    try:
        if damage == "replaced":  # the same rows, a space in the header: another file
            text = path.read_bytes().replace(b",", b", ", 1)
            assert text != kept.read_bytes()
            path.write_bytes(text)
        else:
            path.unlink()
        done = explain(stack, alert_id, "--format", "json", "--date", DAYS[0].isoformat())
        page = web_page(stack, alert_id, DAYS[0])
    finally:
        shutil.copy2(kept, path)
        kept.unlink()
    assert done.returncode == 3, (done.returncode, done.stderr[-2000:])
    assert relative in done.stderr
    assert ("sha256" if damage == "replaced" else "missing") in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert not RAW_ID.search(done.stderr)
    # the web view (Airflow plugin) says the same, as a page: 409, no server error
    status, _, body = page.partition("\n")
    assert status == "409" and relative in body and not RAW_ID.search(body), page[-2000:]
    # the file put back: explained again
    assert account_of(stack, alert_id, DAYS[0])["sources"]
