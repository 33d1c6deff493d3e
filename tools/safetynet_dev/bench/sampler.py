"""Processes, memory and CPU while a day runs: a thread sampling the process table.

Every ``interval`` s (psutil when installed, else ``/proc``) the RSS of the
Airflow process tree (the process running the tasks and any child) and of
the PostgreSQL server processes (postmaster, its auxiliary processes and the
bench databases' backends; RSS and PSS, since RSS counts shared buffers once
per backend), and the CPU seconds of both and of the whole machine.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

try:  # optional: the /proc reader below does the same job without it
    import psutil
except ImportError:  # pragma: no cover - exercised by forcing use_psutil=False
    psutil = None


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    rss: int  # bytes
    cmd: str  # command line (or process title for PostgreSQL)
    cpu: float  # user + system seconds so far
    shared: int = 0  # bytes of the RSS that are file-backed or shared memory


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _use_psutil(use_psutil: bool | None) -> bool:
    return psutil is not None if use_psutil is None else use_psutil


def process_parents(use_psutil: bool | None = None) -> dict[int, int]:
    """pid → parent pid of every process of the machine (cheap: one stat file each).

    Read from /proc even with psutil (its process_iter costs 4x more per sample);
    psutil only where there is no /proc.
    """
    if _use_psutil(use_psutil) and not os.path.isdir("/proc/self"):
        return {
            p.info["pid"]: p.info["ppid"] or 0
            for p in psutil.process_iter(["pid", "ppid"])
            if p.info.get("ppid") is not None
        }
    parents = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as handle:
                    stat = handle.read().decode("utf-8", "replace")
            except OSError:
                continue  # the process ended while we read it
            parents[int(entry.name)] = int(stat[stat.rfind(")") + 2 :].split()[1])
    return parents


def _details_psutil(pid: int) -> Proc | None:
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            times = proc.cpu_times()
            cmd = " ".join(proc.cmdline()) or proc.name()
            memory = proc.memory_info()
            return Proc(
                pid,
                proc.ppid(),
                memory.rss,
                cmd,
                times.user + times.system,
                getattr(memory, "shared", 0),
            )
    except (psutil.Error, OSError):
        return None


def _details_procfs(pid: int) -> Proc | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode("utf-8", "replace")
        with open(f"/proc/{pid}/statm", "rb") as handle:
            statm = handle.read().split()
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmd = handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        rss_pages, shared_pages = int(statm[1]), int(statm[2])
    except (OSError, IndexError, ValueError):
        return None  # the process ended while we read it
    fields = stat[stat.rfind(")") + 2 :].split()  # after "pid (comm) "
    cpu = (int(fields[11]) + int(fields[12])) / _TICK
    return Proc(pid, int(fields[1]), rss_pages * _PAGE, cmd, cpu, shared_pages * _PAGE)


def process_details(pids: Iterable[int], use_psutil: bool | None = None) -> dict[int, Proc]:
    """RSS, command line and CPU seconds of ``pids`` (those still alive)."""
    reader = _details_psutil if _use_psutil(use_psutil) else _details_procfs
    found = {}
    for pid in pids:
        proc = reader(pid)
        if proc is not None:
            found[pid] = proc
    return found


def proc_snapshot(use_psutil: bool | None = None) -> dict[int, Proc]:
    """Every process of the machine: pid → Proc (psutil if installed, else /proc)."""
    return process_details(process_parents(use_psutil), use_psutil)


def descendants(root: int, procs: dict[int, Any]) -> list[int]:
    """``root`` and every process below it; ``procs`` maps pid → Proc or pid → parent pid."""
    children: dict[int, list[int]] = {}
    for pid, proc in procs.items():
        children.setdefault(proc.ppid if isinstance(proc, Proc) else proc, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in procs:
            found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def pss_bytes(pid: int) -> int | None:
    """Proportional set size (shared pages divided among their users), or None."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def postmaster_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _backend_database(title: str) -> str | None:
    """'postgres: <user> <database> <host> <state>' → database (None for aux processes)."""
    parts = title.split()
    if len(parts) >= 3 and parts[0] == "postgres:" and "(" in title:
        return parts[2]
    return None


PARALLEL_WORKER = re.compile(r"parallel worker for PID (\d+)")


def database_of(pid: int, procs: dict[int, Proc]) -> str | None:
    """Database of a backend or of its leader for a parallel worker; None for aux processes."""
    title = procs[pid].cmd
    worker = PARALLEL_WORKER.search(title)
    if worker:
        leader = int(worker.group(1))
        return _backend_database(procs[leader].cmd) if leader in procs else None
    return _backend_database(title)


def postgres_pids(
    procs: dict[int, Proc], postmaster: int | None, databases: Iterable[str] | None = None
) -> list[int]:
    """The server's processes; with ``databases``, backends of other databases left out."""
    if not postmaster or postmaster not in procs:
        return []
    keep = set(databases) if databases is not None else None
    pids = []
    for pid in descendants(postmaster, procs):
        db = database_of(pid, procs)
        if keep is None or db is None or db in keep:
            pids.append(pid)
    return pids


@dataclass
class Sample:
    t: float  # epoch seconds
    tree_rss: int  # sum over the Airflow process tree
    top_rss: int  # largest single process of the tree
    pg_rss: int  # bench PostgreSQL processes (postmaster, aux, bench backends)
    pg_pss: int  # their proportional set size (measured every few samples)
    pg_footprint: int  # their private memory + the largest shared part, counted once
    pg_all_rss: int  # every backend of the cluster (other databases too)
    cpu: float = 0.0  # CPU seconds so far of the tree and the bench backends
    machine_busy: float = 0.0  # the whole machine's busy CPU seconds since boot
    steal: float = 0.0  # the whole machine's steal seconds since boot


@dataclass
class MemoryReport:
    samples: int = 0
    peak_tree_rss: int = 0
    peak_process_rss: int = 0
    peak_process_cmd: str = ""
    peak_pg_rss: int = 0
    peak_pg_pss: int = 0
    peak_pg_footprint: int = 0
    peak_pg_all_rss: int = 0
    cpu_seconds_tree: float = 0.0
    cpu_seconds_pg: float = 0.0
    sampler_cpu_seconds: float = 0.0
    timeline: list[Sample] = field(default_factory=list)

    def peak_in(self, start: float, end: float, attr: str = "top_rss") -> int | None:
        """Peak between two instants (None when the window held no sample: a short task)."""
        values = [getattr(s, attr) for s in self.timeline if start <= s.t <= end]
        return max(values, default=None)

    def cpu_in(self, start: float, end: float, attr: str = "cpu") -> float | None:
        """CPU seconds (Airflow tree + bench backends; or ``attr``, a running total of
        the sample) spent between two instants."""
        before = [getattr(s, attr) for s in self.timeline if s.t <= start]
        after = [getattr(s, attr) for s in self.timeline if s.t >= end]
        inside = [getattr(s, attr) for s in self.timeline if start <= s.t <= end]
        first = before[-1] if before else (inside[0] if inside else None)
        last = after[0] if after else (inside[-1] if inside else None)
        return last - first if first is not None and last is not None else None

    def as_dict(self, timeline_step: float = 1.0) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "timeline"}
        kept, last = [], -1e18
        for sample in self.timeline:  # keep about one sample per timeline_step
            if sample.t - last >= timeline_step:
                kept.append(
                    [
                        round(sample.t, 2),
                        sample.tree_rss,
                        sample.top_rss,
                        sample.pg_rss,
                        sample.pg_pss,
                        sample.pg_footprint,
                        round(sample.cpu, 2),
                        round(sample.machine_busy, 2),
                        round(sample.steal, 2),
                    ]
                )
                last = sample.t
        out["timeline_columns"] = [
            "t",
            "tree_rss",
            "top_rss",
            "pg_rss",
            "pg_pss",
            "pg_footprint",
            "cpu",
            "machine_busy",
            "steal",
        ]
        out["timeline"] = kept
        return out


class ProcessSampler(threading.Thread):
    """Samples, every ``interval`` s, the memory of a process tree and of PostgreSQL."""

    def __init__(
        self,
        root_pid: int,
        postmaster: int | None = None,
        pg_databases: Iterable[str] | None = None,
        interval: float = 0.2,
        use_psutil: bool | None = None,
        with_pss: bool = True,
        pss_every: int = 25,
    ) -> None:
        super().__init__(daemon=True)
        self.root_pid = root_pid
        self.postmaster = postmaster
        self.pg_databases = list(pg_databases) if pg_databases is not None else None
        self.interval = interval
        self.use_psutil = use_psutil
        self.with_pss = with_pss
        self.pss_every = max(1, pss_every)  # PSS reads page tables: every few samples only
        self.report = MemoryReport()
        self._stop_event = threading.Event()
        self._cpu_tree: dict[int, float] = {}
        self._cpu_pg: dict[int, float] = {}
        self._last_pss = 0
        self.own_cpu_seconds = 0.0  # what sampling itself cost (this thread)

    def sample_once(self) -> Sample:
        cpu_started = time.thread_time()
        parents = process_parents(self.use_psutil)
        tree = descendants(self.root_pid, parents)
        server = descendants(self.postmaster, parents) if self.postmaster in parents else []
        procs = process_details([*tree, *server], self.use_psutil)
        tree = [pid for pid in tree if pid in procs]
        pg = postgres_pids(procs, self.postmaster, self.pg_databases)
        pg_all = [pid for pid in server if pid in procs]
        top = max(tree, key=lambda pid: procs[pid].rss, default=None)
        if self.with_pss and self.report.samples % self.pss_every == 0:
            self._last_pss = sum(pss_bytes(pid) or procs[pid].rss for pid in pg)
        sample = Sample(
            t=time.time(),
            tree_rss=sum(procs[pid].rss for pid in tree),
            top_rss=procs[top].rss if top is not None else 0,
            pg_rss=sum(procs[pid].rss for pid in pg),
            pg_pss=self._last_pss,
            pg_footprint=sum(procs[pid].rss - procs[pid].shared for pid in pg)
            + max((procs[pid].shared for pid in pg), default=0),
            pg_all_rss=sum(procs[pid].rss for pid in pg_all),
        )
        for pid in tree:
            self._cpu_tree[pid] = procs[pid].cpu
        for pid in pg:
            if database_of(pid, procs) is not None:  # backends and their workers, not aux
                self._cpu_pg[pid] = procs[pid].cpu
        report = self.report
        report.samples += 1
        report.timeline.append(sample)
        report.peak_tree_rss = max(report.peak_tree_rss, sample.tree_rss)
        if top is not None and sample.top_rss > report.peak_process_rss:
            report.peak_process_rss = sample.top_rss
            report.peak_process_cmd = procs[top].cmd[:200]
        report.peak_pg_rss = max(report.peak_pg_rss, sample.pg_rss)
        report.peak_pg_pss = max(report.peak_pg_pss, sample.pg_pss)
        report.peak_pg_footprint = max(report.peak_pg_footprint, sample.pg_footprint)
        report.peak_pg_all_rss = max(report.peak_pg_all_rss, sample.pg_all_rss)
        report.cpu_seconds_tree = sum(self._cpu_tree.values())
        report.cpu_seconds_pg = sum(self._cpu_pg.values())
        sample.cpu = report.cpu_seconds_tree + report.cpu_seconds_pg
        sample.machine_busy, sample.steal = machine_cpu()
        self.own_cpu_seconds += time.thread_time() - cpu_started
        report.sampler_cpu_seconds = self.own_cpu_seconds
        return sample

    def run(self) -> None:
        while not self._stop_event.is_set():
            started = time.monotonic()
            with contextlib.suppress(Exception):
                self.sample_once()
            self._stop_event.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def stop(self) -> MemoryReport:
        self._stop_event.set()
        self.join(timeout=10)
        return self.report


def machine_cpu() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine since boot, all cores; busy
    includes steal, the time the hypervisor gave this guest's cores to other guests."""
    with open("/proc/stat", encoding="ascii") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    steal = values[7] if len(values) > 7 else 0
    return (sum(values[:8]) - idle) / _TICK, steal / _TICK
