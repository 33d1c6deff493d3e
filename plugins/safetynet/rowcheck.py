"""Row-level validation of one file, streamed into its raw partition.

The compiled row filter (``rowfilter``) reads the file once and checks every
row; its valid rows stream straight into ``COPY`` of the date's partition
(the server decodes GB18030 / UTF-8 and casts dates and amounts), its
rejected rows (line, raw line, reason) land in ``audit.rejected_rows``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import psycopg
from psycopg import sql

from safetynet.manifest import DeliveryError
from safetynet.rowfilter import filtered_rows
from safetynet.sources import FileSpec

COPY_DATA_ERRORS = (
    psycopg.errors.BadCopyFileFormat, psycopg.errors.CharacterNotInRepertoire,
    psycopg.errors.UntranslatableCharacter, psycopg.errors.InvalidTextRepresentation,
    psycopg.errors.InvalidDatetimeFormat, psycopg.errors.DatetimeFieldOverflow,
    psycopg.errors.NumericValueOutOfRange,
)


def partition_name(spec: FileSpec, extract_date: date) -> str:
    return f"{spec.table}_{extract_date.strftime('%Y%m%d')}"


def replace_partition(conn: psycopg.Connection, spec: FileSpec, extract_date: date) -> None:
    """Create the date's partition if new, empty it if not (inside the load transaction)."""
    part = sql.Identifier("raw", partition_name(spec, extract_date))
    conn.execute(sql.SQL("create table if not exists {} partition of {} for values in ({})").format(
        part, sql.Identifier("raw", spec.table), sql.Literal(extract_date)))
    conn.execute(sql.SQL("truncate {}").format(part))


def _raw_columns(spec: FileSpec) -> list[str]:
    names = ["extract_date", "batch_id", "line_no"]
    for column in spec.columns:
        names.append(column.name)
        if column.identity:
            names.append(column.identity)
    return names


def copy_valid_rows(
    conn: psycopg.Connection, path: Path, spec: FileSpec, where: tuple[date, int],
    rejects: Path, pseudonym_key: str,
) -> int:
    """COPY the file's valid rows into the partition of ``where`` = (date, batch id);
    write its rejects to ``rejects``. Returns the rows loaded."""
    extract_date, batch_id = where
    statement = sql.SQL("copy {} ({}) from stdin with (format csv, encoding {})").format(
        sql.Identifier("raw", partition_name(spec, extract_date)),
        sql.SQL(", ").join(map(sql.Identifier, _raw_columns(spec))), sql.Literal(spec.encoding))
    prefix = f"{extract_date.isoformat()},{batch_id},"
    try:
        with filtered_rows(path, spec, prefix, rejects, pseudonym_key) as (chunks, counts), \
                conn.cursor() as cur:
            with cur.copy(statement) as copy:
                for chunk in chunks:
                    copy.write(chunk)
            copied = cur.rowcount
    except COPY_DATA_ERRORS as error:  # the filter's checks should make this impossible
        raise DeliveryError("copy", f"{spec.source}/{extract_date}/{path.name}: "
                                    f"{str(error).splitlines()[0]}") from error
    if counts.loaded != copied:
        raise RuntimeError(f"{path.name}: filter passed {counts.loaded} rows, COPY took {copied}")
    return counts.loaded


def record_rejects(
    conn: psycopg.Connection, spec: FileSpec, params: dict[str, object], rejects: Path,
) -> int:
    """Insert the filter's rejects file into ``audit.rejected_rows``; return how many."""
    if rejects.stat().st_size == 0:
        return 0
    conn.execute("create temp table if not exists _rejects "
                 "(line_no bigint, raw_line text, reason text) on commit drop")
    conn.execute("truncate _rejects")
    options = sql.SQL("(format csv, encoding {})").format(sql.Literal(spec.encoding))
    with conn.cursor() as cur, cur.copy(sql.SQL("copy _rejects from stdin with {}").format(
            options)) as copy, open(rejects, "rb") as handle:
        while chunk := handle.read(1 << 20):
            copy.write(chunk)
    with conn.cursor() as cur:
        cur.execute(
            """insert into audit.rejected_rows (batch_id, source, extract_date, file_name,
                   line_no, raw_line, reason)
               select %(batch)s, %(source)s, %(date)s, %(file)s, line_no, raw_line, reason
               from _rejects order by line_no""", params)
        return cur.rowcount
