"""``python -m safetynet_dev.bench``: one whole benchmark run, day after day.

On its own deployment (``deployment``): the synthetic extracts, timed on their
own (generation is not part of the pipeline figures); then, for each day in
order, the plain COPY baseline of its files and ``airflow dags test
safetynet_daily <D>`` as a subprocess with the sampler running; between days
what the server does overnight; at the end the loader alone against COPY,
the table on stdout and ``var/bench/results-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

import safetynet_dev.bench
from safetynet import config
from safetynet.config import SOURCES
from safetynet.ingest.sources import SPECS
from safetynet_dev.bench.baseline import (
    CopyResult,
    copy_baseline,
    day_inventory,
    load_ratios,
    loader_against_copy,
    source_rows,
)
from safetynet_dev.bench.deployment import PARALLELISM, Deployment
from safetynet_dev.bench.logs import (
    airflow_overheads,
    dbt_node_times,
    dbt_summary,
    loader_file_times,
    slow_statements,
    task_at,
)
from safetynet_dev.bench.report import render, write_results
from safetynet_dev.bench.sampler import ProcessSampler, machine_cpu, postmaster_pid, psutil
from safetynet_dev.bench.stages import (
    DAG_ID,
    SHUTDOWN_GRACE_SECONDS,
    day_run,
    metadata_url,
    stage_cpu_figures,
    stage_times,
)
from safetynet_dev.stack import localpg
from safetynet_dev.synth import casework
from safetynet_dev.synth.generator import generate


def _feed_seconds(tasks: dict[str, Any], started: float) -> float | None:
    """Seconds from the ``airflow dags test`` start to the end of ``publish_feed``."""
    end = tasks.get("publish_feed", {}).get("end")
    return end - started if end else None


RUN_FINISHED = b"DagRun Finished"


def wait_for(process: subprocess.Popen, log_file: Path) -> tuple[int, bool]:
    """The exit code of ``airflow dags test``, and whether its workers had to be
    stopped because it hung in the executor's shutdown after the run finished."""
    finished_at: float | None = None
    offset, hung = 0, False
    while True:
        try:
            return process.wait(timeout=1.0), hung
        except subprocess.TimeoutExpired:
            pass
        if finished_at is None:
            with open(log_file, "rb") as log:
                log.seek(max(0, offset - len(RUN_FINISHED)))  # a mark split across reads
                chunk, offset = log.read(), log.tell()
            finished_at = time.time() if RUN_FINISHED in chunk else None
        elif time.time() - finished_at > SHUTDOWN_GRACE_SECONDS and not hung:
            hung = True
            for child in children(process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGTERM)


def children(pid: int) -> list[int]:
    """The direct child processes of ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # the fields after the command's closing parenthesis: state, ppid, ...
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


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
        returncode, shutdown_hang = wait_for(process, log_file)
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
        "shutdown_hang": shutdown_hang,
        "run_state": run.get("state"),
        "run_id": run.get("run_id"),
        "process_wall_seconds": wall,
        # (issue 23) the day's feed is out when publish_feed ends (compaction comes after)
        "feed_seconds": _feed_seconds(times["tasks"], started),
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
        facts["raw_day_bytes"] = _raw_day_bytes(conn, day)
        facts["history_bytes"] = _history_bytes(conn)
        facts["relation_bytes"] = _relation_bytes(conn)
    # (issue 21) every raw row keeps the physical line it came from: an integer column
    raw_rows = sum(facts[f"raw.{spec.table}"] or 0 for spec in SPECS)
    facts["line_number_bytes"] = LINE_NUMBER_BYTES * raw_rows
    return facts


LINE_NUMBER_BYTES = 4  # raw.*.line_no integer not null
RAW_DAY_BYTES = """
select coalesce(sum(pg_total_relation_size(c.oid)), 0)
from pg_inherits i join pg_class c on c.oid = i.inhrelid
join pg_class p on p.oid = i.inhparent join pg_namespace n on n.oid = p.relnamespace
where n.nspname = 'raw' and pg_get_expr(c.relpartbound, c.oid) like %s"""


def _raw_day_bytes(conn: psycopg.Connection, day: date) -> int:
    """The day's raw partitions on disk (tables, indexes, toast)."""
    row = conn.execute(RAW_DAY_BYTES, (f"%'{day.isoformat()}'%",)).fetchone()
    return int(row[0]) if row else 0


# (issue 23) the change history: key dictionaries, versions and their volatile parts
# (open and packed) of
# every folded table (raw and marts), and the calendar; tables, indexes, toast
HISTORY_BYTES = """
select coalesce(sum(pg_total_relation_size(c.oid)), 0)
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind = 'r' and (
    (n.nspname in ('raw', 'marts') and c.relname ~ '__(keys|hist|histv|histv_packed)$')
    or (n.nspname = 'audit' and c.relname in ('history_days', 'history_dropped_days')))"""


def _history_bytes(conn: psycopg.Connection) -> int:
    """(issue 23) The change history's tables on disk (what folding older dates keeps)."""
    row = conn.execute(HISTORY_BYTES).fetchone()
    return int(row[0]) if row else 0


# (issue 23) where the database's bytes are: every table of 1 MiB or more with its
# indexes and toast, a partition counted under its partitioned table
RELATION_BYTES = """
select n.nspname || '.' || coalesce(p.relname, c.relname) as relation,
       sum(pg_total_relation_size(c.oid))::bigint as bytes
from pg_class c join pg_namespace n on n.oid = c.relnamespace
left join pg_inherits i on i.inhrelid = c.oid
left join pg_class p on p.oid = i.inhparent
where c.relkind in ('r', 'm') and n.nspname not in ('pg_catalog', 'information_schema')
group by 1 having sum(pg_total_relation_size(c.oid)) >= 1048576 order by 2 desc"""


def _relation_bytes(conn: psycopg.Connection) -> dict[str, int]:
    """(issue 23) Bytes per table (partitions under their table), 1 MiB or more."""
    return {name: int(size) for name, size in conn.execute(RELATION_BYTES).fetchall()}


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
    summary = generate(deployment.landing, args.households, args.start, args.days, args.seed)
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
        # the case system answers the feeds published so far (contract section 9)
        casework.deliver(deployment.landing, deployment.feed, day, seed=args.seed)
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
            # (issue 23) the snapshot window the run used (history of older dates)
            "snapshot_window_days": deployment.environ().get(
                "SAFETYNET_SNAPSHOT_WINDOW_DAYS", "default"
            ),
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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m safetynet_dev.bench", description=safetynet_dev.bench.__doc__.split("\n")[0]
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
        default=PARALLELISM,
        help="Airflow core.parallelism (LocalExecutor slots); default: one per source, "
        "the sources wait and load side by side",
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
