"""Waiting for deliveries: has a source's manifest arrived for date D?

Each poke records the arrival in ``audit.source_arrivals`` so engineers
can query when each manifest came and how long the run waited for it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from safetynet import warehouse
from safetynet.config import SOURCES
from safetynet.ingest import manifest


def record_poke(url: str, landing: Path, source: str, extract_date: date, waited: float) -> bool:
    """True once the manifest exists; the first sighting is written to the audit schema."""
    path = manifest.manifest_path(landing, source, extract_date)
    # lstat: a manifest that is a symlink (or FIFO) has "arrived"; the load refuses it
    # with a named check (manifest.open_regular) instead of a silent wait.
    arrived = path.exists() or path.is_symlink()
    seen = datetime.fromtimestamp(path.lstat().st_mtime, UTC) if arrived else None
    warehouse.ensure_schema(url)
    with warehouse.connect(url, autocommit=True) as conn:
        conn.execute(
            """insert into audit.source_arrivals as a
                   (source, extract_date, manifest_seen_at, waited_seconds, status)
               values (%s, %s, %s, %s, %s)
               on conflict (source, extract_date) do update set
                   manifest_seen_at = excluded.manifest_seen_at,
                   waited_seconds = excluded.waited_seconds, status = excluded.status,
                   checked_at = clock_timestamp()""",
            (source, extract_date, seen, round(waited, 1), "arrived" if arrived else "waiting"),
        )
    return arrived


def mark_late(url: str, sources: list[str], extract_date: date) -> None:
    with warehouse.connect(url, autocommit=True) as conn:
        for source in sources:
            conn.execute(
                """update audit.source_arrivals set status = 'late', checked_at = clock_timestamp()
                   where source = %s and extract_date = %s""",
                (source, extract_date),
            )


def missing_sources(landing: Path, extract_date: date) -> list[str]:
    return [s for s in SOURCES if not manifest.manifest_path(landing, s, extract_date).exists()]
