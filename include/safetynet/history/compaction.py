"""Compaction: fold every processed date older than the window (issue 23, design 2.5).

``compact(url, window_days)`` folds, oldest first, every processed date that is not
among the newest ``window_days`` processed dates, for every spec (``specs.SPECS``),
one transaction per (table, date); it is idempotent and catches up after a skipped
or deferred day. ``between()`` runs between the transactions (the DAG renews the
warehouse lease there); if it raises, compaction stops cleanly (what is folded
stays folded). At the end ``vacuum (analyze)`` of what changed. Processed dates are
the dates of ``marts.low_income_population__recent`` and the folded dates of that
table, ranked by date (a skipped or blocked day takes no place in the window).
Log lines name tables, dates and counts only: no personal data.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date

import psycopg
from psycopg import sql

from safetynet.history import fold as folding
from safetynet.history.specs import CALENDAR, MART_SPECS, PROCESSED, SPECS, Spec
from safetynet.history.sql import ident, stored_tables

log = logging.getLogger(__name__)

# (issue 23) The folds of one date run side by side, one session each: a fold is one
# backend's work (its own history tables, key map and temporary staging table), and a
# compaction on one core left the other idle. SAFETYNET_FOLD_WORKERS sessions at most
# (default 2, the cores of the reference machine; 1 folds one table at a time).
WORKERS_ENV = "SAFETYNET_FOLD_WORKERS"


def fold_workers() -> int:
    return max(1, int(os.environ.get(WORKERS_ENV, "2")))


MART_TABLES = {s.table for s in MART_SPECS}


@dataclass(frozen=True)
class FoldResult:
    """One (table, date) folded: its rows, path (fast / slow-equal / slow-replaced),
    seconds, and whether the raw partition had to stay (lock busy)."""

    table: str
    date: date
    rows: int
    path: str
    seconds: float
    snapshot_kept: bool = False


@dataclass
class CompactionReport:
    """What one compaction did, and the bytes of each table's history after it."""

    window_days: int
    window: list[date] = field(default_factory=list)
    folded: list[FoldResult] = field(default_factory=list)
    history_bytes: dict[str, int] = field(default_factory=dict)
    stopped: str | None = None
    seconds: float = 0.0

    def render(self) -> str:
        lines = [
            f"compaction: window {self.window_days} processed date(s) "
            f"{_span(self.window)}, {len(self.folded)} (table, date) folded "
            f"in {self.seconds:.1f} s" + (f"; stopped: {self.stopped}" if self.stopped else "")
        ]
        for r in self.folded:
            kept = " (raw partition kept: lock busy)" if r.snapshot_kept else ""
            lines.append(
                f"  {r.table:28} {r.date} {r.rows:>9} rows {r.path:13} {r.seconds:6.2f} s{kept}"
            )
        for table, size in self.history_bytes.items():
            lines.append(f"  history {table:34} {size / 1e6:8.2f} MB")
        return "\n".join(lines)


def _span(dates: list[date]) -> str:
    return f"{dates[0]}..{dates[-1]}" if dates else "(none)"


def processed_dates(conn: psycopg.Connection) -> list[date]:
    """Every processed date, oldest first (design 2.4)."""
    recent = ident(PROCESSED, "__recent")
    if conn.execute("select to_regclass(%s)", (f"marts.{PROCESSED.table}__recent",)).fetchone() == (
        None,
    ):
        raise RuntimeError(f"{recent.as_string()} is missing: build the marts (dbt) first")
    rows = conn.execute(
        sql.SQL(
            "select {col} from {recent} union select extract_date from {cal} "
            "where table_name = {name} order by 1"
        ).format(
            col=sql.Identifier(PROCESSED.date_column),
            recent=recent,
            cal=sql.SQL(CALENDAR),
            name=sql.Literal(PROCESSED.table),
        )
    ).fetchall()
    return [r[0] for r in rows]


def _recent_dates(conn: psycopg.Connection) -> set[date]:
    rows = conn.execute(
        sql.SQL("select distinct {} from {}").format(
            sql.Identifier(PROCESSED.date_column), ident(PROCESSED, "__recent")
        )
    ).fetchall()
    return {r[0] for r in rows}


def _has_snapshot(conn: psycopg.Connection, spec: Spec, x: date, recent: set[date]) -> bool:
    """Raw: X's partition exists. Marts: X is a date of the population's __recent
    table (the marts' rows of a date go together, so an empty mart of X is a real,
    empty snapshot), or the mart has rows of X."""
    if spec.is_raw:
        return folding.raw_partition(conn, spec, x) is not None
    if x in recent:
        return True
    row = conn.execute(
        sql.SQL("select exists (select 1 from {} where {} = %s)").format(
            ident(spec, "__recent"), sql.Identifier(spec.date_column)
        ),
        (x,),
    ).fetchone()
    return bool(row and row[0])


def _normalise_dropped(conn: psycopg.Connection) -> set[str]:
    """Dates taken out of the calendar since the last compaction (discard_day)."""
    changed: set[str] = set()
    by_name = {s.table: s for s in SPECS}
    with conn.transaction():
        rows = conn.execute(
            """select p.table_name, p.extract_date, d.extract_date is not null
               from audit.history_dropped_days p
               left join audit.history_days d using (table_name, extract_date)
               order by p.extract_date desc"""
        ).fetchall()
        for table, y, back in rows:
            spec = by_name.get(table)
            if spec is not None and not back:
                folding.normalise_dropped(conn, spec, y)
                changed.add(table)
                log.info("history: %s %s left the calendar: versions normalised", table, y)
            conn.execute(
                "delete from audit.history_dropped_days"
                " where table_name = %s and extract_date = %s",
                (table, y),
            )
    return changed


def compact(
    url: str,
    window_days: int,
    *,
    run_id: str | None = None,
    between: Callable[[], None] | None = None,
) -> CompactionReport:
    """Fold every processed date older than the newest ``window_days`` (>= 1)."""
    if window_days < 1:
        raise ValueError(f"window_days must be >= 1, got {window_days}")
    started = time.monotonic()
    report = CompactionReport(window_days)
    changed: set[str] = set()
    with psycopg.connect(url, autocommit=True) as conn:
        changed |= _normalise_dropped(conn)
        dates = processed_dates(conn)
        report.window = dates[-window_days:]
        recent = _recent_dates(conn)
        report.stopped = _fold_all(
            (url, conn), dates[:-window_days], recent, report, run_id, between
        )
        changed |= {r.table for r in report.folded}
        if report.stopped is None:
            _vacuum(url, [s for s in SPECS if s.table in changed])
        report.history_bytes = history_bytes(conn)
    report.seconds = time.monotonic() - started
    log.info(
        "history: compaction folded %d (table, date) in %.1f s, history %.1f MB%s",
        len(report.folded),
        report.seconds,
        sum(report.history_bytes.values()) / 1e6,
        f"; stopped: {report.stopped}" if report.stopped else "",
    )
    return report


def _fold_all(
    sessions: tuple[str, psycopg.Connection],
    dates: list[date],
    recent: set[date],
    report: CompactionReport,
    run_id: str | None,
    between: Callable[[], None] | None,
) -> str | None:
    """Fold ``dates`` oldest first, every spec; None, or why it stopped early. The
    marts' __recent rows of a date are deleted once all four marts of it are folded."""
    url, conn = sessions
    with ThreadPoolExecutor(fold_workers(), thread_name_prefix="fold") as pool:
        for x in dates:
            folded, stopped = _fold_date(pool, url, x, (recent, run_id), between)
            report.folded.extend(folded)
            if stopped:
                return stopped
            if any(r.table in MART_TABLES for r in folded):
                with conn.transaction():
                    folding.delete_recent(conn, MART_SPECS, x)
    return None


def _fold_date(
    pool: ThreadPoolExecutor,
    url: str,
    x: date,
    context: tuple[set[date], str | None],
    between: Callable[[], None] | None,
) -> tuple[list[FoldResult], str | None]:
    """Every spec's fold of X, at most ``fold_workers()`` at a time. A fold starts only
    after ``between`` (the lease renewed) passed for the one before it; a failed fold or
    a stop lets the running folds end and starts no other."""
    waiting = list(SPECS)
    workers = fold_workers()
    running: set[Future[FoldResult | None]] = set()
    results: dict[str, FoldResult] = {}
    stopped: str | None = None
    error: BaseException | None = None
    while waiting or running:
        while waiting and len(running) < workers and not (stopped or error):
            running.add(pool.submit(_fold_in_session, url, waiting.pop(0), x, *context))
        if not running:
            break
        done, running = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            try:
                result = future.result()
            except Exception as exc:  # raised below, once the running folds have ended
                error = error or exc
                continue
            if result is not None:
                results[result.table] = result
                stopped = stopped or (None if error else _between(between))
    if error is not None:
        raise error
    return [results[s.table] for s in SPECS if s.table in results], stopped


def _fold_in_session(
    url: str, spec: Spec, x: date, recent: set[date], run_id: str | None
) -> FoldResult | None:
    with psycopg.connect(url, autocommit=True) as conn:
        return _fold_one(conn, spec, x, recent, run_id)


def _between(between: Callable[[], None] | None) -> str | None:
    if between is None:
        return None
    try:
        between()
    except Exception as exc:  # e.g. the lease is lost: stop, the folds stand
        stopped = f"{type(exc).__name__}: {exc}"
        log.warning("history: compaction stopped between folds: %s", stopped)
        return stopped
    return None


def _fold_one(
    conn: psycopg.Connection, spec: Spec, x: date, recent: set[date], run_id: str | None
) -> FoldResult | None:
    if not _has_snapshot(conn, spec, x, recent):
        return None
    t0 = time.monotonic()
    with conn.transaction():
        done = folding.fold(conn, spec, x, run_id, remove=spec.is_raw)
    result = FoldResult(
        spec.table, x, done.rows, done.path, time.monotonic() - t0, done.snapshot_kept
    )
    log.info(
        "history: folded %s.%s %s: %d rows, %s, %.2f s%s",
        spec.schema,
        spec.table,
        x,
        result.rows,
        result.path,
        result.seconds,
        " (raw partition kept: lock busy)" if result.snapshot_kept else "",
    )
    return result


def _vacuum(url: str, specs: list[Spec]) -> None:
    """vacuum (analyze) of the changed history tables and the marts' __recent tables
    (closed versions and deleted rows are dead tuples until then), a table's at a time in
    ``fold_workers()`` sessions."""

    def vacuum(spec: Spec) -> None:
        tables = [ident(spec, s) for s in stored_tables(spec)]
        if not spec.is_raw:
            tables.append(ident(spec, "__recent"))
        statement = sql.SQL("vacuum (analyze, skip_locked) {}")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(statement.format(sql.SQL(", ").join(tables)))

    with ThreadPoolExecutor(fold_workers(), thread_name_prefix="vacuum") as pool:
        list(pool.map(vacuum, specs))


def history_bytes(conn: psycopg.Connection) -> dict[str, int]:
    """pg_total_relation_size of each table's __keys, __hist, __histv and
    __histv_packed."""
    sizes: dict[str, int] = {}
    for spec in SPECS:
        total = 0
        for suffix in stored_tables(spec):
            row = conn.execute(
                "select coalesce(pg_total_relation_size(to_regclass(%s)), 0)",
                (f"{spec.schema}.{spec.table}{suffix}",),
            ).fetchone()
            total += int(row[0]) if row else 0
        sizes[f"{spec.schema}.{spec.table}"] = total
    return sizes


def status(url: str, window_days: int) -> str:
    """Per table: the window's dates, the folded dates, the snapshots still whole
    and the history's size (``python -m safetynet.history status``)."""
    with psycopg.connect(url, autocommit=True) as conn:
        dates = processed_dates(conn)
        window = dates[-window_days:]
        sizes = history_bytes(conn)
        lines = [
            f"processed dates: {len(dates)} {_span(dates)}; window {window_days}: {_span(window)}"
        ]
        for spec in SPECS:
            folded = [
                r[0]
                for r in conn.execute(
                    f"select extract_date from {CALENDAR} where table_name = %s order by 1",
                    (spec.table,),
                ).fetchall()
            ]
            whole = _whole(conn, spec)
            name = f"{spec.schema}.{spec.table}"
            lines.append(
                f"  {name:34} whole {len(whole):3} {_span(whole):22} "
                f"folded {len(folded):4} {_span(folded):22} "
                f"history {sizes[f'{spec.schema}.{spec.table}'] / 1e6:8.2f} MB"
            )
    return "\n".join(lines)


def _whole(conn: psycopg.Connection, spec: Spec) -> list[date]:
    """The dates whose snapshot is whole (raw partitions / __recent dates)."""
    if spec.is_raw:
        rows = conn.execute(
            """select substring(pg_get_expr(c.relpartbound, c.oid) from '''(.*)''')::date
               from pg_inherits i join pg_class c on c.oid = i.inhrelid
               where i.inhparent = %s::regclass order by 1""",
            (f"raw.{spec.table}",),
        ).fetchall()
    else:
        rows = conn.execute(
            sql.SQL("select distinct {} from {} order by 1").format(
                sql.Identifier(spec.date_column), ident(spec, "__recent")
            )
        ).fetchall()
    return [r[0] for r in rows]


def compact_leased(
    url: str, window_days: int, run_id: str, extract_date: date
) -> CompactionReport | None:
    """``compact`` under the warehouse lease (phase ``compacting``, renewed between the
    folds), so it never runs beside a check or a build: the DAG's compact_history and
    ``make compact``. None when another run held the lease past SAFETYNET_LEASE_WAIT
    (deferred: nothing folded; the next compaction folds every date due)."""
    from safetynet import runlock  # imported on use: the history package stays light

    try:
        runlock.acquire(url, run_id, extract_date, phase=runlock.COMPACTING)
    except runlock.LeaseTimeout as busy:
        log.warning("compaction deferred, nothing folded: %s", busy)
        return None
    try:
        return compact(
            url,
            window_days,
            run_id=run_id,
            between=lambda: runlock.renew(url, run_id, extract_date),
        )
    finally:
        runlock.release(url, run_id, extract_date)
