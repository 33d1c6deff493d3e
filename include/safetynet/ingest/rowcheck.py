"""Row-level validation of one file, streamed into its raw partition.

The compiled row filter (``rowfilter``) reads the file once and checks every
row; its valid rows stream straight into a binary ``COPY`` of the date's
partition, each value already in its column's type (the server only
converts GB18030 text to UTF-8, as for any COPY), its rejected rows (line,
raw line, reason) land in ``audit.rejected_rows``.

Inside the same transaction, before anything commits: the first rows of keys
that turned out to conflict (contract v2 section 2: all rows of such a key are
rejected) are deleted from the partition by line_no, and the SHA-256 of the
bytes the filter read is compared with the manifest's, so a file swapped after
its check cannot load.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import psycopg
from psycopg import sql

from safetynet.ingest import rejects as rejects_store
from safetynet.ingest.manifest import DeliveryError
from safetynet.ingest.rowfilter import Counts, filtered_rows
from safetynet.ingest.sources import FileSpec

COPY_DATA_ERRORS = (
    psycopg.errors.BadCopyFileFormat,
    psycopg.errors.CharacterNotInRepertoire,
    psycopg.errors.UntranslatableCharacter,
    psycopg.errors.InvalidTextRepresentation,
    psycopg.errors.InvalidDatetimeFormat,
    psycopg.errors.DatetimeFieldOverflow,
    psycopg.errors.NumericValueOutOfRange,
)


def partition_name(spec: FileSpec, extract_date: date) -> str:
    return f"{spec.table}_{extract_date.strftime('%Y%m%d')}"


def replace_partition(conn: psycopg.Connection, spec: FileSpec, where: tuple[date, int]) -> None:
    """Create the partition of ``where`` = (date, batch id) if new, empty it if not
    (inside the load transaction). Its extract_date and batch_id default to the
    date and the batch: the COPY stream carries neither."""
    extract_date, batch_id = where
    part = sql.Identifier("raw", partition_name(spec, extract_date))
    conn.execute(
        sql.SQL("create table if not exists {} partition of {} for values in ({})").format(
            part, sql.Identifier("raw", spec.table), sql.Literal(extract_date)
        )
    )
    conn.execute(sql.SQL("truncate {}").format(part))
    conn.execute(
        sql.SQL(
            "alter table {} alter column extract_date set default {}, "
            "alter column batch_id set default {}"
        ).format(part, sql.Literal(extract_date), sql.Literal(batch_id))
    )


# The letter the row filter knows each raw column type by (rowfilter.c, TYPES).
TYPE_LETTERS = {
    "text": "t",
    "date": "d",
    "numeric": "n",
    "smallint": "s",
    "integer": "i",
    "bigint": "b",
    "bytea": "x",
}


def raw_types(conn: psycopg.Connection, spec: FileSpec) -> str:
    """A type letter per raw column after line_no, read from the raw table itself."""
    found: dict[str, str] = dict(
        conn.execute(
            """select attname, format_type(atttypid, null) from pg_attribute
           where attrelid = %s::regclass and attnum > 0 and not attisdropped""",
            (f"raw.{spec.table}",),
        ).fetchall()
    )
    columns = _raw_columns(spec)
    fixed = [found.get(name) for name in columns[:3]]
    if fixed != ["date", "bigint", "integer"]:
        raise RuntimeError(f"raw.{spec.table}: extract_date, batch_id, line_no are {fixed}")
    unknown = [f"{c} {found.get(c)}" for c in columns[3:] if found.get(c) not in TYPE_LETTERS]
    if unknown:
        raise RuntimeError(f"raw.{spec.table}: the row filter cannot write {unknown}")
    return "".join(TYPE_LETTERS[found[c]] for c in columns[3:])


def _raw_columns(spec: FileSpec) -> list[str]:
    names = ["extract_date", "batch_id", "line_no"]
    for column in spec.columns:
        names.append(column.name)
        if column.identity:
            names.append(column.identity)
    return names


def copy_valid_rows(
    conn: psycopg.Connection,
    path: Path,
    spec: FileSpec,
    extract_date: date,
    rejects: Path,
    pseudonym_key: str,
    expected_sha256: str | None = None,
) -> int:
    """COPY the file's valid rows into the date's partition; write its rejects to
    ``rejects``. Returns the rows loaded. ``expected_sha256`` (the manifest's): the
    bytes loaded must have it, else DeliveryError("checksum") (caller rolls back)."""
    statement = sql.SQL("copy {} ({}) from stdin with (format binary, freeze)").format(
        sql.Identifier("raw", partition_name(spec, extract_date)),
        sql.SQL(", ").join(map(sql.Identifier, _raw_columns(spec)[2:])),
    )
    try:
        copied, counts = copy_filtered(conn, statement, path, spec, rejects, pseudonym_key)
    except COPY_DATA_ERRORS as error:  # the filter's checks should make this impossible
        raise DeliveryError(
            "copy", f"{spec.source}/{extract_date}/{path.name}: {str(error).splitlines()[0]}"
        ) from error
    if expected_sha256 is not None and counts.sha256 != expected_sha256.lower():
        raise DeliveryError(
            "checksum",
            f"{spec.source}/{extract_date}/{path.name}: the bytes loaded have sha256 "
            f"{counts.sha256}, manifest says {expected_sha256} (file changed during the load)",
        )
    if counts.withdrawn:
        copied -= _withdraw(conn, spec, extract_date, counts.withdrawn)
    if counts.loaded != copied:
        raise RuntimeError(f"{path.name}: filter passed {counts.loaded} rows, COPY took {copied}")
    return counts.loaded


def copy_filtered(
    conn: psycopg.Connection,
    statement: sql.Composed,
    path: Path,
    spec: FileSpec,
    rejects: Path,
    pseudonym_key: str,
) -> tuple[int, Counts]:
    """COPY the row filter's binary output of ``path`` with ``statement`` (the columns
    line_no and the file's, as ``_raw_columns(spec)[2:]``); returns (rows COPY took,
    the filter's counts). The one filter pass of a load and of explain's restore."""
    types = raw_types(conn, spec)
    encoding = conn.info.parameter_status("client_encoding") or "UTF8"
    # Binary text values are read in the client encoding: the file's, while COPY runs.
    conn.execute(sql.SQL("set client_encoding to {}").format(sql.Literal(spec.encoding)))
    with (
        filtered_rows(path, spec, types, rejects, pseudonym_key) as (chunks, counts),
        conn.cursor() as cur,
    ):
        with cur.copy(statement) as copy:
            for chunk in chunks:
                copy.write(chunk)
        copied = cur.rowcount
    conn.execute(sql.SQL("set client_encoding to {}").format(sql.Literal(encoding)))
    return copied, counts


def _withdraw(
    conn: psycopg.Connection, spec: FileSpec, extract_date: date, lines: list[int]
) -> int:
    """Delete the rows of ``lines`` (first rows of conflicting keys) from the partition."""
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("delete from {} where line_no = any(%s)").format(
                sql.Identifier("raw", partition_name(spec, extract_date))
            ),
            (lines,),
        )
        if cur.rowcount != len(lines):
            raise RuntimeError(f"withdrew {cur.rowcount} of {len(lines)} conflicting first rows")
        return cur.rowcount


def record_rejects(
    conn: psycopg.Connection,
    spec: FileSpec,
    params: dict[str, object],
    rejects: Path,
) -> int:
    """Insert the filter's rejects file into ``audit.rejected_rows`` (ids and names
    masked, contract v2 section 6) and the raw lines into ``raw.rejected_lines``
    (engineers only): ``rejects.record_filter_rejects``. Returns how many."""
    return rejects_store.record_filter_rejects(conn, spec, params, rejects)
