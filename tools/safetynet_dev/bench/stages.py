"""The day's run as the Airflow metadata database records it: its tasks grouped in stages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from safetynet_dev.bench.sampler import MemoryReport

DAG_ID = "safetynet_daily"
# Stages of one day, in DAG order: (name, task ids or a task id prefix).
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    # (issue 23) each load_<source> waits for its manifest, then loads
    ("load", ("load_",)),
    # check_arrivals runs beside check_raw
    ("check_raw", ("check_raw", "check_arrivals")),
    ("dbt_build", ("dbt_build",)),
    # (issue 23) publish_feed: the marts gate (GX), then the feed, in one task
    ("publish", ("publish_feed",)),
    # (issue 23) after the feed: fold dates older than the snapshot window into history
    ("compact", ("compact_history",)),
)


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


# LocalExecutor.end() can wait forever for a worker that missed its shutdown message
# after the DAG run finished (apache/airflow#67870, docs/benchmark.md): the bench stops
# its workers once the run has been finished this long, and the day records it
SHUTDOWN_GRACE_SECONDS = 60.0


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
