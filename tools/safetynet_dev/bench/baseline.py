"""What a day delivered, and the plain ``COPY`` of the same files the load is measured against.

A plain ``COPY`` of each day's files (same bytes, same encoding options) into
unindexed all-text tables, just before that day's run; and the loader alone
(``load_source``, no Airflow) against the same COPY, interleaved.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import psycopg

from safetynet.config import SOURCES
from safetynet.ingest import loader
from safetynet.ingest.manifest import CHUNK, read_manifest
from safetynet.ingest.sources import SPECS, FileSpec
from safetynet_dev.bench.stages import metadata_url


def day_inventory(landing: Path, day: date) -> dict[str, dict[str, dict[str, int]]]:
    """source → file → {rows, bytes}, from the manifests and the files."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for source in SOURCES:
        listed = read_manifest(landing, source, day)
        folder = landing / source / day.isoformat()
        out[source] = {
            name: {"rows": f.rows, "bytes": (folder / name).stat().st_size}
            for name, f in listed.items()
        }
    return out


def source_rows(inventory: dict[str, dict[str, dict[str, int]]]) -> dict[str, int]:
    return {source: sum(f["rows"] for f in files.values()) for source, files in inventory.items()}


@dataclass
class CopyResult:
    source: str
    file_name: str
    rows: int
    bytes: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def copy_options(spec: FileSpec) -> str:
    """The same COPY options the loader uses for the file (encoding, header, delimiter)."""
    delimiter = spec.delimiter.replace("'", "''")
    return (
        f"(format csv, header {str(spec.header).lower()}, delimiter '{delimiter}', "
        f"encoding '{spec.encoding}')"
    )


def copy_baseline(
    url: str,
    landing: Path,
    day: date,
    schema: str = "bench_copy",
    specs: Iterable[FileSpec] = SPECS,
    repeats: int = 1,
) -> list[CopyResult]:
    """COPY each file of ``day`` as it is into a fresh unindexed all-text table, timed.

    Timed: the COPY FROM STDIN of the file's bytes (1 MiB chunks, as the
    loader sends them) and its commit; not timed: creating the table. With
    ``repeats`` > 1 each file is copied that many times into a fresh table
    and the median time is kept (the machine may be shared).
    """
    specs = list(specs)
    runs = [_copy_once(url, landing, day, schema, specs) for _ in range(max(1, repeats))]
    results = []
    for index, first in enumerate(runs[0]):
        times = sorted(run[index].seconds for run in runs)
        results.append(
            CopyResult(
                first.source, first.file_name, first.rows, first.bytes, times[len(times) // 2]
            )
        )
    return results


def _copy_once(
    url: str, landing: Path, day: date, schema: str, specs: list[FileSpec]
) -> list[CopyResult]:
    results = []
    with psycopg.connect(metadata_url(url)) as conn:
        conn.execute(f'drop schema if exists "{schema}" cascade')
        conn.execute(f'create schema "{schema}"')
        conn.commit()
        for spec in specs:
            name = spec.file_name(day)
            path = landing / spec.source / day.isoformat() / name
            table = f'"{schema}"."{spec.table}"'
            columns = ", ".join(f'"{c}" text' for c in spec.column_names)
            conn.execute(f"create table {table} ({columns})")
            conn.commit()
            started = time.perf_counter()
            with conn.cursor() as cur:
                with (
                    cur.copy(f"copy {table} from stdin with {copy_options(spec)}") as copy,
                    open(path, "rb") as handle,
                ):
                    while chunk := handle.read(CHUNK):
                        copy.write(chunk)
                rows = cur.rowcount
            conn.commit()
            seconds = time.perf_counter() - started
            results.append(CopyResult(spec.source, name, rows, path.stat().st_size, seconds))
        conn.execute(f'drop schema "{schema}" cascade')
        conn.commit()
    return results


def loader_against_copy(
    url: str,
    landing: Path,
    day_and_key: tuple[date, str],
    repeats: int = 3,
    schema: str = "bench_copy",
) -> dict[str, Any]:
    """The loader alone (``load_source``, no Airflow) against plain COPY, per source.

    For each source, ``repeats`` rounds of: load the source's files of ``day``
    again (it replaces the day's batch), then plain-COPY the same files; the
    median of each is kept. Interleaving puts both under the same conditions
    on a shared machine; the Airflow stage adds task start-up on top.
    ``day_and_key``: the date and the deployment's pseudonym key."""
    day, key = day_and_key
    per_source = {}
    for source in SOURCES:
        specs = [s for s in SPECS if s.source == source]
        loads, copies = [], []
        for _ in range(max(1, repeats)):
            started = time.perf_counter()
            loaded = loader.load_source(url, landing, source, day, key)
            loads.append(time.perf_counter() - started)
            copies.append(sum(c.seconds for c in _copy_once(url, landing, day, schema, specs)))
        load_s, copy_s = sorted(loads)[len(loads) // 2], sorted(copies)[len(copies) // 2]
        per_source[source] = {
            "rows": sum(r.rows for r in loaded),
            "loader_seconds": load_s,
            "copy_seconds": copy_s,
            "ratio": copy_s / load_s if load_s else None,
        }
    load_total = sum(v["loader_seconds"] for v in per_source.values())
    copy_total = sum(v["copy_seconds"] for v in per_source.values())
    return {
        "repeats": repeats,
        "per_source": per_source,
        "loader_seconds": load_total,
        "copy_seconds": copy_total,
        "ratio": copy_total / load_total if load_total else None,
    }


def load_ratios(
    copies: list[CopyResult],
    rows: dict[str, int],
    task_seconds: dict[str, float],
    load_wall: float | None,
) -> dict[str, Any]:
    """Pipeline load rows/s ÷ plain COPY rows/s, per source and in total (two ways)."""
    per_source = {}
    for source in SOURCES:
        mine = [c for c in copies if c.source == source]
        copy_seconds = sum(c.seconds for c in mine)
        copy_rows = sum(c.rows for c in mine)
        task = task_seconds.get(source)
        pipeline_rps = rows.get(source, 0) / task if task else None
        copy_rps = copy_rows / copy_seconds if copy_seconds else None
        per_source[source] = {
            "rows": rows.get(source, 0),
            "task_seconds": task,
            "pipeline_rows_per_s": pipeline_rps,
            "copy_rows": copy_rows,
            "copy_seconds": copy_seconds,
            "copy_rows_per_s": copy_rps,
            "ratio": pipeline_rps / copy_rps if pipeline_rps and copy_rps else None,
        }
    total_rows = sum(rows.values())
    copy_seconds = sum(c.seconds for c in copies)
    copy_rps = sum(c.rows for c in copies) / copy_seconds if copy_seconds else None
    summed = sum(v for v in task_seconds.values() if v)
    by_sum = total_rows / summed if summed else None
    by_wall = total_rows / load_wall if load_wall else None
    return {
        "per_source": per_source,
        "copy_rows_per_s": copy_rps,
        "copy_seconds": copy_seconds,
        "pipeline_rows_per_s_stage_wall": by_wall,
        "pipeline_rows_per_s_task_sum": by_sum,
        "ratio_stage_wall": by_wall / copy_rps if by_wall and copy_rps else None,
        "ratio_task_sum": by_sum / copy_rps if by_sum and copy_rps else None,
    }
