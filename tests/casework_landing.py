"""Casework deliveries for tests (contract v2 section 9): dispositions.csv + manifest.

The synthetic generator (``make data``) may not write casework; every landing a test
builds from it needs one casework folder per day, or the DAG waits for it.
``add_header_only_casework`` adds a header-only delivery (a day without decisions)
for each date another source delivered, leaving existing casework folders alone.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path

HEADER = ("alert_id", "status", "decided_on", "handler", "note")
NAME = "dispositions.csv"


def serialise(rows: Iterable[Sequence[str]]) -> bytes:
    """CSV as the case system writes it: header, comma, ``"`` quoting when needed, LF."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return text.getvalue().encode("utf-8")


def write_casework(
    landing: Path, day: date | str, rows: Iterable[Sequence[str]] = (), data: bytes | None = None
) -> Path:
    """Write ``casework/<day>/dispositions.csv`` (``rows``, or the bytes ``data`` as they
    are) and its manifest; ``rows`` counts CSV records (a note may span lines)."""
    day = day if isinstance(day, str) else day.isoformat()
    folder = Path(landing) / "casework" / day
    folder.mkdir(parents=True, exist_ok=True)
    content = serialise(rows) if data is None else data
    (folder / NAME).write_bytes(content)
    records = len(list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))) - 1
    manifest = {
        "source": "casework",
        "extract_date": day,
        "files": [
            {"name": NAME, "rows": max(records, 0), "sha256": hashlib.sha256(content).hexdigest()}
        ],
    }
    (folder / "_manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder / NAME


def add_header_only_casework(landing: Path) -> list[str]:
    """A header-only casework delivery for every date of the landing that has none."""
    landing = Path(landing)
    days = {
        p.parent.name
        for p in landing.glob("*/*/_manifest.json")
        if p.parent.parent.name != "casework"
    }
    added = []
    for day in sorted(days):
        if not (landing / "casework" / day / "_manifest.json").exists():
            write_casework(landing, day)
            added.append(day)
    return added
