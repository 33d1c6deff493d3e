"""Rejected rows: what auditors see, what engineers keep (contract v2 section 6).

A rejected row is one row of ``audit.rejected_rows`` (batch, source, date, file,
line, the reason and the line with ids and names masked by ``safetynet.privacy``)
and, for engineers only, its raw line in ``raw.rejected_lines`` (same ``reject_id``).
The raw line is removed after ``SAFETYNET_REJECTED_LINE_RETENTION_DAYS`` (default
400) by the daily run (``purge_expired_lines``); the audit row stays.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Iterable
from pathlib import Path

import psycopg

from safetynet import privacy, warehouse
from safetynet.ingest.sources import SPECS, FileSpec

log = logging.getLogger(__name__)
RETENTION_ENV = "SAFETYNET_REJECTED_LINE_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 400

_STAGE = """create temp table if not exists _rejects
    (line_no bigint, raw_line text, masked_line text, reason text) on commit drop"""
_INSERT = """
with staged as (select * from _rejects),
kept as (
    insert into audit.rejected_rows (batch_id, source, extract_date, file_name, line_no,
                                     masked_line, reason)
    select %(batch)s, %(source)s, %(date)s, %(file)s, line_no, masked_line, reason
    from staged order by line_no
    returning reject_id, line_no)
insert into raw.rejected_lines (reject_id, raw_line)
select kept.reject_id, staged.raw_line from kept join staged using (line_no)
where staged.raw_line is not null
"""


def _python_encoding(spec: FileSpec) -> str:
    return "gb18030" if spec.encoding == "GB18030" else "utf-8"


def masked_rows(
    spec: FileSpec, rows: Iterable[tuple[int, str | None, str]]
) -> Iterable[tuple[int, str | None, str | None, str | None]]:
    """(line_no, raw line, reason) -> (line_no, raw line, masked line, masked reason)."""
    for line_no, raw_line, reason in rows:
        yield line_no, raw_line, privacy.mask_line(spec, raw_line), privacy.mask_text(reason)


def record(
    conn: psycopg.Connection,
    spec: FileSpec,
    params: dict[str, object],
    rows: Iterable[tuple[int, str | None, str]],
) -> int:
    """Write rejected rows (line_no, raw line, reason) of one file/batch: the masked
    row for auditors, the raw line for engineers. ``params``: batch, source, date,
    file. Returns how many."""
    conn.execute(_STAGE)
    conn.execute("truncate _rejects")
    with conn.cursor() as cur:
        with cur.copy("copy _rejects (line_no, raw_line, masked_line, reason) from stdin") as copy:
            count = 0
            for row in masked_rows(spec, rows):
                copy.write_row(row)
                count += 1
        if count:
            cur.execute(_INSERT, params)
    return count


def read_filter_rejects(spec: FileSpec, rejects: Path) -> Iterable[tuple[int, str, str]]:
    """The row filter's rejects file (CSV: line_no, raw line, reason, in the file's
    encoding; invalid bytes already replaced by U+FFFD)."""
    with open(rejects, encoding=_python_encoding(spec), errors="replace", newline="") as handle:
        for line_no, raw_line, reason in csv.reader(handle):
            yield int(line_no), raw_line, reason


def record_filter_rejects(
    conn: psycopg.Connection, spec: FileSpec, params: dict[str, object], rejects: Path
) -> int:
    """Insert the filter's rejects file; return how many."""
    if not rejects.exists() or rejects.stat().st_size == 0:
        return 0
    return record(conn, spec, params, read_filter_rejects(spec, rejects))


def retention_days() -> int:
    value = os.environ.get(RETENTION_ENV, "").strip()
    days = int(value) if value else DEFAULT_RETENTION_DAYS
    if days < 0:
        raise ValueError(f"{RETENTION_ENV} must be 0 or more days, not {days}")
    return days


def purge_expired_lines(conn: psycopg.Connection, days: int | None = None) -> int:
    """Remove the raw lines of rows rejected more than ``days`` (default: the
    setting) ago; the rows of audit.rejected_rows stay. Returns how many."""
    days = retention_days() if days is None else days
    removed = conn.execute(
        "delete from raw.rejected_lines where rejected_at < now() - make_interval(days => %s)",
        (days,),
    ).rowcount
    if removed:
        log.info("removed %d raw lines of rejected rows older than %d days", removed, days)
    return removed


def purge(url: str) -> int:
    """The daily run's retention step (``pipeline.check_arrivals``)."""
    warehouse.ensure_schema(url)
    with warehouse.connect(url) as conn:
        return purge_expired_lines(conn)


def mask_legacy(conn: psycopg.Connection) -> int:
    """Rows of a warehouse made before masking (masked_line null): mask their raw line."""
    found = conn.execute(
        """select r.reject_id, r.file_name, l.raw_line, r.reason from audit.rejected_rows r
           left join raw.rejected_lines l using (reject_id) where r.masked_line is null"""
    ).fetchall()
    by_file = {spec.name_pattern: spec for spec in SPECS}
    bank = next(s for s in SPECS if s.source == "bank")
    updates = []
    for reject_id, file_name, raw_line, reason in found:
        spec = by_file.get(file_name) or bank
        updates.append(
            (privacy.mask_line(spec, raw_line) or "", privacy.mask_text(reason), reject_id)
        )
    with conn.cursor() as cur:
        cur.executemany(
            "update audit.rejected_rows set masked_line = %s, reason = %s where reject_id = %s",
            updates,
        )
    return len(updates)
