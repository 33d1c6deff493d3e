"""Casework deliveries with chosen rows, for tests (contract v2 section 9).

Generated landings already carry a casework folder per day (header-only: see
``safetynet_dev.synth.generator``); a test that needs particular decisions, or
damaged bytes, writes them here. Serialisation and the manifest are the case
simulator's (``safetynet_dev.synth.casework``); the record count is taken here
with the csv module, independently of the loader's own count.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path

from safetynet_dev.synth.casework import FILE_NAME, SOURCE, serialise
from safetynet_dev.synth.writer import write_manifest


def write_casework(
    landing: Path, day: date | str, rows: Iterable[Sequence[str]] = (), data: bytes | None = None
) -> Path:
    """Write ``casework/<day>/dispositions.csv`` (``rows``, or the bytes ``data`` as they
    are) and its manifest; ``rows`` counts CSV records (a note may span lines)."""
    day = day if isinstance(day, str) else day.isoformat()
    folder = Path(landing) / SOURCE / day
    folder.mkdir(parents=True, exist_ok=True)
    content = serialise([tuple(row) for row in rows]) if data is None else data
    (folder / FILE_NAME).write_bytes(content)
    records = len(list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))) - 1
    listed = {
        "name": FILE_NAME,
        "rows": max(records, 0),
        "sha256": hashlib.sha256(content).hexdigest(),
    }
    write_manifest(folder, SOURCE, day, [listed])
    return folder / FILE_NAME
