"""The feed folder under crashes (contract section 6: it appears atomically).

A publish is killed with SIGKILL at a chosen point (env ``KILL_AT``, feed.py's
test hook), or while its query waits on a locked mart and its file is half
written, while a reader keeps looking at the feed folder: the reader never sees a partial
folder, ``<feed>/<D>`` is the old feed or the new one, whole, and the next
publish succeeds, sweeps what the killed one left and settles its audit row.
Folders are fsynced, not only files.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Stack
from test_casework_followup import MARTS, D

from safetynet import warehouse
from safetynet.publish import feed

pytestmark = pytest.mark.integration


@pytest.fixture
def marts(stack: Stack) -> Stack:
    warehouse.ensure_schema(stack.url)
    with warehouse.connect(stack.url) as conn:
        conn.execute(MARTS)
    return stack


KILL_AT = "SAFETYNET_TEST_FEED_KILL_AT"  # feed.KILL_AT_ENV


def publish_process(stack: Stack, kill_at: str = "") -> subprocess.CompletedProcess[str]:
    if kill_at == "locked":
        return killed_while_writing(stack)
    code = (
        "import datetime, pathlib\n"
        "from safetynet.publish import feed\n"
        f"feed.publish({stack.url!r}, pathlib.Path({str(stack.feed)!r}), "
        f"datetime.date.fromisoformat({D.isoformat()!r}), 'run-{kill_at or 'ok'}')\n"
    )
    env = {**os.environ, KILL_AT: kill_at}
    return subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def killed_while_writing(stack: Stack) -> subprocess.CompletedProcess[str]:
    """SIGKILL while the publish waits for a locked mart, its staging folder made."""
    code = (
        "import datetime, pathlib\n"
        "from safetynet.publish import feed\n"
        f"feed.publish({stack.url!r}, pathlib.Path({str(stack.feed)!r}), "
        f"datetime.date.fromisoformat({D.isoformat()!r}), 'run-locked')\n"
    )
    before = set(os.listdir(stack.feed))
    with warehouse.connect(stack.url) as conn:
        conn.execute("lock table marts.monitoring_alerts in access exclusive mode")
        process = subprocess.Popen([sys.executable, "-c", code], text=True)
        deadline = time.monotonic() + 60
        while not (set(os.listdir(stack.feed)) - before) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # its query is waiting for the lock now
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        conn.rollback()
    return subprocess.CompletedProcess(process.args, process.returncode, "", "")


def read_feed(folder: Path) -> dict[str, bytes] | None:
    """The folder's files, read through one handle on the folder (as a careful reader
    does); None if it is gone meanwhile. Raises if it is partial."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return None
    try:
        names = set(os.listdir(fd))
        files = {}
        for name in names:
            handle = os.open(name, os.O_RDONLY, dir_fd=fd)
            with open(handle, "rb") as stream:
                files[name] = stream.read()
    except FileNotFoundError:
        return None  # removed while read (an old feed replaced): not partial
    finally:
        os.close(fd)
    listed = json.loads(files["_manifest.json"])["files"]
    assert names == {"_manifest.json", *(f["name"] for f in listed)}, names
    for entry in listed:
        data = files[entry["name"]]
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["name"]
        assert data.count(b"\n") - 1 == entry["rows"], entry["name"]
    return files


class Reader(threading.Thread):
    """Looks at every visible (not dot) folder of the feed, again and again."""

    def __init__(self, feed_dir: Path) -> None:
        super().__init__(daemon=True)
        self.feed_dir, self.looks, self.errors = feed_dir, 0, []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for path in list(self.feed_dir.iterdir()):
                if path.name.startswith("."):
                    continue
                try:
                    read_feed(path)
                    self.looks += 1
                except Exception as error:  # a partial folder
                    self.errors.append(f"{path.name}: {error!r}")


@pytest.fixture
def reader(marts: Stack) -> Iterator[Reader]:
    looking = Reader(marts.feed)
    looking.start()
    yield looking
    looking.stop.set()
    looking.join(10)


def audit_actions(stack: Stack) -> list[tuple[str, str]]:
    return stack.query(
        "select run_id, action from audit.feed_publications where extract_date = %s "
        "order by published_at",
        (D,),
    )


@pytest.mark.parametrize("point", ["locked", "writing", "before_rename", "after_rename"])
def test_a_publish_killed_half_way_leaves_a_whole_feed(
    marts: Stack, reader: Reader, point: str
) -> None:
    assert publish_process(marts).returncode == 0
    final = marts.feed / D.isoformat()
    old = read_feed(final)
    with warehouse.connect(marts.url) as conn:  # the re-run of D has other alerts
        conn.execute("update marts.monitoring_alerts set severity = 'low'")

    killed = publish_process(marts, point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    now = read_feed(final)
    assert now is not None, "D's feed must not go missing"
    if point == "after_rename":
        assert now != old and b"low" in now["alerts.csv"]
        assert ("run-after_rename", "publishing") in audit_actions(marts)
    else:
        assert now == old
    if point == "before_rename":
        assert ("run-before_rename", "publishing") in audit_actions(marts)
    visible = [p.name for p in marts.feed.iterdir() if not p.name.startswith(".")]
    assert visible == [D.isoformat()]

    done = publish_process(marts)
    assert done.returncode == 0, done.stderr
    newest = read_feed(final)
    assert newest is not None and b"low" in newest["alerts.csv"]
    assert [p.name for p in marts.feed.iterdir()] == [D.isoformat()], "stale folders swept"
    actions = dict(audit_actions(marts))
    assert actions["run-ok"] == "published"
    assert "publishing" not in actions.values()
    if point not in ("locked", "writing"):
        settled = "published" if point == "after_rename" else "interrupted"
        assert actions[f"run-{point}"] == settled

    assert reader.looks > 0 and reader.errors == []


def test_folders_are_fsynced(marts: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real = os.fsync

    def recording(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(feed.os, "fsync", recording)
    feed.publish(marts.url, marts.feed, D)  # first publication
    feed.publish(marts.url, marts.feed, D)  # replaces it
    final = marts.feed / D.isoformat()
    assert str(marts.feed) in synced, "the feed folder (the rename) is fsynced"
    assert any(Path(p).parent == marts.feed and Path(p).name.startswith(".") for p in synced), (
        "the staging folder (its entries) is fsynced before the rename"
    )
    assert str(final / "alerts.csv") not in synced or synced.count(str(marts.feed)) >= 2
