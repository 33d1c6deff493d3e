"""The monitoring feed (contract section 6): new alerts of D, published atomically.

The folder is written under a temporary name beside its final place and
renamed into ``<feed>/<D>``, so readers see a complete feed or none. The
content is a pure function of the warehouse rows (fixed order, no
timestamps), so re-running a passed day gives the same bytes.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from safetynet import warehouse

FEED_COLUMNS = (
    "alert_date",
    "rule_code",
    "rule_name",
    "severity",
    "household_id",
    "person_key",
    "region_code",
    "is_new",
    "evidence",
)
ALERTS_QUERY = """
select alert_date::text, rule_code, rule_name, severity, household_id,
       coalesce(person_key, ''), region_code, case when is_new then 'true' else 'false' end,
       evidence::text
from marts.monitoring_alerts
where alert_date = %s and is_new
order by rule_code, household_id, coalesce(person_key, '')
"""


@dataclass(frozen=True)
class Publication:
    folder: Path
    rows: int
    sha256: str


def write_alerts(url: str, extract_date: date, target: Path) -> int:
    rows = 0
    with warehouse.connect(url) as conn, open(target, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FEED_COLUMNS)
        with conn.cursor(name="feed") as cur:
            cur.execute(ALERTS_QUERY, (extract_date,))
            for row in cur:
                writer.writerow(row)
                rows += 1
    return rows


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_manifest(folder: Path, extract_date: date, rows: int, sha256: str) -> None:
    document = {
        "extract_date": extract_date.isoformat(),
        "files": [{"name": "alerts.csv", "rows": rows, "sha256": sha256}],
    }
    (folder / "_manifest.json").write_text(json.dumps(document) + "\n", encoding="utf-8")


def _sync(folder: Path) -> None:
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())


def publish(url: str, feed_dir: Path, extract_date: date, run_id: str | None = None) -> Publication:
    feed_dir.mkdir(parents=True, exist_ok=True)
    final = feed_dir / extract_date.isoformat()
    staging = Path(tempfile.mkdtemp(prefix=f".{extract_date.isoformat()}-", dir=feed_dir))
    rows = write_alerts(url, extract_date, staging / "alerts.csv")
    digest = _sha256(staging / "alerts.csv")
    _write_manifest(staging, extract_date, rows, digest)
    _sync(staging)
    staging.chmod(0o755)
    _swap_into_place(staging, final)
    _record(url, extract_date, final, rows, digest, run_id)
    return Publication(final, rows, digest)


def _swap_into_place(staging: Path, final: Path) -> None:
    """Rename the new folder into place; an older feed of D is moved aside first."""
    if final.exists():
        old = final.with_name(f".{final.name}-replaced")
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
        staging.rename(final)
        shutil.rmtree(old)
    else:
        staging.rename(final)


def withdraw(url: str, feed_dir: Path, extract_date: date) -> bool:
    """Remove D's feed (a re-run of D that fails the gate must leave no feed for D)."""
    final = feed_dir / extract_date.isoformat()
    if not final.exists():
        return False
    old = final.with_name(f".{final.name}-withdrawn")
    shutil.rmtree(old, ignore_errors=True)
    final.rename(old)
    shutil.rmtree(old)
    with warehouse.connect(url, autocommit=True) as conn:
        conn.execute(
            """insert into audit.feed_publications (extract_date, action, folder)
               values (%s, 'withdrawn', %s)""",
            (extract_date, str(final)),
        )
    return True


def _record(
    url: str, extract_date: date, folder: Path, rows: int, sha256: str, run_id: str | None
) -> None:
    with warehouse.connect(url, autocommit=True) as conn:
        conn.execute(
            """insert into audit.feed_publications (extract_date, action, folder, rows, sha256,
                                                    run_id)
               values (%s, 'published', %s, %s, %s, %s)""",
            (extract_date, str(folder), rows, sha256, run_id),
        )
