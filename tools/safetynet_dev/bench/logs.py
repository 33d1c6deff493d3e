"""Where the time goes: slow statements of the server log, dbt's and Airflow's output."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
