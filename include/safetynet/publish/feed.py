"""The monitoring feed (contract section 6): new alerts of D and (v2, section 9) the
alerts newly overdue on D, published atomically.

The folder is written under a temporary name beside its final place and
renamed into ``<feed>/<D>``, so readers see a complete feed or none. The
content is a pure function of the warehouse rows (fixed order, no
timestamps), so re-running a passed day gives the same bytes.

Durability and crashes: the files, the staging folder and the feed folder are
fsynced (a rename is durable once its folder is); a re-publication swaps the
new folder with the old in one ``renameat2(RENAME_EXCHANGE)`` so ``<feed>/<D>``
never goes missing. ``audit.feed_publications`` gets its row as intent
(``publishing``) before the rename and completed (``published``) after it. A
publish killed half-way leaves only a dot-folder and an intent row: the next
publish sweeps the dot-folders and settles the intent rows (``published`` when
the folder on disk is the one the row describes, else ``interrupted``).
"""

from __future__ import annotations

import csv
import ctypes
import ctypes.util
import errno
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg

from safetynet import warehouse

log = logging.getLogger(__name__)

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
    """fsync every file of ``folder``, then the folder itself (its entries)."""
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    _sync_dir(folder)


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Test hook: SIGKILL this process at a named point of publish() (tests/test_feed_durability).
KILL_AT_ENV = "SAFETYNET_TEST_FEED_KILL_AT"


def _crash_point(name: str) -> None:
    if os.environ.get(KILL_AT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


# What a killed publish or withdraw can leave in the feed folder: its staging folder
# (mkdtemp: ".<D>-<random>"), an old feed moved aside. Never a reader's name (no dot).
STALE = re.compile(r"^\.\d{4}-\d{2}-\d{2}-")


def sweep(url: str, feed_dir: Path) -> list[str]:
    """Remove what killed publications left behind and settle their intent rows.
    Runs at the start of every publish (one run at a time holds the warehouse lease)."""
    swept = []
    for path in sorted(feed_dir.iterdir()):
        if STALE.match(path.name) and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
            swept.append(path.name)
    if swept:
        _sync_dir(feed_dir)
    with warehouse.connect(url, autocommit=True) as conn:
        pending = conn.execute(
            """select extract_date, folder, sha256, published_at from audit.feed_publications
               where action = 'publishing'"""
        ).fetchall()
        for extract_date, folder, digest, at in pending:
            alerts = Path(folder) / ALERTS_FILE
            done = alerts.is_file() and _sha256(alerts) == digest
            conn.execute(
                """update audit.feed_publications set action = %s
                   where extract_date = %s and action = 'publishing' and published_at = %s""",
                ("published" if done else "interrupted", extract_date, at),
            )
    return swept


def publish(url: str, feed_dir: Path, extract_date: date, run_id: str | None = None) -> Publication:
    feed_dir.mkdir(parents=True, exist_ok=True)
    sweep(url, feed_dir)
    final = feed_dir / extract_date.isoformat()
    staging = Path(tempfile.mkdtemp(prefix=f".{extract_date.isoformat()}-", dir=feed_dir))
    try:
        rows = write_alerts(url, extract_date, staging / ALERTS_FILE)
        _crash_point("writing")
        overdue = write_overdue(url, extract_date, staging / OVERDUE_FILE)
        _write_manifest(staging, extract_date, {ALERTS_FILE: rows, OVERDUE_FILE: overdue})
        staging.chmod(0o755)
        _sync(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # nothing half-written stays behind
        raise
    digest = _sha256(staging / ALERTS_FILE)
    intent = _record_intent(url, extract_date, final, rows, digest, run_id)
    _crash_point("before_rename")
    _swap_into_place(staging, final)
    _crash_point("after_rename")
    _complete(url, extract_date, intent)
    return Publication(final, rows, digest, overdue)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(a))


def _swap_into_place(staging: Path, final: Path) -> None:
    """Rename the new folder into place. An older feed of D is swapped with it in one
    step (the old one ends under the staging name and is removed), so ``final`` is
    never absent; the feed folder is fsynced after."""
    if final.exists() and _exchange(staging, final):
        _sync_dir(final.parent)
        shutil.rmtree(staging)
    elif final.exists():  # no renameat2: move aside (a moment without D's folder)
        old = final.with_name(f".{final.name}-replaced")
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
        staging.rename(final)
        _sync_dir(final.parent)
        shutil.rmtree(old)
    else:
        staging.rename(final)
    _sync_dir(final.parent)


def withdraw(url: str, feed_dir: Path, extract_date: date) -> bool:
    """Remove D's feed (a re-run of D that fails the gate must leave no feed for D)."""
    final = feed_dir / extract_date.isoformat()
    if not final.exists():
        return False
    old = final.with_name(f".{final.name}-withdrawn")
    shutil.rmtree(old, ignore_errors=True)
    final.rename(old)
    _sync_dir(feed_dir)
    shutil.rmtree(old)
    with warehouse.connect(url, autocommit=True) as conn:
        conn.execute(
            """insert into audit.feed_publications (extract_date, action, folder)
               values (%s, 'withdrawn', %s)""",
            (extract_date, str(final)),
        )
    return True


def _record_intent(
    url: str, extract_date: date, folder: Path, rows: int, sha256: str, run_id: str | None
) -> object:
    """The publication's row, as intent ('publishing'), before the rename; returns
    its published_at, which identifies it for ``_complete``."""
    with warehouse.connect(url, autocommit=True) as conn:
        row = conn.execute(
            """insert into audit.feed_publications (extract_date, action, folder, rows, sha256,
                                                    run_id)
               values (%s, 'publishing', %s, %s, %s, %s) returning published_at""",
            (extract_date, str(folder), rows, sha256, run_id),
        ).fetchone()
    assert row is not None
    return row[0]


def _complete(url: str, extract_date: date, intent: object) -> None:
    """The intent row becomes 'published'. The folder is in place already: if this
    fails, the feed stands and the next publish's sweep completes the row."""
    try:
        with warehouse.connect(url, autocommit=True) as conn:
            conn.execute(
                """update audit.feed_publications set action = 'published'
                   where extract_date = %s and action = 'publishing' and published_at = %s""",
                (extract_date, intent),
            )
    except psycopg.Error as error:
        log.warning(
            "feed %s is in place; its audit row stays 'publishing': %s", extract_date, error
        )
