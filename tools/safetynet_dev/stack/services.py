"""``make airflow`` / ``make stop``: the Airflow services of the local stack.

``python -m safetynet_dev.stack.services start`` starts api-server, scheduler,
dag-processor and triggerer in the background (LocalExecutor, metadata in
the local PostgreSQL), waits until the api-server answers and every service
reports healthy, then prints the URL and the login. ``stop`` stops them;
``status`` tells what runs.

Pid and log files live in ``$AIRFLOW_HOME/run`` (``var/airflow/run``). The
login is the SimpleAuthManager user ``admin`` with a password generated on
first start into ``$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated``
(``var/`` is git-ignored: never committed). ``SAFETYNET_AIRFLOW_PORT``
(default 8080) moves the UI; the services bind 127.0.0.1 only.

Tests use :class:`Airflow` with their own environment (another
``AIRFLOW_HOME``, metadata database and port) so they never touch a
developer's running services.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from safetynet_dev.stack.ports import free_port, port_open
from safetynet_dev.stack.processes import PidFiles, stop_groups

# Started in this order, stopped in reverse (the api-server last: running
# tasks report their end through its execution API).
SERVICES: dict[str, list[str]] = {
    "api-server": [
        "airflow",
        "api-server",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--workers",
        "1",
    ],
    "dag-processor": ["airflow", "dag-processor"],
    "triggerer": ["airflow", "triggerer"],
    "scheduler": ["airflow", "scheduler"],
}
HEALTH_COMPONENTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")
USER = "admin"
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"
SIMPLE_AUTH_MANAGER = (
    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
)


class ServiceError(RuntimeError):
    """A service did not start, died, or the api-server did not become healthy."""


@dataclass
class Airflow:
    """The four services of one Airflow deployment, described by an environment."""

    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    # ------------------------------------------------------------ where and who

    @property
    def home(self) -> Path:
        return Path(self.environ["AIRFLOW_HOME"])

    @property
    def port(self) -> int:
        return int(self.environ.get("SAFETYNET_AIRFLOW_PORT") or 8080)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def run_dir(self) -> Path:
        folder = self.home / "run"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @property
    def passwords_file(self) -> Path:
        return self.home / PASSWORDS_FILE

    def login(self) -> tuple[str, str]:
        """The local admin login; the password is generated once per Airflow home."""
        path = self.passwords_file
        if path.exists():
            password = json.loads(path.read_text() or "{}").get(USER)
            if password:
                return USER, password
        password = secrets.token_urlsafe(12)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(json.dumps({USER: password}) + "\n")
        return USER, password

    def _log_server_ports(self) -> dict[str, str]:
        """Ports of the worker and triggerer log servers. Airflow's defaults (8793, 8794)
        for the default UI port; free ones otherwise, so that two deployments (a
        developer's and a test's) can run side by side."""
        if self.port == 8080:
            return {}
        path = self.run_dir / "log_server_ports.json"
        if path.exists() and self.running():
            return json.loads(path.read_text())
        ports = {
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        }
        path.write_text(json.dumps(ports))
        return ports

    def service_environment(self) -> dict[str, str]:
        return {
            **self._log_server_ports(),
            **self.environ,
            "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
        }

    # ------------------------------------------------------------ processes

    @property
    def processes(self) -> PidFiles:
        """Pid and log files of the services (``processes`` tells stale ones apart)."""
        return PidFiles(self.run_dir)

    def pid(self, name: str) -> int | None:
        """Pid of a running service of this home; a stale pid file (the process gone,
        or its pid reused by another process) is ignored."""
        return self.processes.pid(name)

    def running(self) -> dict[str, int]:
        return {name: pid for name in SERVICES if (pid := self.pid(name))}

    def start(self, timeout: float = 180, wait_for_dag: str | None = None) -> None:
        """Start what is not running yet, then wait until every service is healthy."""
        self.login()
        if not (self.home / "airflow.cfg").exists():
            self._migrate()
        if not self.pid("api-server") and port_open(self.port):
            raise ServiceError(
                f"port {self.port} is already in use by another program; "
                "set SAFETYNET_AIRFLOW_PORT to a free port"
            )
        environment = self.service_environment()
        for name, command in SERVICES.items():
            if self.pid(name):
                continue
            self.processes.spawn(
                name, [part.format(port=self.port) for part in command], environment
            )
            if name == "api-server":
                # Tasks report to the api-server's execution API: a scheduler started
                # before it answers launches tasks that die at once ("Connection
                # refused"), e.g. the run the scheduler starts when the DAG is unpaused.
                self.wait_answering(timeout)
        self.wait_healthy(timeout)
        if wait_for_dag:
            self.wait_for_dag(wait_for_dag, timeout)

    def _migrate(self) -> None:
        """A fresh home: write the config (one JWT secret for all services) and migrate
        before four processes race to create it."""
        migrate = subprocess.run(
            ["airflow", "db", "migrate"],
            check=False,
            text=True,
            env=self.service_environment(),
            capture_output=True,
        )
        if migrate.returncode:
            raise ServiceError("airflow db migrate failed:\n" + migrate.stderr[-2000:])

    def stop(self, timeout: float = 30) -> list[str]:
        """Stop every service: SIGTERM to each process group (the scheduler first, so it
        launches nothing more), then SIGKILL to whatever still runs after ``timeout``."""
        running = {name: pid for name in reversed(list(SERVICES)) if (pid := self.pid(name))}
        stop_groups(list(running.values()), timeout)
        self.processes.forget(*SERVICES)
        (self.run_dir / "log_server_ports.json").unlink(missing_ok=True)
        return [f"{name} ({pid})" for name, pid in running.items()]

    def log_tail(self, name: str, lines: int = 30) -> str:
        return self.processes.log_tail(name, lines)

    # ------------------------------------------------------------ health and API

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=5) as response:
            return json.loads(response.read())

    def wait_answering(self, timeout: float = 180) -> None:
        """Wait until the api-server answers HTTP (its components need not be healthy)."""
        self._wait_for_health(lambda _: True, ["api-server"], timeout, "api-server not answering")

    def wait_healthy(self, timeout: float = 180) -> dict[str, Any]:
        return self._wait_for_health(_all_healthy, list(SERVICES), timeout, "Airflow not healthy")

    def _wait_for_health(
        self,
        accept: Callable[[dict[str, Any]], bool],
        watched: list[str],
        timeout: float,
        failure: str,
    ) -> dict[str, Any]:
        """Poll the health endpoint until ``accept`` takes the answer; fail at once with
        its log tail if a ``watched`` service exits."""
        deadline = time.monotonic() + timeout
        last: Any = "no answer"
        while time.monotonic() < deadline:
            if dead := [name for name in watched if not self.pid(name)]:
                raise ServiceError(
                    f"{', '.join(dead)} exited; last lines of {dead[0]}.log:\n"
                    f"{self.log_tail(dead[0])}\n(logs in {self.run_dir})"
                )
            try:
                last = self.health()
                if accept(last):
                    return last
            except (OSError, ValueError) as error:
                last = error
            time.sleep(1)
        raise ServiceError(f"{failure} after {timeout:.0f}s ({last}); logs in {self.run_dir}")

    def token(self) -> str:
        """A JWT for the REST API (POST /auth/token with the generated login)."""
        user, password = self.login()
        answer = self.request(
            "POST", "/auth/token", {"username": user, "password": password}, auth=False
        )
        return answer["access_token"]

    def request(
        self, method: str, path: str, body: Any = None, auth: bool = True, token: str | None = None
    ) -> Any:
        """JSON request to the api-server; returns the decoded answer."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {token or self.token()}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                text = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:500]
            raise ServiceError(f"{method} {path}: HTTP {error.code} {detail}") from error
        return json.loads(text) if text else None

    def wait_for_run(
        self, dag_id: str, run_id: str, timeout: float = 600, token: str | None = None
    ) -> dict[str, Any]:
        """Poll a DAG run until it is finished (success or failed) or ``timeout`` passes.

        A slow or briefly unavailable api-server (a busy machine) is waited out.
        """
        token = token or self.token()
        path = (
            f"/api/v2/dags/{urllib.parse.quote(dag_id)}/dagRuns/"
            f"{urllib.parse.quote(run_id, safe='')}"
        )
        deadline = time.monotonic() + timeout
        run: dict[str, Any] = {"dag_run_id": run_id, "state": "unknown"}
        while time.monotonic() < deadline:
            try:
                run = self.request("GET", path, token=token)
            except (OSError, ServiceError) as error:
                if isinstance(error, ServiceError) and "HTTP 5" not in str(error):
                    raise
            else:
                if run["state"] in ("success", "failed"):
                    return run
            time.sleep(2)
        return run

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> dict[str, Any]:
        """Wait until the dag-processor has parsed ``dag_id`` into the metadata database."""
        token = self.token()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                return self.request(
                    "GET", f"/api/v2/dags/{urllib.parse.quote(dag_id)}", token=token
                )
            except ServiceError as error:
                if "HTTP 404" not in str(error):
                    raise
            time.sleep(1)
        raise ServiceError(
            f"DAG {dag_id} not parsed after {timeout:.0f}s; "
            f"see {self.run_dir / 'dag-processor.log'}"
        )

    # ------------------------------------------------------------ backfill (make backfill)

    def prepare_backfill(self, dag_id: str) -> None:
        """Before ``airflow backfill create``: the services must run (the scheduler starts
        backfill runs) and the DAG must be unpaused (runs of a paused DAG never start)."""
        if not self.running():
            raise ServiceError("Airflow is not running: start it with `make airflow` first")
        self.wait_healthy(60)
        token = self.token()
        dag = self.wait_for_dag(dag_id, 120)
        if dag.get("is_paused"):
            self.request(
                "PATCH",
                f"/api/v2/dags/{urllib.parse.quote(dag_id)}",
                {"is_paused": False},
                token=token,
            )
            print(
                f"unpaused {dag_id}: the scheduler starts no run of a paused DAG, "
                "backfill runs included"
            )

    def day_runs(
        self, dag_id: str, first: str, last: str, token: str | None = None
    ) -> dict[str, dict[str, Any]]:
        """The run of each logical date from ``first`` to ``last`` (YYYY-MM-DD); one run
        per date (a reprocessed date reuses its run)."""
        query = urllib.parse.urlencode(
            {
                "logical_date_gte": f"{first}T00:00:00Z",
                "logical_date_lte": f"{last}T00:00:00Z",
                "order_by": "logical_date",
                "limit": 1000,
            }
        )
        answer = self.request(
            "GET", f"/api/v2/dags/{urllib.parse.quote(dag_id)}/dagRuns?{query}", token=token
        )
        return {run["logical_date"][:10]: run for run in answer["dag_runs"]}

    def failure_reasons(
        self, dag_id: str, run_id: str, token: str | None = None
    ) -> dict[str, list[str]]:
        """Failed tasks of a run and the failed checks each reported (the notifier's
        ``SAFETYNET RUN FAILED`` log line; else the last error lines of the task log)."""
        base = (
            f"/api/v2/dags/{urllib.parse.quote(dag_id)}/dagRuns/"
            f"{urllib.parse.quote(run_id, safe='')}/taskInstances"
        )
        instances = self.request("GET", base, token=token)["task_instances"]
        reasons: dict[str, list[str]] = {}
        for ti in sorted(instances, key=lambda t: t.get("end_date") or ""):
            if ti["state"] != "failed":
                continue
            reasons[ti["task_id"]] = self._task_failure(
                f"{base}/{urllib.parse.quote(ti['task_id'])}/logs/{max(ti['try_number'], 1)}"
                "?full_content=true",
                token,
            )
        return reasons

    def _task_failure(self, log_path: str, token: str | None) -> list[str]:
        try:
            content = self.request("GET", log_path, token=token).get("content") or []
        except (OSError, ServiceError, ValueError):
            return ["(task log not readable; open the task in the UI)"]
        events = [str(e.get("event", "")) if isinstance(e, dict) else str(e) for e in content]
        for event in events:
            if event.startswith("SAFETYNET RUN FAILED "):
                try:
                    payload = json.loads(event.removeprefix("SAFETYNET RUN FAILED "))
                except ValueError:
                    break
                return payload.get("failed_checks") or [payload.get("error") or "failed"]
        errors = [e for e in events if e and ("Error" in e or "error" in e)]
        return errors[-2:] or ["(no reason in the task log; open the task in the UI)"]

    def backfill(
        self,
        dag_id: str,
        first: str,
        last: str,
        reprocess: str = "failed",
        timeout: float | None = None,
        out: Any = None,
    ) -> dict[str, dict]:
        """``make backfill``: Airflow's own ``airflow backfill create`` (one run at a time,
        in date order), run by the scheduler, watched until every day is finished."""
        out = out or sys.stdout
        for day in (first, last):
            refused = refuse_date(day)
            if refused:
                raise ServiceError(refused)
        self.prepare_backfill(dag_id)
        runs = self.day_runs(dag_id, first, last)
        in_flight = {
            day: run["dag_run_id"]
            for day, run in runs.items()
            if run["state"] not in ("success", "failed")
        }
        if in_flight:
            # Airflow's backfill skips a date whose run is queued or running; that run would
            # then go after later days (it waits behind today's scheduled run), breaking the
            # order is_new needs.
            raise ServiceError(
                "not backfilling: these days already have a run in flight, which the "
                "backfill would skip and run out of order: "
                + ", ".join(f"{day} ({run_id})" for day, run_id in in_flight.items())
                + f". Wait for them, or mark them failed in the UI ({self.url}/dags/{dag_id}), "
                "then run the backfill again (it re-runs failed days)."
            )
        command = [
            "airflow",
            "backfill",
            "create",
            "--dag-id",
            dag_id,
            "--from-date",
            first,
            "--to-date",
            last,
            "--max-active-runs",
            "1",
            "--reprocess-behavior",
            reprocess,
            "--run-on-latest-version",
        ]
        print("$ " + " ".join(command), file=out, flush=True)
        created = subprocess.run(
            command, check=False, env=self.service_environment(), text=True, capture_output=True
        )
        if created.returncode:
            raise ServiceError(
                "airflow backfill create failed:\n" + (created.stdout + created.stderr)[-2000:]
            )
        finished_before = {day: run["end_date"] for day, run in runs.items()}
        return self.watch_backfill(dag_id, first, last, finished_before, timeout, out)

    def watch_backfill(
        self,
        dag_id: str,
        first: str,
        last: str,
        finished_before: Mapping[str, str | None] | None = None,
        timeout: float | None = None,
        out: Any = None,
    ) -> dict[str, dict]:
        """Print each date's run as it changes state until every date of the range has
        a finished run; returns the runs by date. ``finished_before``: the end time of
        each date's run before the backfill; a run still ending then was not re-run."""
        finished_before = finished_before or {}
        out = out or sys.stdout
        token = self.token()
        deadline = None if timeout is None else time.monotonic() + timeout
        shown: dict[str, str] = {}
        runs: dict[str, dict] = {}
        while deadline is None or time.monotonic() < deadline:
            try:
                runs = self.day_runs(dag_id, first, last, token)
            except (OSError, ServiceError) as error:
                if isinstance(error, ServiceError) and "HTTP 401" in str(error):
                    token = self.token()
                time.sleep(5)
                continue
            for day, run in runs.items():
                if shown.get(day) != run["state"]:
                    shown[day] = run["state"]
                    print(
                        f"{time.strftime('%H:%M:%S')}  {day}  {run['state']:8} {run['dag_run_id']}",
                        file=out,
                        flush=True,
                    )
            if runs and all(r["state"] in ("success", "failed") for r in runs.values()):
                break
            time.sleep(5)
        self._print_backfill_summary(
            dag_id, f"{first} .. {last}", runs, finished_before, token, out
        )
        return runs

    def _print_backfill_summary(
        self,
        dag_id: str,
        span: str,
        runs: dict[str, dict],
        finished_before: Mapping[str, str | None],
        token: str,
        out: Any,
    ) -> None:
        """Each date's end state, with its feed, or its failed tasks and checks."""
        print(f"\n{dag_id} {span}:", file=out)
        feed = Path(self.environ.get("SAFETYNET_FEED_DIR", "var/feed"))
        for day, run in runs.items():
            seconds = run.get("duration")
            took = f"{seconds:.0f}s" if isinstance(seconds, (int, float)) else "-"
            rerun = not (run.get("end_date") and run["end_date"] == finished_before.get(day))
            note = (
                "not re-run: finished before this backfill (REPROCESS=completed re-runs it)"
                if not rerun
                else f"feed {feed / day / 'alerts.csv'}"
                if run["state"] == "success"
                else ""
            )
            print(f"  {day}  {run['state']:8} {took:>6}  {note}", file=out)
            if run["state"] == "failed" and rerun:
                for task, checks in self.failure_reasons(dag_id, run["dag_run_id"], token).items():
                    for check in checks:
                        print(f"      {task}: {check[:300]}", file=out)
        if not runs or any(r["state"] not in ("success", "failed") for r in runs.values()):
            print(
                "  still running (or nothing created): watch it in the UI "
                f"({self.url}/dags/{dag_id})",
                file=out,
            )


def warm_execution_api(url: str, timeout: float) -> None:
    """The api-server builds its execution API on the first request to it (10-20 s on a
    busy machine): longer than the workers' 5 s client timeout, so each first task
    would wait through retries. Ask for /execution/health as soon as it listens."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/execution/health", timeout=timeout):
                return
        except OSError:
            time.sleep(0.5)


def refuse_date(day: str) -> str | None:
    """Why ``make run`` / ``make backfill`` will not run ``day``, or None.

    Airflow creates a run with no task instances for a date before the DAG's start_date
    and reports success: nothing loaded, nothing published, exit 0."""
    from safetynet.config import start_date

    try:
        wanted = date.fromisoformat(day)
    except ValueError:
        return f"not a date: {day!r} (want YYYY-MM-DD)"
    first = start_date()
    if wanted < first:
        return (
            f"refused: {day} is before the DAG's start date {first} (SAFETYNET_START_DATE): "
            "Airflow would create an empty run, load nothing and report success"
        )
    return None


def _all_healthy(health: dict[str, Any]) -> bool:
    return all((health.get(c) or {}).get("status") == "healthy" for c in HEALTH_COMPONENTS)


def main(argv: list[str]) -> int:
    airflow = Airflow()
    command = argv[0] if argv else "start"
    if command == "stop":
        stopped = airflow.stop()
        print("stopped " + ", ".join(stopped) if stopped else "no Airflow service was running")
        return 0
    if command == "status":
        running = airflow.running()
        for name in SERVICES:
            state = f"running, pid {running[name]}" if name in running else "stopped"
            print(f"{name:14} {state}")
        return 0 if running else 3
    if command == "check-date":  # make run DATE=...
        refused = refuse_date(argv[1] if len(argv) > 1 else "")
        if refused:
            print(refused, file=sys.stderr)
            return 2
        return 0
    if command == "backfill":
        dag_id, first, last, *rest = argv[1:]
        try:
            runs = airflow.backfill(dag_id, first, last, *rest[:1])
        except ServiceError as error:
            print(error, file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(f"\nstopped watching; the scheduler carries on ({airflow.url})")
            return 130
        return 0 if runs and all(r["state"] == "success" for r in runs.values()) else 1
    if command != "start":
        print(
            "usage: python -m safetynet_dev.stack.services "
            "[start|stop|status|check-date DATE|backfill DAG FIRST LAST [REPROCESS]]",
            file=sys.stderr,
        )
        return 2
    try:
        airflow.start()
    except ServiceError as error:
        print(f"Airflow did not start: {error}", file=sys.stderr)
        return 1
    user, password = airflow.login()
    print(f"Airflow UI: {airflow.url}   login: {user} / {password}")
    print(
        f"Data Docs:  {airflow.url}/safetynet-docs/gx/index.html   "
        f"dbt docs: {airflow.url}/safetynet-docs/dbt/index.html"
    )
    print(f"logs: {airflow.run_dir}   stop with: make stop")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
