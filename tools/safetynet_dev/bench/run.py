"""``make bench``: the scale benchmark of issue 7 (≈1M persons x 3 days).

``python -m safetynet_dev.bench.run [--households 400000] [--days 3] [--start 2026-10-01]``

One invocation, on its own isolated deployment of the local cluster:

1. a fresh warehouse database (``bench``) and a fresh Airflow metadata
   database (``bench_airflow``), its own ``var/bench/{landing,feed,reports,
   airflow,cosmos}``; the statements of the bench database that take longer
   than ``--slow-ms`` go to the server log (``ALTER DATABASE ... SET
   log_min_duration_statement``), so the slowest loader, dbt and GX
   statements can be named afterwards without touching the code;
2. the synthetic extracts (``generator.generate``), timed on their own:
   generation is not part of the pipeline figures;
3. ``airflow dags test safetynet_daily <D>`` for each day in order, as a
   subprocess, while a sampler thread (every ``--interval`` s, psutil when
   installed, else ``/proc``) records the RSS of the Airflow process tree
   (the process running the tasks and any child) and of the PostgreSQL
   server processes (postmaster, its auxiliary processes and the bench
   databases' backends; RSS and PSS, since RSS counts shared buffers once per
   backend);
4. per-stage wall times from the Airflow metadata database (task_instance
   start/end of the day's run), rows/s of the load stage and of each source;
5. a plain ``COPY`` of each day's files (same bytes, same encoding options)
   into unindexed all-text tables just before that day's run, and the
   pipeline/COPY ratio;
6. a table on stdout and ``var/bench/results-<timestamp>.json`` (also
   ``var/bench/latest.json``) to compare runs.

The measuring functions (``ProcessSampler``, ``stage_times``,
``copy_baseline``, ``slow_statements``...) are importable on their own and
covered by ``tests/test_bench.py`` on a few hundred households.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from safetynet import config
from safetynet.config import LOCAL_PASSWORD, SOURCES
from safetynet.ingest import loader
from safetynet.ingest.manifest import CHUNK, read_manifest
from safetynet.ingest.sources import SPECS, FileSpec
from safetynet_dev.stack import env, localpg
from safetynet_dev.stack.ports import free_port, port_open
from safetynet_dev.stack.services import warm_execution_api
from safetynet_dev.synth import generator

try:  # optional: the /proc reader below does the same job without it
    import psutil
except ImportError:  # pragma: no cover - exercised by forcing use_psutil=False
    psutil = None

DAG_ID = "safetynet_daily"
MIB = 1 << 20
GIB = 1 << 30
# Stages of one day, in DAG order: (name, task ids or a task id prefix).
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("wait", ("wait_", "check_arrivals")),
    ("load", ("load_",)),
    ("check_raw", ("check_raw",)),
    ("dbt_build", ("dbt_build",)),
    ("check_marts", ("check_marts",)),
    ("publish", ("publish_feed",)),
)
TARGETS = {"day_seconds": 180.0, "load_copy_ratio": 0.70, "task_rss_bytes": GIB}


# ---------------------------------------------------------------- processes and memory


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


# ---------------------------------------------------------------- the day's run (Airflow metadata)


@dataclass(frozen=True)
class TaskTime:
    task_id: str
    state: str | None
    start: datetime | None
    end: datetime | None
    try_number: int = 0

    @property
    def seconds(self) -> float | None:
        if self.start and self.end:
            return (self.end - self.start).total_seconds()
        return None


def metadata_url(sqlalchemy_conn: str) -> str:
    """AIRFLOW__DATABASE__SQL_ALCHEMY_CONN → a libpq URL psycopg takes."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", sqlalchemy_conn)


def day_run(
    meta_url: str, day: date, dag_id: str = DAG_ID
) -> tuple[dict[str, Any], list[TaskTime]]:
    """The latest run of ``dag_id`` for logical date ``day`` and its task instances."""
    with psycopg.connect(metadata_url(meta_url)) as conn:
        run = conn.execute(
            """select run_id, state, start_date, end_date from dag_run
               where dag_id = %s and logical_date >= %s and logical_date < %s
               order by start_date desc nulls last limit 1""",
            (
                dag_id,
                datetime.combine(day, datetime.min.time(), UTC),
                datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC),
            ),
        ).fetchone()
        if not run:
            return {}, []
        tasks = conn.execute(
            """select task_id, state, start_date, end_date, try_number from task_instance
               where dag_id = %s and run_id = %s order by start_date nulls last, task_id""",
            (dag_id, run[0]),
        ).fetchall()
    info = {"run_id": run[0], "state": run[1], "start": run[2], "end": run[3]}
    return info, [TaskTime(*row) for row in tasks]


def _matches(task_id: str, patterns: tuple[str, ...]) -> bool:
    return any(task_id == p or (p.endswith("_") and task_id.startswith(p)) for p in patterns)


def stage_times(
    tasks: list[TaskTime], run_start: datetime | None = None, run_end: datetime | None = None
) -> dict[str, Any]:
    """Wall seconds per stage (first start → last end of its tasks), per task, total.

    ``other`` is the run's wall time not covered by any stage (scheduling
    between tasks, discard_day when it runs).
    """
    stages: dict[str, float | None] = {}
    windows = []
    for name, patterns in STAGES:
        mine = [t for t in tasks if _matches(t.task_id, patterns) and t.start and t.end]
        if not mine:
            stages[name] = None
            continue
        first, last = min(t.start for t in mine), max(t.end for t in mine)
        stages[name] = (last - first).total_seconds()
        windows.append((first, last))
    starts = [t.start for t in tasks if t.start]
    ends = [t.end for t in tasks if t.end]
    run_start = run_start or (min(starts) if starts else None)
    run_end = run_end or (max(ends) if ends else None)
    total = (run_end - run_start).total_seconds() if run_start and run_end else None
    covered = _union_seconds(windows)
    return {
        "stages": stages,
        "other": (total - covered) if total is not None else None,
        "total": total,
        "tasks": {
            t.task_id: {
                "seconds": t.seconds,
                "state": t.state,
                "start": t.start.timestamp() if t.start else None,
                "end": t.end.timestamp() if t.end else None,
            }
            for t in tasks
        },
    }


def _union_seconds(windows: list[tuple[datetime, datetime]]) -> float:
    total, current = 0.0, None
    for start, end in sorted(windows):
        if current and start <= current[1]:
            current = (current[0], max(current[1], end))
            continue
        if current:
            total += (current[1] - current[0]).total_seconds()
        current = (start, end)
    if current:
        total += (current[1] - current[0]).total_seconds()
    return total


# ---------------------------------------------------------------- what was delivered


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


# ---------------------------------------------------------------- plain COPY baseline


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


# ---------------------------------------------------------------- where the time goes


LOG_LINE = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) (?P<tz>\S+) \[(?P<pid>\d+)\] "
    r"(?P<level>[A-Z]+):\s+(?P<text>.*)$"
)
DURATION = re.compile(
    r"^duration: (?P<ms>[\d.]+) ms\s+(?:(?:statement|execute [^:]*|bind [^:]*"
    r"|parse [^:]*): )?(?P<sql>.*)$",
    re.S,
)
TEMP_FILE = re.compile(r'^temporary file: path "[^"]+", size (?P<bytes>\d+)')
DBT_COMMENT = re.compile(r"^/\*.*?\*/\s*", re.S)
DBT_NODE = re.compile(r'"node_id": "(?:model|test|seed)\.[a-z0-9_]+\.(?P<model>[a-z0-9_]+)"')
DBT_RELATION = re.compile(
    r'"(?:staging|intermediate|marts|reference)"\."(?P<model>[a-z0-9_]+?)(?:__dbt_(?:tmp|backup)\w*)?"'
)


@dataclass
class Statement:
    t: float  # epoch seconds at the end of the statement
    ms: float
    sql: str
    pid: int
    temp_bytes: int = 0

    @property
    def model(self) -> str | None:
        """The dbt node a statement belongs to (dbt's query comment, else the relation)."""
        found = DBT_NODE.search(self.sql) or DBT_RELATION.search(self.sql)
        return found.group("model") if found else None

    def short(self, width: int = 150) -> str:
        text = " ".join(DBT_COMMENT.sub("", self.sql).split())
        if self.model and DBT_NODE.search(self.sql):
            text = f"[{self.model}] {text}"
        return text if len(text) <= width else text[: width - 1] + "…"


def _log_time(ts: str, tz: str) -> float:
    moment = datetime.fromisoformat(ts)
    if tz in ("UTC", "GMT", "Etc/UTC"):
        return moment.replace(tzinfo=UTC).timestamp()
    try:
        from zoneinfo import ZoneInfo

        return moment.replace(tzinfo=ZoneInfo(tz)).timestamp()
    except Exception:
        return moment.timestamp()


def _log_entries(lines: Iterable[str]) -> Iterator[tuple[float, int, str, str]]:
    """(epoch, pid, level, text with continuation lines) per server log entry."""
    current = None
    for line in lines:
        found = LOG_LINE.match(line.rstrip("\n"))
        if found:
            if current:
                yield current
            current = (
                _log_time(found["ts"], found["tz"]),
                int(found["pid"]),
                found["level"],
                found["text"],
            )
        elif current:
            current = (*current[:3], current[3] + "\n" + line.rstrip("\n"))
    if current:
        yield current


def slow_statements(log_path: Path, offset: int = 0) -> tuple[list[Statement], int]:
    """Statements logged by log_min_duration_statement after ``offset``; new offset."""
    try:
        with open(log_path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except OSError:
        return [], offset
    statements, temp_by_pid = [], {}
    for t, pid, level, text in _log_entries(data.decode("utf-8", "replace").splitlines()):
        if level != "LOG":
            continue
        temp = TEMP_FILE.match(text)
        if temp:
            temp_by_pid[pid] = temp_by_pid.get(pid, 0) + int(temp["bytes"])
            continue
        found = DURATION.match(text)
        if found:
            statements.append(
                Statement(t, float(found["ms"]), found["sql"].strip(), pid, temp_by_pid.pop(pid, 0))
            )
    return statements, offset + len(data)


def task_at(t: float, tasks: dict[str, dict[str, Any]]) -> str:
    for task_id, info in tasks.items():
        if info.get("start") and info.get("end") and info["start"] <= t <= info["end"] + 0.5:
            return task_id
    return "?"


ANSI = re.compile(r"\x1b\[[0-9;]*m")
DBT_LINE = re.compile(
    r"(?P<index>\d+) of (?P<count>\d+) (?P<status>OK|ERROR|PASS|FAIL|WARN|SKIP)\b(?P<what>.*?)"
    r"[\s.]*\[(?P<detail>[^\]]*?) in (?P<seconds>[\d.]+)s\]"
)


def dbt_node_times(output: str) -> list[dict[str, Any]]:
    """dbt's per-node lines: '12 of 40 OK created sql table model x.y ... [SELECT 1 in 2.1s]'."""
    nodes, seen = [], set()
    for line in ANSI.sub("", output).splitlines():
        found = DBT_LINE.search(line)
        if not found:
            continue
        what = found["what"].strip()
        name = what.split()[-1] if what else "?"
        key = (found["index"], name)
        if key in seen:
            continue
        seen.add(key)
        nodes.append(
            {
                "node": name,
                "what": what,
                "status": found["status"],
                "detail": found["detail"],
                "seconds": float(found["seconds"]),
            }
        )
    return nodes


DBT_CLOCK = re.compile(r"^(?:\S*?)(?P<clock>\d\d:\d\d:\d\d)  (?P<text>.*)$")


def dbt_summary(output: str) -> dict[str, Any]:
    """Where dbt_build's time goes: parse, execution, node kinds, threads (dbt's own log)."""
    clock: dict[str, int] = {}
    summary: dict[str, Any] = {}
    for line in ANSI.sub("", output).splitlines():
        found = DBT_CLOCK.match(line)
        if not found:
            continue
        text = found["text"]
        h, m, sec = (int(x) for x in found["clock"].split(":"))
        seconds = h * 3600 + m * 60 + sec
        for key, marker in (
            ("start", "Running with dbt="),
            ("found", "Found "),
            ("finished", "Finished running"),
        ):
            if text.startswith(marker) and key not in clock:
                clock[key] = seconds
        if text.startswith("Found "):
            summary["found"] = text
        elif text.startswith("Concurrency:"):
            summary["threads"] = int(re.search(r"(\d+) thread", text)[1])
        elif "Unable to do partial parsing" in text:
            summary["partial_parse"] = False
        elif text.startswith("Finished running"):
            took = re.search(r"\(([\d.]+)s\)", text)
            summary["execution_seconds"] = float(took[1]) if took else None
    if "start" in clock and "found" in clock:
        summary["parse_seconds"] = (clock["found"] - clock["start"]) % 86400
    nodes = dbt_node_times(output)
    kinds: dict[str, float] = {}
    for node in nodes:
        what = node["what"]
        kind = (
            "test"
            if node["detail"] in ("PASS", "FAIL", "WARN", "ERROR") or " test " in what
            else "seed"
            if "seed" in what
            else "model"
        )
        kinds[kind] = kinds.get(kind, 0.0) + node["seconds"]
    summary["node_seconds"] = kinds
    summary["nodes"] = len(nodes)
    return summary


AIRFLOW_TS = re.compile(r"^(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z ")


def airflow_overheads(output: str, process_start: float) -> dict[str, float | None]:
    """Start-up before the first task, and the first task's own start-up (in-process API)."""
    first_starting = first_running = first_started = None
    for line in output.splitlines():
        found = AIRFLOW_TS.match(line)
        if not found:
            continue
        t = datetime.fromisoformat(found["ts"]).replace(tzinfo=UTC).timestamp()
        if first_starting is None and "[DAG TEST] starting task_id=" in line:
            first_starting = t
        elif first_running is None and "[DAG TEST] running task" in line:
            first_running = t
        elif first_started is None and first_running and "Task started" in line:
            first_started = t
            break
    return {
        "before_first_task": first_starting - process_start if first_starting else None,
        "first_task_startup": first_started - first_running
        if first_started and first_running
        else None,
    }


LOADER_LINE = re.compile(
    r"(?P<source>[a-z_]+)/(?P<date>\d{4}-\d\d-\d\d)/(?P<file>\S+): "
    r"(?P<rows>\d+) rows, (?P<loaded>\d+) loaded, (?P<rejected>\d+) rejected "
    r"\((?P<seconds>[\d.]+)s\)"
)


def loader_file_times(output: str) -> list[dict[str, Any]]:
    """The loader's per-file log lines (staging + validation + insert, per file)."""
    out, seen = [], set()
    for found in LOADER_LINE.finditer(output):
        key = (found["source"], found["file"])
        if key in seen:
            continue
        seen.add(key)
        out.append(
            {
                "source": found["source"],
                "file": found["file"],
                "rows": int(found["rows"]),
                "loaded": int(found["loaded"]),
                "rejected": int(found["rejected"]),
                "seconds": float(found["seconds"]),
            }
        )
    return out


# ---------------------------------------------------------------- the isolated deployment


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"api-server exited with {process.returncode}")
        if port_open(port):
            return
        time.sleep(0.5)
    raise RuntimeError(f"api-server did not listen on port {port} within {timeout:.0f} s")


def _url_with_password(url: str) -> str:
    return url.replace("safetynet@", f"safetynet:{LOCAL_PASSWORD}@")


@dataclass
class Deployment:
    """The bench's own databases and folders on the local cluster."""

    cluster: localpg.Cluster
    root: Path
    database: str = "bench"
    metadata_database: str = "bench_airflow"
    source_timeout: int = 120
    use_executor: bool = True  # LocalExecutor: the loads run side by side
    parallelism: int = 4  # core.parallelism: one slot per source, the four loads start at once
    api_port: int = 0  # of the execution API the executor's workers report to

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def warehouse_url(self) -> str:
        return _url_with_password(self.cluster.url(self.database))

    @property
    def metadata_sqlalchemy(self) -> str:
        return (
            f"postgresql+psycopg://safetynet@127.0.0.1:{self.cluster.port}/{self.metadata_database}"
        )

    def environ(self) -> dict[str, str]:
        environ = {**os.environ, **env.local_environment()}
        environ.update(
            {
                "SAFETYNET_LANDING_DIR": str(self.landing),
                "SAFETYNET_FEED_DIR": str(self.root / "feed"),
                "SAFETYNET_REPORTS_DIR": str(self.root / "reports"),
                "SAFETYNET_SOURCE_TIMEOUT": str(self.source_timeout),
                "AIRFLOW_CONN_WAREHOUSE": self.warehouse_url,
                "AIRFLOW_HOME": str(self.root / "airflow"),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.metadata_sqlalchemy,
                "AIRFLOW__COSMOS__CACHE_DIR": str(self.root / "cosmos"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
            }
        )
        if self.use_executor:
            environ["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = (
                f"http://127.0.0.1:{self.api_port}/execution/"
            )
        environ.pop("PYTHONDONTWRITEBYTECODE", None)
        return environ

    def create(self, slow_ms: int | None = 200) -> None:
        """Fresh databases and folders (the landing folder is left to ``generate``)."""
        with psycopg.connect(self.cluster.url("postgres"), autocommit=True) as conn:
            for name in (self.database, self.metadata_database):
                conn.execute(f'drop database if exists "{name}" with (force)')
                conn.execute(f'create database "{name}"')
            if slow_ms is not None:
                conn.execute(
                    f'alter database "{self.database}" set log_min_duration_statement = '
                    f"{int(slow_ms)}"
                )
                conn.execute(f'alter database "{self.database}" set log_temp_files = 0')
        for name in ("feed", "reports", "airflow", "cosmos", "logs"):
            shutil.rmtree(self.root / name, ignore_errors=True)
            (self.root / name).mkdir(parents=True)

    @contextlib.contextmanager
    def execution_api(self) -> Iterator[None]:
        """``dags test --use-executor`` workers talk to an api-server, as in production."""
        if not self.use_executor:
            yield
            return
        self.api_port = free_port()
        log = open(self.root / "logs" / "api-server.log", "wb")  # noqa: SIM115 - closed below
        server = subprocess.Popen(
            [
                "airflow",
                "api-server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.api_port),
                "--workers",
                "1",
            ],
            env=self.environ(),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=config.project_home(),
            start_new_session=True,
        )
        try:
            _wait_for_port(self.api_port, server, timeout=180)
            # as a long-running api-server would be: day 1's first tasks do not pay for it
            warm_execution_api(f"http://127.0.0.1:{self.api_port}", timeout=180)
            yield
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)
            log.close()

    def migrate_metadata(self) -> None:
        subprocess.run(
            ["airflow", "db", "migrate"],
            env=self.environ(),
            check=True,
            capture_output=True,
            text=True,
            cwd=config.project_home(),
        )


# ---------------------------------------------------------------- one day


def stage_cpu_figures(
    memory: MemoryReport, tasks: dict[str, dict[str, Any]]
) -> tuple[dict[str, float | None], dict[str, dict[str, float]]]:
    """Per stage: the pipeline's CPU seconds, and the cores the rest of the machine took
    meanwhile (``others``: busy minus the pipeline; ``steal``: the hypervisor's share
    given to other guests), each divided by the stage's wall time."""
    cpu: dict[str, float | None] = {}
    others: dict[str, dict[str, float]] = {}
    for name, patterns in STAGES:
        spans = [
            (i["start"], i["end"])
            for task_id, i in tasks.items()
            if _matches(task_id, patterns) and i.get("start") and i.get("end")
        ]
        if not spans:
            continue
        start, end = min(a for a, _ in spans), max(b for _, b in spans)
        cpu[name] = memory.cpu_in(start, end)
        busy = memory.cpu_in(start, end, "machine_busy")
        steal = memory.cpu_in(start, end, "steal")
        if cpu[name] is not None and busy is not None and steal is not None and end > start:
            others[name] = {
                "others": max(0.0, busy - cpu[name]) / (end - start),
                "steal": steal / (end - start),
            }
    return cpu, others


def run_day(deployment: Deployment, day: date, interval: float = 0.2) -> dict[str, Any]:
    """``airflow dags test`` for ``day`` with the sampler; everything measured about it."""
    log_file = deployment.root / "logs" / f"dags_test_{day.isoformat()}.log"
    server_log = deployment.cluster.data_dir / "server.log"
    log_offset = server_log.stat().st_size if server_log.exists() else 0
    busy_before, _ = machine_cpu()
    bench_cpu_before = time.process_time()
    started = time.time()
    with open(log_file, "wb") as out:
        process = subprocess.Popen(
            [
                "airflow",
                "dags",
                "test",
                DAG_ID,
                day.isoformat(),
                *(["--use-executor"] if deployment.use_executor else []),
            ],
            env=deployment.environ(),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=config.project_home(),
        )
        sampler = ProcessSampler(
            process.pid,
            postmaster_pid(deployment.cluster.data_dir),
            [deployment.database, deployment.metadata_database],
            interval,
        )
        sampler.start()
        returncode = process.wait()
        memory = sampler.stop()
    wall = time.time() - started
    busy = machine_cpu()[0] - busy_before
    bench_cpu = time.process_time() - bench_cpu_before  # this process: the sampler
    output = log_file.read_text(encoding="utf-8", errors="replace")
    run, tasks = day_run(deployment.environ()["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], day)
    # dag_run.start_date of `dags test` is the logical date: the tasks bound the run
    times = stage_times(tasks)
    statements, _ = slow_statements(server_log, log_offset)
    ours = memory.cpu_seconds_tree + memory.cpu_seconds_pg
    task_memory = {
        task_id: memory.peak_in(info["start"], info["end"])
        for task_id, info in times["tasks"].items()
        if info.get("start") and info.get("end")
    }
    stage_cpu, stage_others = stage_cpu_figures(memory, times["tasks"])
    return {
        "date": day.isoformat(),
        "code": code_version(),  # the tree moves while a run lasts: recorded per day
        "returncode": returncode,
        "run_state": run.get("state"),
        "run_id": run.get("run_id"),
        "process_wall_seconds": wall,
        **times,
        "memory": memory.as_dict(),
        "task_peak_rss": task_memory,
        "stage_cpu_seconds": stage_cpu,
        "stage_other_cores": stage_others,
        "cpu": {
            "machine_busy_seconds": busy,
            "pipeline_seconds": ours,
            "sampler_seconds": bench_cpu,
            "other_cores_busy": max(0.0, busy - ours - bench_cpu) / wall if wall else None,
            "cores": os.cpu_count(),
        },
        "dbt_nodes": dbt_node_times(output),
        "dbt": dbt_summary(output),
        "airflow_overheads": airflow_overheads(output, started),
        "loader_files": loader_file_times(output),
        "slow_statements": [
            {
                "task": task_at(s.t, times["tasks"]),
                "ms": s.ms,
                "model": s.model,
                "temp_bytes": s.temp_bytes,
                "sql": s.short(400),
            }
            for s in sorted(statements, key=lambda s: -s.ms)
        ],
        "log": str(log_file),
        "failure_lines": [
            line
            for line in output.splitlines()
            if "SAFETYNET RUN FAILED" in line or "Traceback" in line
        ][:10],
    }


def warehouse_facts(url: str, day: date) -> dict[str, Any]:
    """Rows in raw for the day and in the marts for the day; database size."""
    facts: dict[str, Any] = {}
    with psycopg.connect(metadata_url(url)) as conn:
        for spec in SPECS:
            facts[f"raw.{spec.table}"] = _count(conn, f"raw.{spec.table}", "extract_date", day)
        for table, column in (
            ("marts.low_income_population", "as_of_date"),
            ("marts.monitoring_alerts", "alert_date"),
            ("marts.dim_households", "as_of_date"),
        ):
            facts[table] = _count(conn, table, column, day)
        facts["new_alerts"] = _count(
            conn, "marts.monitoring_alerts", "alert_date", day, " and is_new"
        )
        size = conn.execute("select pg_database_size(current_database())").fetchone()
        facts["database_bytes"] = int(size[0]) if size else None
    return facts


def overnight(url: str) -> dict[str, float]:
    """Between two days: what the server does in the hours between two daily runs.

    ``VACUUM (ANALYZE)`` of the bench database (the work autovacuum would do after
    a day's writes) and a ``CHECKPOINT`` (a checkpoint_timeout passes), each timed.
    Back to back, the next day's load shared the cores with that work."""
    seconds: dict[str, float] = {}
    with psycopg.connect(metadata_url(url), autocommit=True) as conn:
        for name, statement in (
            ("vacuum_analyze", "vacuum (analyze)"),
            ("checkpoint", "checkpoint"),
        ):
            started = time.perf_counter()
            conn.execute(statement)
            seconds[name] = time.perf_counter() - started
    return seconds


def _count(
    conn: psycopg.Connection, table: str, column: str, day: date, extra: str = ""
) -> int | None:
    try:
        row = conn.execute(
            f"select count(*) from {table} where {column} = %s{extra}", (day,)
        ).fetchone()
        return int(row[0]) if row else None
    except psycopg.Error:
        conn.rollback()
        return None


# ---------------------------------------------------------------- report


def _fmt(value: Any, digits: int = 1, width: int = 12) -> str:
    if value is None:
        text = "-"
    elif isinstance(value, float):
        text = f"{value:,.{digits}f}"
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = str(value)
    return text.rjust(width)


def _mib(value: int | None) -> float | None:
    return value / MIB if value is not None else None


def verdicts(result: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    days = result["days"]
    out = []
    worst = max((d["process_wall_seconds"] for d in days), default=None)
    out.append(
        (
            f"one day end to end <= {TARGETS['day_seconds']:.0f} s",
            worst is not None
            and worst <= TARGETS["day_seconds"]
            and all(d["returncode"] == 0 for d in days),
            f"slowest day {worst:.1f} s (airflow dags test process, start-up included)"
            if worst is not None
            else "no day ran",
        )
    )
    ratio = (result.get("copy") or {}).get("ratios", {}).get("ratio_stage_wall")
    out.append(
        (
            f"load >= {TARGETS['load_copy_ratio']:.0%} of plain COPY",
            ratio is not None and ratio >= TARGETS["load_copy_ratio"],
            _load_ratio_detail(result, ratio),
        )
    )
    peak = max((d["memory"]["peak_process_rss"] for d in days), default=None)
    out.append(
        (
            f"peak RSS of a task process <= {TARGETS['task_rss_bytes'] / GIB:.0f} GiB",
            peak is not None and peak <= TARGETS["task_rss_bytes"],
            f"{peak / MIB:,.0f} MiB" if peak is not None else "not measured",
        )
    )
    if len(days) > 1:
        out.append(_claims_increment_target(days))
    return out


def _day_ratio(day: dict[str, Any], result: dict[str, Any]) -> float | None:
    """Load rows/s ÷ plain COPY rows/s of the day's files, taken just before its run
    (older results: day 1's baseline, taken after the last day), in percent."""
    copies = day.get("copy_before")
    if copies:
        copy_rps = sum(c["rows"] for c in copies) / sum(c["seconds"] for c in copies)
    else:
        copy_rps = ((result.get("copy") or {}).get("ratios") or {}).get("copy_rows_per_s")
    load_rps = day.get("load_rows_per_s")
    return 100 * load_rps / copy_rps if copy_rps and load_rps else None


def _load_ratio_detail(result: dict[str, Any], ratio: float | None) -> str:
    if ratio is None:
        return "not measured"
    detail = f"day 1: {ratio:.0%} (load-stage wall, Airflow task start-up included)"
    alone = ((result.get("copy") or {}).get("loader") or {}).get("ratio")
    return detail + (f"; loader alone {alone:.0%}" if alone is not None else "")


def _claims_increment_target(days: list[dict[str, Any]]) -> tuple[str, bool, str]:
    """Days 2+ must not re-process the claims history: the claims model's rows that day
    stay within the day's health delivery (dbt's own count of rows merged)."""
    claims = [_node_rows(d, "int_claims__latest_versions") for d in days]
    health = [d["rows"].get("health") for d in days]
    kind = "CPU" if days[0].get("stage_cpu_seconds", {}).get("dbt_build") else "wall"
    key = "stage_cpu_seconds" if kind == "CPU" else "stages"
    dbt = [round(d.get(key, {}).get("dbt_build") or 0, 1) for d in days]
    within = all(
        c is not None and h is not None and c <= h
        for c, h in zip(claims[1:], health[1:], strict=True)
    )
    return (
        "days 2+ do not re-process the claims history",
        within,
        f"claims processed per day {claims} for health rows delivered {health}; "
        f"dbt_build {kind} s per day {dbt} (the snapshot sources are rebuilt daily)",
    )


def _node_rows(day: dict[str, Any], model: str) -> int | None:
    """Rows a dbt model wrote that day ('SELECT 297439' in dbt's own log line)."""
    for node in day.get("dbt_nodes", []):
        if node["node"].endswith("." + model):
            found = re.search(r"(\d+)\s*$", node["detail"])
            return int(found.group(1)) if found else None
    return None


def render(result: dict[str, Any], top: int = 12) -> str:
    days = result["days"]
    lines = []
    params = result["parameters"]
    lines.append(
        f"Safetynet benchmark — {params['households']:,} households, "
        f"{params['days']} days from {params['start']}, "
        f"{result['machine']['cpus']} CPUs, {result['started_at']}"
    )
    code = result.get("code") or {}
    if code.get("commit"):
        changed = len(code.get("changed") or [])
        lines.append(
            f"code: {code['commit'][:10]} {code.get('subject', '')}"
            + (f" (+{changed} changed files)" if changed else "")
        )
        moved = [
            d["date"]
            for d in result["days"]
            if (d.get("code") or {}).get("commit", code["commit"]) != code["commit"]
        ]
        if moved:
            commits = sorted({d["code"]["commit"][:10] for d in result["days"]})
            lines.append(
                f"  WARNING: the commit changed during the run (days {', '.join(moved)}: "
                f"{', '.join(commits)})"
            )
    gen = result.get("generation") or {}
    if gen:
        persons = gen.get("persons")
        lines.append(
            f"generation: {gen['seconds']:.1f} s{' (reused)' if gen.get('reused') else ''}"
            f", {persons:,} persons on day 1 — not part of the pipeline figures"
            if persons
            else f"generation: {gen.get('seconds')}"
        )
    header = "".rjust(34) + "".join(d["date"].rjust(14) for d in days)
    lines += ["", "per stage, wall seconds", header]

    def row(label: str, values: list[Any], digits: int = 1) -> None:
        lines.append(label.ljust(34) + "".join(_fmt(v, digits, 14) for v in values))

    for name, _ in STAGES:
        row(f"  {name}", [d["stages"].get(name) for d in days])
    row("  other (between tasks)", [d.get("other") for d in days])
    row("  total (DAG run)", [d.get("total") for d in days])
    row("  airflow dags test process", [d["process_wall_seconds"] for d in days])
    row("  run state", [d.get("run_state") for d in days])
    row(
        "  then overnight: vacuum analyze",
        [d.get("overnight", {}).get("vacuum_analyze") for d in days],
    )
    row("  then overnight: checkpoint", [d.get("overnight", {}).get("checkpoint") for d in days])
    lines += [
        "",
        "per stage, CPU seconds (Airflow process tree + bench backends; "
        "less sensitive to other load than wall time)",
        header,
    ]
    for name, _ in STAGES:
        row(f"  {name}", [d.get("stage_cpu_seconds", {}).get(name) for d in days])
    row("  whole process", [d["cpu"].get("pipeline_seconds") for d in days])
    lines += ["", "inside the stages", header]
    row(
        "  airflow start-up before 1st task",
        [d.get("airflow_overheads", {}).get("before_first_task") for d in days],
    )
    row(
        "  1st task start-up (in wait)",
        [d.get("airflow_overheads", {}).get("first_task_startup") for d in days],
    )
    row("  dbt parse (full, in dbt_build)", [d.get("dbt", {}).get("parse_seconds") for d in days])
    row("  dbt execution (in dbt_build)", [d.get("dbt", {}).get("execution_seconds") for d in days])
    row(
        "    of which models", [d.get("dbt", {}).get("node_seconds", {}).get("model") for d in days]
    )
    row(
        "    of which data tests",
        [d.get("dbt", {}).get("node_seconds", {}).get("test") for d in days],
    )
    lines += ["", "rows"]
    for source in SOURCES:
        row(f"  {source} rows", [d["rows"].get(source) for d in days], 0)
    row("  rows delivered", [sum(d["rows"].values()) for d in days], 0)
    row("  load rows/s (stage wall)", [d.get("load_rows_per_s") for d in days], 0)
    row("  vs plain COPY of the day's files, %", [_day_ratio(d, result) for d in days], 0)
    for source in SOURCES:
        row(
            f"  load_{source} s",
            [d["tasks"].get(f"load_{source}", {}).get("seconds") for d in days],
        )
        row(
            f"  load_{source} rows/s",
            [
                _per_second(
                    d["rows"].get(source), d["tasks"].get(f"load_{source}", {}).get("seconds")
                )
                for d in days
            ],
            0,
        )
    row(
        "  claims ranked (int_claims__latest_versions)",
        [_node_rows(d, "int_claims__latest_versions") for d in days],
        0,
    )
    row(
        "  population rows (mart)",
        [d["warehouse"].get("marts.low_income_population") for d in days],
        0,
    )
    row(
        "  alerts / new alerts",
        [
            f"{d['warehouse'].get('marts.monitoring_alerts')}/{d['warehouse'].get('new_alerts')}"
            for d in days
        ],
    )
    lines += ["", "memory, MiB"]
    row(
        "  peak RSS, largest task process", [_mib(d["memory"]["peak_process_rss"]) for d in days], 0
    )
    row("  peak RSS, Airflow process tree", [_mib(d["memory"]["peak_tree_rss"]) for d in days], 0)
    row("  peak PostgreSQL RSS (sum)", [_mib(d["memory"]["peak_pg_rss"]) for d in days], 0)
    row("  peak PostgreSQL PSS (sum)", [_mib(d["memory"]["peak_pg_pss"]) for d in days], 0)
    row(
        "  peak PostgreSQL private+shared",
        [_mib(d["memory"].get("peak_pg_footprint")) for d in days],
        0,
    )
    for task in ("load_bank", "check_raw", "dbt_build", "check_marts"):
        row(f"  peak RSS during {task}", [_mib(d["task_peak_rss"].get(task)) for d in days], 0)
    lines += ["", "machine"]
    row("  other processes, cores busy", [d["cpu"].get("other_cores_busy") for d in days], 2)
    for stage in ("load", "check_raw", "dbt_build"):
        others = [d.get("stage_other_cores", {}).get(stage, {}) for d in days]
        row(
            f"    during {stage}: others / steal",
            [f"{o['others']:.2f} / {o['steal']:.2f}" if o else None for o in others],
        )
    row("  database size, MiB", [_mib(d["warehouse"].get("database_bytes")) for d in days], 0)

    copy = result.get("copy")
    if copy:
        ratios = copy["ratios"]
        lines += [
            "",
            f"plain COPY baseline, files of {copy['date']} (unindexed all-text tables, "
            f"same encoding options, median of {copy.get('repeats', 1)})",
            "  source            rows   pipeline s   pipeline r/s     COPY s     COPY r/s   ratio",
        ]
        for source, v in ratios["per_source"].items():
            lines.append(
                f"  {source:<14}{_fmt(v['rows'], 0, 10)}{_fmt(v['task_seconds'], 1, 13)}"
                f"{_fmt(v['pipeline_rows_per_s'], 0, 15)}{_fmt(v['copy_seconds'], 2, 11)}"
                f"{_fmt(v['copy_rows_per_s'], 0, 13)}{_fmt(_pct(v['ratio']), 0, 7)}%"
            )
        lines.append(
            "  total, load-stage wall: "
            f"{_fmt(ratios['pipeline_rows_per_s_stage_wall'], 0, 0)}"
            f" rows/s vs COPY {_fmt(ratios['copy_rows_per_s'], 0, 0)} rows/s = "
            f"{_fmt(_pct(ratios['ratio_stage_wall']), 0, 0)}%"
        )
        lines.append(
            "  total, sum of load tasks: "
            f"{_fmt(ratios['pipeline_rows_per_s_task_sum'], 0, 0)}"
            f" rows/s vs COPY {_fmt(ratios['copy_rows_per_s'], 0, 0)} rows/s = "
            f"{_fmt(_pct(ratios['ratio_task_sum']), 0, 0)}%"
        )
        for c in copy["files"]:
            lines.append(
                f"    {c['source']}/{c['file_name']}: {c['rows']:,} rows, "
                f"{c['bytes'] / MIB:,.0f} MiB, {c['seconds']:.2f} s"
            )
        if alone := copy.get("loader"):
            lines += [
                "",
                f"loader alone (load_source, no Airflow) against plain COPY, files of "
                f"{copy['date']}, interleaved, median of {alone['repeats']}",
                "  source            rows    loader s     COPY s   ratio",
            ]
            for source, v in alone["per_source"].items():
                lines.append(
                    f"  {source:<14}{_fmt(v['rows'], 0, 10)}"
                    f"{_fmt(v['loader_seconds'], 2, 12)}{_fmt(v['copy_seconds'], 2, 11)}"
                    f"{_fmt(_pct(v['ratio']), 0, 7)}%"
                )
            lines.append(
                f"  total{_fmt(alone['loader_seconds'], 2, 31)}"
                f"{_fmt(alone['copy_seconds'], 2, 11)}{_fmt(_pct(alone['ratio']), 0, 7)}%"
            )

    for d in days:
        lines += [
            "",
            f"{d['date']}: slowest statements (>= {params['slow_ms']} ms, PostgreSQL log)",
        ]
        for s in d["slow_statements"][:top]:
            tmp = f" temp {s['temp_bytes'] / MIB:,.0f} MiB" if s["temp_bytes"] else ""
            lines.append(f"  {s['ms'] / 1000:7.2f} s  {s['task']:<16} {s['sql'][:110]}{tmp}")
        nodes = sorted(d["dbt_nodes"], key=lambda n: -n["seconds"])[:top]
        if nodes:
            lines.append(f"{d['date']}: slowest dbt nodes (dbt's own timing)")
            for n in nodes:
                lines.append(f"  {n['seconds']:7.2f} s  {n['node']:<48} {n['detail']}")
    lines += ["", "targets"]
    for label, ok, detail in verdicts(result):
        mark = "PASS" if ok else ("FAIL" if ok is False else "n/a ")
        lines.append(f"  [{mark}] {label}: {detail}")
    return "\n".join(lines)


def _pct(value: float | None) -> float | None:
    return value * 100 if value is not None else None


def _per_second(rows: int | None, seconds: float | None) -> float | None:
    return rows / seconds if rows and seconds else None


# ---------------------------------------------------------------- main


def _generate(deployment: Deployment, args: argparse.Namespace) -> dict[str, Any]:
    stamp = deployment.landing / "_bench_data.json"
    wanted = {
        "households": args.households,
        "start": args.start.isoformat(),
        "days": args.days,
        "seed": args.seed,
    }
    if args.reuse_data and stamp.exists():
        recorded = json.loads(stamp.read_text())
        if recorded.get("parameters") == wanted:
            return {**recorded, "reused": True}
    shutil.rmtree(deployment.landing, ignore_errors=True)
    deployment.landing.mkdir(parents=True)
    started = time.perf_counter()
    summary = generator.generate(
        deployment.landing, args.households, args.start, args.days, args.seed
    )
    seconds = time.perf_counter() - started
    first = next(iter(summary["days"].values()), {})
    persons = next((n for name, n in first.items() if "persons" in name), None)
    recorded = {
        "parameters": wanted,
        "seconds": seconds,
        "persons": persons,
        "files": summary["days"],
    }
    stamp.write_text(json.dumps(recorded, indent=1))
    return {**recorded, "reused": False}


def _copy_before(deployment: Deployment, day: date, repeats: int) -> list[CopyResult]:
    """The day's plain COPY baseline, taken just before its run: on a shared host the
    machine's speed drifts within minutes, so baseline and stage must be neighbours."""
    print(f"  plain COPY of {day}'s files (baseline) ...", flush=True)
    return copy_baseline(deployment.warehouse_url, deployment.landing, day, repeats=repeats)


def _run_days(
    deployment: Deployment, days: list[date], args: argparse.Namespace
) -> list[dict[str, Any]]:
    results = []
    for day in days:
        print(f"airflow dags test {DAG_ID} {day} ...", flush=True)
        inventory = day_inventory(deployment.landing, day)
        copies = None if args.skip_copy else _copy_before(deployment, day, args.copy_repeats)
        measured = run_day(deployment, day, args.interval)
        if copies is not None:
            measured["copy_before"] = [asdict(c) for c in copies]
        measured["files"] = inventory
        measured["rows"] = source_rows(inventory)
        load = measured["stages"].get("load")
        measured["load_rows_per_s"] = sum(measured["rows"].values()) / load if load else None
        measured["warehouse"] = warehouse_facts(deployment.warehouse_url, day)
        results.append(measured)
        print(
            f"  {measured['run_state']} in {measured['process_wall_seconds']:.1f} s "
            f"(DAG run {measured['total'] or 0:.1f} s)",
            flush=True,
        )
        if measured["returncode"] != 0 and not args.keep_going:
            print(f"  run failed: see {measured['log']}", flush=True)
            break
        if day != days[-1] and not args.back_to_back:
            measured["overnight"] = overnight(deployment.warehouse_url)
            print(
                "  overnight: "
                + ", ".join(f"{k} {v:.1f} s" for k, v in measured["overnight"].items()),
                flush=True,
            )
    return results


def run(args: argparse.Namespace) -> dict[str, Any]:
    cluster = localpg.Cluster.local()
    cluster.start()
    args.out = args.out.resolve()
    deployment = Deployment(
        cluster,
        args.out,
        args.database,
        args.metadata_database,
        use_executor=not args.in_process,
        parallelism=args.parallelism,
    )
    started_at = datetime.now(UTC)
    code = code_version()
    print(
        f"bench deployment: database {args.database}, metadata {args.metadata_database}, "
        f"folders under {args.out}",
        flush=True,
    )
    deployment.create(args.slow_ms)
    setup_started = time.perf_counter()
    deployment.migrate_metadata()
    setup_seconds = time.perf_counter() - setup_started
    print(f"generating {args.households:,} households x {args.days} days ...", flush=True)
    generation = _generate(deployment, args)
    print(
        f"  {generation['seconds']:.1f} s{' (reused)' if generation.get('reused') else ''}",
        flush=True,
    )
    days = [args.start + timedelta(days=i) for i in range(args.days)]
    with deployment.execution_api():
        results = _run_days(deployment, days, args)
    copy = None
    if results and not args.skip_copy:
        first = results[0]
        copies = [CopyResult(**c) for c in first["copy_before"]]
        task_seconds = {s: first["tasks"].get(f"load_{s}", {}).get("seconds") for s in SOURCES}
        copy = {
            "date": days[0].isoformat(),
            "repeats": args.copy_repeats,
            "files": first["copy_before"],
            "ratios": load_ratios(copies, first["rows"], task_seconds, first["stages"].get("load")),
        }
        print("loader alone against plain COPY ...", flush=True)
        key = deployment.environ().get("SAFETYNET_PSEUDONYM_KEY") or config.pseudonym_key()
        copy["loader"] = loader_against_copy(
            deployment.warehouse_url, deployment.landing, (days[0], key), repeats=args.copy_repeats
        )
    return {
        "started_at": started_at.isoformat(timespec="seconds"),
        "parameters": {
            "households": args.households,
            "days": args.days,
            "start": args.start.isoformat(),
            "seed": args.seed,
            "database": args.database,
            "slow_ms": args.slow_ms,
            "interval": args.interval,
            "parallelism": args.parallelism,
            "back_to_back": args.back_to_back,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "memory_bytes": _total_memory(),
            "sampler": "psutil" if psutil is not None else "/proc",
            "postgres_settings": _pg_settings(deployment.warehouse_url),
        },
        "code": code,
        "setup_seconds": setup_seconds,
        "generation": generation,
        "days": results,
        "copy": copy,
    }


def code_version() -> dict[str, Any]:
    """The commit measured, and the files changed on top of it (the code moves quickly)."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=config.project_home(), capture_output=True, text=True, check=False
        )
        return done.stdout.rstrip() if done.returncode == 0 else ""

    return {
        "commit": git("rev-parse", "HEAD"),
        "subject": git("log", "-1", "--format=%s"),
        "changed": [line[3:] for line in git("status", "--porcelain").splitlines()],
    }


def _total_memory() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            return int(handle.readline().split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None


def _pg_settings(url: str) -> dict[str, str]:
    names = (
        "shared_buffers",
        "work_mem",
        "maintenance_work_mem",
        "max_wal_size",
        "fsync",
        "synchronous_commit",
        "max_parallel_workers_per_gather",
        "jit",
        "server_version",
    )
    with psycopg.connect(metadata_url(url)) as conn:
        rows = conn.execute(
            "select name, setting || coalesce(unit, '') from pg_settings where name = any(%s)",
            (list(names),),
        ).fetchall()
    return dict(rows)


def write_results(result: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    path = out_dir / f"results-{stamp}.json"
    text = json.dumps(result, indent=1, default=str, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    (out_dir / "latest.json").write_text(text, encoding="utf-8")
    return path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m safetynet_dev.bench.run", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--households", type=int, default=400_000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 10, 1))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--out",
        type=Path,
        default=config.var_dir() / "bench",
        help="bench folder (landing, feed, reports, airflow home, results)",
    )
    parser.add_argument("--database", default="bench", help="warehouse database, recreated")
    parser.add_argument(
        "--metadata-database", default="bench_airflow", help="Airflow metadata database, recreated"
    )
    parser.add_argument("--interval", type=float, default=0.2, help="memory sampling period, s")
    parser.add_argument(
        "--slow-ms",
        type=int,
        default=200,
        help="log bench statements slower than this (server log)",
    )
    parser.add_argument(
        "--reuse-data",
        action="store_true",
        help="keep var/bench/landing if it was generated with the same parameters",
    )
    parser.add_argument("--skip-copy", action="store_true", help="no plain COPY baseline")
    parser.add_argument(
        "--copy-repeats",
        type=int,
        default=3,
        help="COPY each file this many times, keep the median",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="plain `airflow dags test` (tasks one after the other) instead of "
        "--use-executor with LocalExecutor, --parallelism slots",
    )
    parser.add_argument(
        "--parallelism",
        type=int,
        default=4,
        help="Airflow core.parallelism (LocalExecutor slots); 4: the four "
        "sources load side by side",
    )
    parser.add_argument(
        "--back-to-back",
        action="store_true",
        help="no VACUUM (ANALYZE) + CHECKPOINT between days (the next day's "
        "load then shares the cores with autovacuum)",
    )
    parser.add_argument("--keep-going", action="store_true", help="run later days after a failure")
    parser.add_argument(
        "--show",
        type=Path,
        metavar="RESULTS_JSON",
        help="only print the table of an earlier run's JSON",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.show:
        print(render(json.loads(args.show.read_text(encoding="utf-8"))))
        return 0
    result = run(args)
    print()
    print(render(result))
    path = write_results(result, args.out)
    print(f"\nresults: {path} (and {args.out / 'latest.json'})")
    return 0 if result["days"] and all(d["returncode"] == 0 for d in result["days"]) else 1


if __name__ == "__main__":
    sys.exit(main())
