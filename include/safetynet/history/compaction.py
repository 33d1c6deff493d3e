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
    with psycopg.connect(url, autocommit=True) as conn:
        changed = _normalise_dropped(conn)
        dates = processed_dates(conn)
        report.window = dates[-window_days:]
        recent = _recent_dates(conn)
        jobs = _Jobs(url, (recent, run_id), between, _fold_order(conn))
        report.stopped = _fold_all(jobs, dates[:-window_days], report)
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


def _fold_order(conn: psycopg.Connection) -> list[Spec]:
    """The marts first (their ``__recent`` rows go, and their public views are checked,
    once all four are folded: that step then runs beside the raw folds), each group
    largest first (the snapshot relation's planner row count)."""

    def rows(spec: Spec) -> float:
        relation = f"raw.{spec.table}" if spec.is_raw else f"marts.{spec.table}__recent"
        row = conn.execute(
            "select coalesce(sum(c.reltuples), 0) from pg_class c where c.oid = to_regclass(%s)"
            " or c.oid in (select inhrelid from pg_inherits where inhparent = to_regclass(%s))",
            (relation, relation),
        ).fetchone()
        return float(row[0]) if row else 0.0

    return sorted(SPECS, key=lambda s: (s.is_raw, -rows(s)))


FOLD, DELETE_RECENT = "fold", "delete_recent"


@dataclass
class _Jobs:
    """A compaction's jobs, run in ``fold_workers()`` sessions: every spec's fold of a
    date and, once its four marts are folded, their ``__recent`` rows' deletion with the
    public views' check (``fold.delete_recent``; issue 23: at 5M persons its view
    counts, ~17 s, ran alone after the folds). The vacuums stay after all folds: one
    run beside another session's fold transaction cannot remove what that transaction
    may still see (1M persons: history +22.4 MiB on day 3 against +20.4 MiB)."""

    url: str
    context: tuple[set[date], str | None]
    between: Callable[[], None] | None
    order: list[Spec]

    def run(self, kind: str, spec: Spec | None, x: date) -> FoldResult | None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            if kind == FOLD and spec is not None:
                return _fold_one(conn, spec, x, *self.context)
            with conn.transaction():
                folding.delete_recent(conn, MART_SPECS, x)
        return None


def _fold_all(jobs: _Jobs, dates: list[date], report: CompactionReport) -> str | None:
    """Fold ``dates`` oldest first, every spec; None, or why it stopped early."""
    with ThreadPoolExecutor(fold_workers(), thread_name_prefix="fold") as pool:
        for x in dates:
            day = _Day(jobs, x)
            folded, stopped = day.run(pool)
            report.folded.extend(folded)
            if stopped:
                return stopped
    return None


@dataclass
class _Day:
    """One date's jobs, at most ``fold_workers()`` at a time. A job starts only after
    ``between`` (the lease renewed) passed for the fold before it, a fold only after
    the folds its point in time reads (population: dim_households); a failed job or a
    stop lets the running jobs end and starts no other (a stop before the marts'
    deletion leaves X whole: the next compaction folds it again)."""

    jobs: _Jobs
    x: date
    waiting: list[tuple[str, Spec | None]] = field(default_factory=list)
    results: dict[str, FoldResult] = field(default_factory=dict)
    marts_left: set[str] = field(default_factory=lambda: set(MART_TABLES))
    folds_ended: set[str] = field(default_factory=set)
    stopped: str | None = None
    error: BaseException | None = None

    def run(self, pool: ThreadPoolExecutor) -> tuple[list[FoldResult], str | None]:
        self.waiting = [(FOLD, s) for s in self.jobs.order]
        running: dict[Future[FoldResult | None], tuple[str, Spec | None]] = {}
        while self.waiting or running:
            while len(running) < fold_workers() and (job := self._next()) is not None:
                running[pool.submit(self.jobs.run, *job, self.x)] = job
            if not running:
                if self.waiting and not (self.stopped or self.error):
                    raise RuntimeError(f"history: {self.x} jobs never ready: {self.waiting}")
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                self._finished(running.pop(future), future)
        if self.error is not None:
            raise self.error
        folded = [self.results[s.table] for s in SPECS if s.table in self.results]
        return folded, self.stopped

    def _next(self) -> tuple[str, Spec | None] | None:
        """The first waiting job that may start: none after a stop or an error; a fold
        once the folds of the tables its point in time reads (``Spec.reads``) ended."""
        if self.stopped or self.error:
            return None
        for job in self.waiting:
            kind, spec = job
            if kind != FOLD or spec is None or self.folds_ended.issuperset(spec.reads):
                self.waiting.remove(job)
                return job
        return None

    def _finished(self, job: tuple[str, Spec | None], future: Future[FoldResult | None]) -> None:
        kind, spec = job
        try:
            result = future.result()
        except Exception as exc:  # raised by run(), once the running jobs have ended
            self.error = self.error or exc
            return
        if kind == FOLD and spec is not None:
            self._folded(spec, result)

    def _folded(self, spec: Spec, result: FoldResult | None) -> None:
        self.folds_ended.add(spec.table)
        if result is not None:
            self.results[spec.table] = result
            self.stopped = self.stopped or (None if self.error else _between(self.jobs.between))
        if spec.table in self.marts_left:
            self.marts_left.discard(spec.table)
            if not self.marts_left and MART_TABLES & self.results.keys():
                self.waiting.insert(0, (DELETE_RECENT, None))


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


# (issue 23) How long the vacuum after the folds waits for a table's lock. An
# autovacuum already on the table (2M rows of a mart's __recent just deleted) is
# cancelled by PostgreSQL after deadlock_timeout (1 s) when a session waits for its
# lock; with `skip_locked` the table was skipped instead, its trailing pages of the
# deleted date not truncated (5M persons: dim_households__recent +452 MiB after day 3).
VACUUM_LOCK_TIMEOUT = "30s"


def _vacuum(url: str, specs: list[Spec]) -> None:
    """vacuum (analyze) of the changed history tables and the marts' __recent tables
    (closed versions and deleted rows are dead tuples until then), a table's at a time in
    ``fold_workers()`` sessions; a table still locked after VACUUM_LOCK_TIMEOUT is left to
    the next compaction (logged)."""

    def vacuum(spec: Spec) -> None:
        tables = [ident(spec, s) for s in stored_tables(spec)]
        if not spec.is_raw:
            tables.append(ident(spec, "__recent"))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"set lock_timeout = '{VACUUM_LOCK_TIMEOUT}'")
            try:
                conn.execute(sql.SQL("vacuum (analyze) {}").format(sql.SQL(", ").join(tables)))
            except psycopg.errors.LockNotAvailable:
                log.warning(
                    "history: vacuum of %s.%s left: a table stayed locked", spec.schema, spec.table
                )

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
