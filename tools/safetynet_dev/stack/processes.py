"""Background processes of the local stack: pid files, process groups, stopping.

Shared by the local Airflow services (``services``) and the Celery cluster
(``cluster``). Every process is started in a session of its own (it leads its
process group, so that stopping it stops its children too), with its output in
``<folder>/<name>.log`` and ``<pid> <start time>`` in ``<folder>/<name>.pid``.
A pid file is trusted only while its process runs and is the same process:
the start time (clock ticks since boot, ``/proc/<pid>/stat``) tells a reused
pid apart, a zombie counts as gone, and a ``marker`` may be asked of the
command line. So a stale pid file never gets a stranger signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


def _stat(pid: int) -> list[str]:
    """Fields of /proc/<pid>/stat after the command name ([0] state, [19] start time)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return []


def start_time(pid: int) -> str | None:
    """When the process started (clock ticks since boot): tells a pid's reuse apart."""
    fields = _stat(pid)
    return fields[19] if len(fields) > 19 else None


def is_running(pid: int) -> bool:
    """The process exists and is not a zombie."""
    fields = _stat(pid)
    return bool(fields) and fields[0] != "Z"


def command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return b""


def group_alive(pgid: int) -> bool:
    """Whether a process of the group led by ``pgid`` still runs (zombies do not count:
    their parent reaps them later)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid and is_running(int(entry.name)):
                    return True
            except OSError:
                continue
    return False


def stop_groups(pids: Sequence[int], timeout: float, leaders_only: bool = False) -> None:
    """SIGTERM to each process group (``leaders_only``: to the leader alone, e.g. a
    Celery worker's warm shutdown, whose pool ends when it has finished its tasks),
    then, after ``timeout``, SIGKILL to whatever is left of the groups."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            if leaders_only:
                os.kill(pid, signal.SIGTERM)
            else:
                os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(group_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.3)
    for pid in pids:
        if group_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


@dataclass(frozen=True)
class PidFiles:
    """The pid and log files of named background processes in one folder."""

    folder: Path

    def pid_file(self, name: str) -> Path:
        return self.folder / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.folder / f"{name}.log"

    def spawn(self, name: str, command: Sequence[str], environ: Mapping[str, str]) -> int:
        """Start ``command`` in a new session, its output appended to ``<name>.log``."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.log_file(name), "ab") as log:
            process = subprocess.Popen(
                list(command),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(environ),
                start_new_session=True,
            )
        started = start_time(process.pid) or ""
        self.pid_file(name).write_text(f"{process.pid} {started}".strip())
        return process.pid

    def pid(self, name: str, marker: bytes | None = None) -> int | None:
        """Pid of the running process ``name``; None for a missing or stale pid file
        (process gone, a zombie, or its pid reused: another start time, or no
        ``marker`` in its command line)."""
        try:
            pid_text, _, started = self.pid_file(name).read_text().strip().partition(" ")
            pid = int(pid_text)
        except (OSError, ValueError):
            return None
        if not is_running(pid) or (started and start_time(pid) != started):
            return None
        if marker is not None and marker not in command_line(pid):
            return None
        return pid

    def forget(self, *names: str) -> None:
        for name in names:
            self.pid_file(name).unlink(missing_ok=True)

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.log_file(name)
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
