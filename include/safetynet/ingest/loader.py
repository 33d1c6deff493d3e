"""Load one source's delivery for one extract date into ``raw`` (section 1-3).

Per file: check against the manifest and the header, then one streaming
pass of the compiled row filter (``rowcheck``/``rowfilter``): valid rows are
COPYed into the date's partition of the raw table, invalid rows go to
``audit.rejected_rows`` with file, line, raw line and reason. All files of
a source land in one transaction, so a killed load leaves nothing behind
and a re-run replaces the date's batch.
"""

from __future__ import annotations

import logging
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg

from safetynet import warehouse
from safetynet.config import REJECTS_NEVER_BLOCK
from safetynet.ingest import keyguard, manifest, rowcheck
from safetynet.ingest.manifest import DeliveryError
from safetynet.ingest.sources import FileSpec, specs_for

log = logging.getLogger(__name__)
MAX_REJECT_RATIO = 0.01


@dataclass
class FileResult:
    file_name: str
    table: str
    rows: int
    loaded: int
    rejected: int
    seconds: float
    batch_id: int = 0
    rejects: Path = field(default=Path(), repr=False)  # the filter's rejects file

    @property
    def reject_ratio(self) -> float:
        return self.rejected / self.rows if self.rows else 0.0


def load_source(
    url: str,
    landing: Path,
    source: str,
    extract_date: date,
    pseudonym_key: str,
    run_id: str | None = None,
) -> list[FileResult]:
    """Load every file of ``source`` for ``extract_date``; raise DeliveryError if blocked."""
    warehouse.ensure_schema(url)
    attempt = uuid.uuid4().hex
    specs = specs_for(source)
    folder = manifest.source_folder(landing, source, extract_date)
    try:
        listed = manifest.read_manifest(landing, source, extract_date)
        checked = [_check_file(folder, spec, listed, extract_date) for spec in specs]
        keyguard.guard(url, pseudonym_key)  # the warehouse's key, else no row is written
    except DeliveryError as error:
        _record_failure(url, source, extract_date, error, run_id, attempt)
        raise
    with warehouse.connect(url) as conn, tempfile.TemporaryDirectory() as scratch:
        # A killed loader must not leave its query running: the server checks the client.
        conn.execute("set client_connection_check_interval = 1000")
        _close_interrupted(conn, source, extract_date)
        try:
            results = [
                _load_file(
                    conn,
                    (folder, Path(scratch)),
                    spec,
                    facts,
                    extract_date,
                    pseudonym_key,
                    (run_id, attempt),
                )
                for spec, facts in checked
            ]
        except DeliveryError as error:  # found while loading: row count, bytes swapped
            conn.rollback()
            _record_failure(url, source, extract_date, error, run_id, attempt)
            raise
        # (v2) casework: rejected rows are a warning whatever their share (section 9)
        tolerant = source in REJECTS_NEVER_BLOCK
        blocked = [r for r in results if r.reject_ratio > MAX_REJECT_RATIO and not tolerant]
        if blocked:
            conn.rollback()
            _record_rejection_failure(url, folder, source, extract_date, blocked)
        _finish_batches(conn, results, tolerant)
    for result in results:
        log.info(
            "%s/%s/%s: %d rows, %d loaded, %d rejected (%.2fs)",
            source,
            extract_date,
            result.file_name,
            result.rows,
            result.loaded,
            result.rejected,
            result.seconds,
        )
    return results


def _check_file(
    folder: Path, spec: FileSpec, listed: dict[str, manifest.ManifestFile], extract_date: date
) -> tuple[FileSpec, manifest.FileFacts]:
    name = spec.file_name(extract_date)
    if name not in listed:
        raise DeliveryError(
            "file_missing", f"{spec.source}/{folder.name}/{name} is not in the manifest"
        )
    facts = manifest.verify_file(folder, spec, listed[name])
    manifest.check_header(folder, spec, name)
    return spec, facts


def _load_file(
    conn: psycopg.Connection,
    folders: tuple[Path, Path],
    spec: FileSpec,
    facts: manifest.FileFacts,
    extract_date: date,
    pseudonym_key: str,
    run: tuple[str | None, str],
) -> FileResult:
    """Load one file; ``folders`` = (the delivery's folder, a scratch folder)."""
    started = time.monotonic()
    folder, scratch = folders
    name = spec.file_name(extract_date)
    batch_id = _open_batch(conn, spec, extract_date, name, facts, run)
    rejects = scratch / f"{name}.rejects.csv"
    rowcheck.replace_partition(conn, spec, (extract_date, batch_id))
    loaded = rowcheck.copy_valid_rows(  # the bytes loaded must be the manifest's (sha256)
        conn, folder / name, spec, extract_date, rejects, pseudonym_key, facts.sha256
    )
    rejected = rowcheck.record_rejects(conn, spec, _params(spec, extract_date, batch_id), rejects)
    if loaded + rejected != facts.rows:
        raise DeliveryError(
            "row_count",
            f"{spec.source}/{folder.name}/{name}: {loaded} loaded "
            f"+ {rejected} rejected, manifest says {facts.rows}",
        )
    return FileResult(
        name,
        spec.table,
        facts.rows,
        loaded,
        rejected,
        time.monotonic() - started,
        batch_id,
        rejects,
    )


def _params(spec: FileSpec, extract_date: date, batch_id: int) -> dict[str, object]:
    return {
        "batch": batch_id,
        "source": spec.source,
        "date": extract_date,
        "file": spec.file_name(extract_date),
    }


def _open_batch(
    conn: psycopg.Connection,
    spec: FileSpec,
    extract_date: date,
    name: str,
    facts: manifest.FileFacts,
    run: tuple[str | None, str],
) -> int:
    """Batch row committed at once (autocommit side connection) so a kill shows.

    ``run`` is (Airflow run id, this attempt's id)."""
    with warehouse.connect(conn.info.dsn, autocommit=True) as side:
        row = side.execute(
            """insert into audit.load_batches (source, extract_date, file_name, target_table,
                   manifest_rows, file_rows, sha256, status, run_id, attempt_id)
               values (%s, %s, %s, %s, %s, %s, %s, 'loading', %s, %s) returning batch_id""",
            (
                spec.source,
                extract_date,
                name,
                f"raw.{spec.table}",
                facts.rows,
                facts.rows,
                facts.sha256,
                *run,
            ),
        ).fetchone()
    assert row is not None
    return int(row[0])


def _finish_batches(
    conn: psycopg.Connection, results: list[FileResult], tolerant: bool = False
) -> None:
    """Mark the batches loaded; rejected rows are noted in the message (the delivery
    check reports a non-empty message as a warning)."""
    for result in results:
        tolerance = (
            "rejected rows never block this source" if tolerant else "within the 1% tolerance"
        )
        conn.execute(
            """update audit.load_batches set status = 'loaded', loaded_rows = %s,
                   rejected_rows = %s, finished_at = clock_timestamp(),
                   message = case when %s > 0 then %s end
               where batch_id = %s""",
            (
                result.loaded,
                result.rejected,
                result.rejected,
                f"{result.rejected} rows rejected ({tolerance})",
                result.batch_id,
            ),
        )


def _close_interrupted(conn: psycopg.Connection, source: str, extract_date: date) -> None:
    with warehouse.connect(conn.info.dsn, autocommit=True) as side:
        side.execute(
            """update audit.load_batches
               set status = 'interrupted', finished_at = clock_timestamp(),
                   message = 'load did not finish (process stopped); nothing was kept'
               where source = %s and extract_date = %s and status = 'loading'""",
            (source, extract_date),
        )


def _record_failure(
    url: str,
    source: str,
    extract_date: date,
    error: DeliveryError,
    run_id: str | None,
    attempt: str,
) -> None:
    with warehouse.connect(url, autocommit=True) as conn:
        _close_interrupted(conn, source, extract_date)
        conn.execute(
            """insert into audit.load_batches (source, extract_date, file_name, target_table,
                   status, message, finished_at, run_id, attempt_id)
               values (%s, %s, %s, '', 'failed', %s, clock_timestamp(), %s, %s)""",
            (source, extract_date, error.check, error.message, run_id, attempt),
        )


def _record_rejection_failure(
    url: str,
    folder: Path,
    source: str,
    extract_date: date,
    blocked: list[FileResult],
) -> None:
    """Keep the evidence (rejected rows) of a file that failed the 1% tolerance."""
    with warehouse.connect(url) as conn:
        for result in blocked:
            spec = next(s for s in specs_for(source) if s.table == result.table)
            rowcheck.record_rejects(
                conn, spec, _params(spec, extract_date, result.batch_id), result.rejects
            )
            conn.execute(
                """update audit.load_batches set status = 'failed', finished_at = clock_timestamp(),
                       loaded_rows = 0, rejected_rows = %s, message = %s where batch_id = %s""",
                (result.rejected, _ratio_message(source, folder, result), result.batch_id),
            )
        conn.execute(
            """update audit.load_batches set status = 'failed', finished_at = clock_timestamp(),
                   loaded_rows = 0, message = 'not loaded: another file of the source failed'
               where source = %s and extract_date = %s and status = 'loading'""",
            (source, extract_date),
        )
    first = blocked[0]
    raise DeliveryError("reject_ratio", _ratio_message(source, folder, first))


def _ratio_message(source: str, folder: Path, result: FileResult) -> str:
    return (
        f"{source}/{folder.name}/{result.file_name}: {result.rejected} of {result.rows} rows "
        f"rejected ({result.reject_ratio:.2%}), more than the 1% tolerance"
    )
