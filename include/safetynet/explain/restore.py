"""Restore a date older than the snapshot window for ``explain`` / 窗口外日期的还原
(issue 23, docs/history-design.md 2.5).

Once a date X leaves the window its raw snapshot partitions are dropped and folded
into the change history, which keeps no line numbers (they shift every day). So
explain restores X from the archive of record, the landing folder: for each raw
snapshot table whose partition for X is gone and that has a row for X in
``audit.history_days`` (the load batch that stood for X), it

1. reads X's landing file (the loader's path: ``<source>/<X>/<file>``) and checks its
   sha256 against ``audit.load_batches`` of that batch: a missing or different file
   stops explain with ``RestoreRefused`` naming the file (never its content);
2. runs the loader's own compiled row filter (``ingest.rowfilter``, the parser the
   load used, with the raw table's column types, the warehouse's pseudonym key and the
   withdrawal of conflicting first rows) into a session temporary table
   ``pg_temp.<raw table>`` whose ``extract_date`` is X and ``batch_id`` the recorded
   batch, so ``line_no`` is the line the load wrote, by construction;
3. checks the restored rows against the calendar's row count and the sha256 of the
   bytes the filter read.

``explain.sources`` then runs its unchanged queries against the temporary tables.
Inside the window (the partition exists) nothing is restored.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg
from psycopg import sql

from safetynet import config
from safetynet.ingest import keyguard, manifest, rowcheck
from safetynet.ingest.manifest import DeliveryError
from safetynet.ingest.rowfilter import FilterFailed, withdrawn_path
from safetynet.ingest.sources import SPECS, FileSpec

# The raw snapshot tables folded out of the window (the increments stay whole).
SNAPSHOT_TABLES = (
    "civil_affairs_households",
    "civil_affairs_persons",
    "civil_affairs_enrollments",
    "housing_properties",
    "bank_balances",
)
CHUNK = 1 << 20


class RestoreRefused(RuntimeError):
    """A folded date cannot be restored as it was loaded (file missing or different).
    The message names the file and the batch, never a record."""


@dataclass(frozen=True)
class Folded:
    """One raw table's folded date: the recorded batch and the snapshot's row count."""

    table: str
    batch_id: int
    rows: int


def spec_of(table: str) -> FileSpec:
    return next(spec for spec in SPECS if spec.table == table)


def folded_tables(conn: psycopg.Connection, day: date) -> list[Folded]:
    """The snapshot tables of ``day`` whose partition holds no row and whose calendar
    (``audit.history_days``) records the batch that stood for ``day``."""
    if conn.execute("select to_regclass('audit.history_days')").fetchone() in (None, (None,)):
        return []
    found = []
    for table in SNAPSHOT_TABLES:
        present = conn.execute(
            sql.SQL("select exists (select from {} where extract_date = %s)").format(
                sql.Identifier("raw", table)
            ),
            (day,),
        ).fetchone()
        if present and present[0]:
            continue
        row = conn.execute(
            """select batch_id, rows from audit.history_days
               where table_name in (%s, %s) and extract_date = %s""",
            (table, f"raw.{table}", day),
        ).fetchone()
        if row is not None:
            if row[0] is None:
                raise RestoreRefused(
                    f"raw.{table} of {day} is folded without a load batch "
                    "(audit.history_days.batch_id is empty): its lines cannot be cited"
                )
            found.append(Folded(table, int(row[0]), int(row[1])))
    return found


def _batch_file(conn: psycopg.Connection, folded: Folded, day: date) -> tuple[str, str]:
    """(path relative to the landing folder, sha256 as loaded) of the recorded batch."""
    row = conn.execute(
        """select source, extract_date, file_name, sha256 from audit.load_batches
           where batch_id = %s""",
        (folded.batch_id,),
    ).fetchone()
    spec = spec_of(folded.table)
    if row is None or row[3] is None:
        raise RestoreRefused(
            f"raw.{folded.table} of {day}: load batch {folded.batch_id} is not in "
            "audit.load_batches (or has no sha256): the file it loaded cannot be checked"
        )
    source, extract_date, file_name, sha256 = row
    if (source, extract_date, file_name) != (spec.source, day, spec.file_name(day)):
        raise RestoreRefused(
            f"raw.{folded.table} of {day}: load batch {folded.batch_id} loaded "
            f"{source}/{extract_date}/{file_name}, not this table's file of {day}"
        )
    return f"{source}/{day.isoformat()}/{file_name}", str(sha256).lower()


def file_sha256(landing: Path, relative: str) -> str:
    """sha256 of a landing file, opened as the loader opens one (a regular file inside
    the landing folder, no symlink); RestoreRefused when absent or unsafe."""
    path = landing / relative
    try:
        manifest.check_inside_landing(landing, path.parent, relative)
        if not path.exists() and not path.is_symlink():
            raise RestoreRefused(_refusal(relative, "is missing from the landing folder"))
        digest = hashlib.sha256()
        with open(manifest.open_regular(path, relative), "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
    except DeliveryError as error:
        raise RestoreRefused(
            _refusal(relative, f"cannot be read safely ({error.message})")
        ) from None
    except OSError as error:
        raise RestoreRefused(_refusal(relative, f"cannot be read ({error.strerror})")) from None
    return digest.hexdigest()


def _refusal(relative: str, what: str) -> str:
    return (
        f"landing file {relative} {what}: the date is older than the snapshot window, so "
        "explain restores it from the landing folder (档案正本), and refuses to cite lines "
        "of a file that is not the one loaded"
    )


def _mismatch(relative: str, found: str, loaded: str, batch_id: int) -> str:
    return _refusal(
        relative, f"has sha256 {found}, but load batch {batch_id} loaded sha256 {loaded}"
    )


def _create_temp(conn: psycopg.Connection, folded: Folded, day: date) -> sql.Identifier:
    """An empty ``pg_temp.<table>`` shaped like the raw table, X and the batch as defaults."""
    temp = sql.Identifier("pg_temp", folded.table)
    conn.execute(sql.SQL("drop table if exists {}").format(temp))
    conn.execute(
        sql.SQL("create temporary table {} (like {})").format(
            sql.Identifier(folded.table), sql.Identifier("raw", folded.table)
        )
    )
    conn.execute(
        sql.SQL(
            "alter table {} alter column extract_date set default {}, "
            "alter column batch_id set default {}"
        ).format(temp, sql.Literal(day), sql.Literal(folded.batch_id))
    )
    return temp


def _copy_filtered(
    conn: psycopg.Connection,
    temp: sql.Identifier,
    path: Path,
    spec: FileSpec,
    pseudonym_key: str,
) -> tuple[int, str]:
    """The loader's filter pass (rowcheck.copy_valid_rows) into ``temp``: the same
    compiled filter, column types, encoding and withdrawal; returns (rows, sha256 read)."""
    columns = rowcheck._raw_columns(spec)[2:]  # line_no and the file's columns
    statement = sql.SQL("copy {} ({}) from stdin with (format binary)").format(
        temp, sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with tempfile.TemporaryDirectory() as scratch:
        rejects = Path(scratch) / "rejects.csv"
        copied, counts = rowcheck.copy_filtered(conn, statement, path, spec, rejects, pseudonym_key)
        if counts.withdrawn:
            withdrawn = conn.execute(
                sql.SQL("delete from {} where line_no = any(%s)").format(temp),
                (counts.withdrawn,),
            ).rowcount
            copied -= withdrawn
        withdrawn_path(rejects).unlink(missing_ok=True)
    return copied, counts.sha256


def restore_table(
    conn: psycopg.Connection, landing: Path, folded: Folded, day: date, pseudonym_key: str
) -> str:
    """Restore one folded raw table of ``day`` into ``pg_temp.<table>``; its name."""
    spec = spec_of(folded.table)
    relative, loaded = _batch_file(conn, folded, day)
    found = file_sha256(landing, relative)
    if found != loaded:
        raise RestoreRefused(_mismatch(relative, found, loaded, folded.batch_id))
    temp = _create_temp(conn, folded, day)
    try:
        rows, read = _copy_filtered(conn, temp, landing / relative, spec, pseudonym_key)
    except (FilterFailed, DeliveryError) as error:
        raise RestoreRefused(_refusal(relative, f"cannot be filtered again ({error})")) from None
    if read != loaded:  # swapped between the check and the filter's read
        raise RestoreRefused(_mismatch(relative, read, loaded, folded.batch_id))
    if rows != folded.rows:
        raise RestoreRefused(
            _refusal(
                relative,
                f"gives {rows} rows through the row filter, the folded snapshot had "
                f"{folded.rows} (audit.history_days)",
            )
        )
    return f"pg_temp.{folded.table}"


def restore(
    conn: psycopg.Connection,
    landing: Path,
    day: date,
    pseudonym_key: str | None = None,
) -> dict[str, str]:
    """Restore every folded raw snapshot table of ``day``; raw table -> relation to read
    (``{}`` inside the window: nothing read, no key needed). The key (default
    ``config.pseudonym_key()``) must be the warehouse's (keyguard), else the restored
    person_keys would join nothing: its fingerprint is compared with the warehouse's,
    ``ingest.keyguard``)."""
    folded = folded_tables(conn, day)
    if not folded:
        return {}
    try:
        key = config.pseudonym_key() if pseudonym_key is None else pseudonym_key
    except config.PseudonymKeyError as error:
        raise RestoreRefused(f"cannot restore {day} (pseudonym key): {error}") from None
    recorded = keyguard.recorded(conn)  # read only: explain never records a fingerprint
    if recorded is not None and recorded != keyguard.fingerprint(key):
        raise RestoreRefused(
            f"cannot restore {day}: SAFETYNET_PSEUDONYM_KEY is not the key this warehouse "
            f"was keyed with ({keyguard.TABLE}): the restored person_keys would join nothing"
        )
    return {f.table: restore_table(conn, landing, f, day, key) for f in folded}
