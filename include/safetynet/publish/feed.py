"""The monitoring feed (contract section 6): new alerts of D and (v2, section 9) the
alerts newly overdue on D, published atomically.

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
    "alert_id",
    "alert_date",
    "rule_code",
    "rule_name",
    "severity",
    "household_id",
    "person_key",
    "region_code",
    "episode_start",
    "is_new",
    "evidence",
)
ALERTS_QUERY = """
select alert_id, alert_date::text, rule_code, rule_name, severity, household_id,
       coalesce(person_key, ''), region_code, episode_start::text,
       case when is_new then 'true' else 'false' end, evidence::text
from marts.monitoring_alerts
where alert_date = %s and is_new
order by rule_code, household_id, coalesce(person_key, '')
"""
OVERDUE_COLUMNS = (
    "alert_id",
    "rule_code",
    "severity",
    "household_id",
    "person_key",
    "region_code",
    "episode_start",
    "state",
    "due_date",
)
# due_date: the deadline passed, verify_due or, while CONFIRMED, resolve_due (section 9)
OVERDUE_QUERY = """
select alert_id, rule_code, severity, household_id, coalesce(person_key, ''), region_code,
       episode_start::text, state,
       (case when state = 'CONFIRMED' then resolve_due else verify_due end)::text
from marts.alert_cases
where as_of_date = %s and is_newly_overdue
order by alert_id
"""
ALERTS_FILE, OVERDUE_FILE = "alerts.csv", "overdue.csv"


@dataclass(frozen=True)
class Publication:
    folder: Path
    rows: int  # of alerts.csv
    sha256: str  # of alerts.csv
    overdue_rows: int = 0


def _write_csv(
    url: str, query: str, header: tuple[str, ...], extract_date: date, target: Path
) -> int:
    rows = 0
    with warehouse.connect(url) as conn, open(target, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        with conn.cursor(name="feed") as cur:
            cur.execute(query, (extract_date,))
            for row in cur:
                writer.writerow(row)
                rows += 1
    return rows


def write_alerts(url: str, extract_date: date, target: Path) -> int:
    return _write_csv(url, ALERTS_QUERY, FEED_COLUMNS, extract_date, target)


def write_overdue(url: str, extract_date: date, target: Path) -> int:
    """Alerts newly overdue on D (marts.alert_cases), ordered by alert_id."""
    return _write_csv(url, OVERDUE_QUERY, OVERDUE_COLUMNS, extract_date, target)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_manifest(folder: Path, extract_date: date, rows: dict[str, int]) -> None:
    """Every file of the folder, as the landing manifests list theirs (section 1)."""
    document = {
        "extract_date": extract_date.isoformat(),
        "files": [
            {"name": name, "rows": count, "sha256": _sha256(folder / name)}
            for name, count in rows.items()
        ],
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
    try:
        rows = write_alerts(url, extract_date, staging / ALERTS_FILE)
        overdue = write_overdue(url, extract_date, staging / OVERDUE_FILE)
        _write_manifest(staging, extract_date, {ALERTS_FILE: rows, OVERDUE_FILE: overdue})
        _sync(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # nothing half-written stays behind
        raise
    digest = _sha256(staging / ALERTS_FILE)
    staging.chmod(0o755)
    _swap_into_place(staging, final)
    _record(url, extract_date, final, rows, digest, run_id)
    return Publication(final, rows, digest, overdue)


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
