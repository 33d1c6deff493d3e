"""``make cluster-demo``: Airflow's CeleryExecutor on one machine, without Docker.

The same shape as the production stack (docker-compose.yml, docs/deployment.md):
Redis as the Celery broker, Airflow 3 api-server, scheduler, dag-processor and
triggerer, and two ``airflow celery worker`` processes that run the tasks
through the api-server's execution API. Everything binds 127.0.0.1.

``python -m safetynet_dev.stack.cluster demo [--date 2026-10-01] [--workers 2] [--concurrency 1]``
    start a fresh cluster, run ``safetynet_daily`` for the date on the sample
    deliveries, print every task instance with the worker that ran it, stop.
``start [--workers N] [--concurrency C]``  start a fresh cluster and leave it running
    (prints the UI address and login).
``run DATE``            trigger a date on the running cluster and wait for it.
``add-worker [NAME]``   one more Celery worker for the running cluster.
``status`` / ``stop``   what runs / stop everything (``make stop`` calls ``stop`` too).

Nothing is shared with ``make demo``, ``make airflow`` or the tests: the cluster has
its own Airflow metadata database (``airflow_cluster``), its own warehouse database
(``cluster_warehouse``) in the local PostgreSQL, and its own Airflow home, landing,
feed, report and Redis folders under ``var/cluster/``; every port is picked free at
start. Each start is a new throwaway cluster (databases and folders recreated).

Worker identity: each worker gets ``SAFETYNET_WORKER_NAME`` and
``AIRFLOW__CORE__HOSTNAME_CALLABLE=safetynet_dev.stack.cluster.worker_hostname``. Airflow 3.3's
task supervisor reports ``[core] hostname_callable()`` to the execution API when a
task starts (``TIEnterRunningPayload.hostname``) and that is what lands in
``task_instance.hostname`` -- the Celery node name (``--celery-hostname``) is not.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from safetynet_dev.stack import services
from safetynet_dev.stack.ports import free_port
from safetynet_dev.stack.processes import PidFiles, stop_groups
from safetynet_dev.stack.services import warm_execution_api

DAG_ID = "safetynet_daily"
WORKERS = ("worker-1", "worker-2")
SAMPLE_KEY = "sample-key"
STATE_FILE = "cluster.json"
WORKER_READY = b" ready."  # celery logs "celery@<node> ready." once it consumes


def worker_hostname() -> str:
    """``[core] hostname_callable`` of the cluster's workers: the worker's name.

    Airflow records it in ``task_instance.hostname``; outside a worker (no
    ``SAFETYNET_WORKER_NAME``) it is the machine's name, as Airflow's default.
    """
    return os.environ.get("SAFETYNET_WORKER_NAME") or socket.getfqdn()


class ClusterError(RuntimeError):
    """Redis, a worker or Airflow did not start, or a run did not finish."""


def missing_requirements() -> list[str]:
    """What this machine lacks to run the cluster (empty when it can)."""
    from importlib import metadata

    missing = []
    if not shutil.which("redis-server"):
        missing.append("redis-server (OS package: apt-get install redis-server)")
    for distribution in ("apache-airflow-providers-celery", "celery", "redis"):
        try:
            metadata.version(distribution)  # cheap: no import of Airflow
        except metadata.PackageNotFoundError:
            missing.append(f"{distribution} (pip install -r requirements-celery.txt)")
    return missing


# ---------------------------------------------------------------- the cluster


@dataclass
class Cluster:
    """One local CeleryExecutor deployment, all of its state under ``root``."""

    root: Path
    metadata_db: str = "airflow_cluster"
    warehouse_db: str = "cluster_warehouse"
    concurrency: int = 1
    pseudonym_key: str = SAMPLE_KEY
    source_timeout: int = 300
    landing_source: Path | None = None
    base_environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    postgres: Any = None  # a safetynet.localpg.Cluster; the local one when None

    @classmethod
    def local(cls, **options: Any) -> Cluster:
        from safetynet import config

        return cls(root=config.var_dir() / "cluster", **options)

    # ------------------------------------------------------------ paths and state

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow"

    @property
    def run_dir(self) -> Path:
        """Pid and log files of every process (services.Airflow uses the same folder)."""
        return self.airflow_home / "run"

    @property
    def processes(self) -> PidFiles:
        return PidFiles(self.run_dir)

    @property
    def redis_dir(self) -> Path:
        return self.root / "redis"

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def feed(self) -> Path:
        return self.root / "feed"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def pg(self) -> Any:
        if self.postgres is None:
            from safetynet_dev.stack import localpg

            self.postgres = localpg.Cluster.local()
        return self.postgres

    def state(self) -> dict[str, Any]:
        """Ports and secrets of the running cluster (``cluster.json``, mode 600)."""
        path = self.root / STATE_FILE
        return json.loads(path.read_text()) if path.exists() else {}

    def _new_state(self) -> dict[str, Any]:
        state = {
            "redis_port": free_port(),
            "api_port": free_port(),
            "trigger_log_port": free_port(),
            "redis_password": secrets.token_hex(16),
            "jwt_secret": secrets.token_urlsafe(64),  # HS512: 64 bytes or more
            "api_secret_key": secrets.token_urlsafe(32),
            "fernet_key": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "metadata_db": self.metadata_db,
            "warehouse_db": self.warehouse_db,
            "concurrency": self.concurrency,
            "workers": [],
        }
        self._write_state(state)
        return state

    def _write_state(self, state: dict[str, Any]) -> None:
        path = self.root / STATE_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(state, handle, indent=1)

    def warehouse_url(self, state: Mapping[str, Any] | None = None) -> str:
        name = (state or self.state()).get("warehouse_db", self.warehouse_db)
        return self.pg.url(name)  # with the local password (var/pgpass)

    def environ(self, state: Mapping[str, Any] | None = None) -> dict[str, str]:
        """The environment of every process of the cluster (before services.Airflow
        adds its api-server settings and a worker its name)."""
        from safetynet_dev.stack import env

        state = state or self.state()
        metadata = self.pg.url(state["metadata_db"]).replace(
            "postgresql://", "postgresql+psycopg://"
        )
        broker = f"redis://:{state['redis_password']}@127.0.0.1:{state['redis_port']}/0"
        return {
            **self.base_environ,
            **env.local_environment(),
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CELERY__BROKER_URL": broker,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(state["concurrency"]),
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "21600",
            "AIRFLOW__API_AUTH__JWT_SECRET": state["jwt_secret"],
            "AIRFLOW__API__SECRET_KEY": state["api_secret_key"],
            "AIRFLOW__CORE__FERNET_KEY": state["fernet_key"],
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(state["trigger_log_port"]),
            "AIRFLOW__COSMOS__CACHE_DIR": str(self.root / "cosmos"),
            "SAFETYNET_AIRFLOW_PORT": str(state["api_port"]),
            "AIRFLOW_CONN_WAREHOUSE": self.warehouse_url(state),
            "SAFETYNET_LANDING_DIR": str(self.landing),
            "SAFETYNET_FEED_DIR": str(self.feed),
            "SAFETYNET_REPORTS_DIR": str(self.reports),
            "SAFETYNET_PSEUDONYM_KEY": self.pseudonym_key,
            "SAFETYNET_SOURCE_TIMEOUT": str(self.source_timeout),
        }

    def airflow(self, state: Mapping[str, Any] | None = None) -> services.Airflow:
        """The api-server, scheduler, dag-processor and triggerer (``services``)."""
        return services.Airflow(self.environ(state))

    # ------------------------------------------------------------ processes

    def log_tail(self, name: str, lines: int = 30) -> str:
        return self.processes.log_tail(name, lines)

    def redis_pid(self) -> int | None:
        """Pid of our redis-server; a stale pid file gives None (never a stranger's)."""
        return self.processes.pid("redis", b"redis-server")

    def worker_pids(self) -> dict[str, int]:
        names = self.state().get("workers", [])
        return {name: pid for name in names if (pid := self.processes.pid(name, b"celery"))}

    def running(self) -> dict[str, int]:
        """Every process of the cluster that runs, by name."""
        found: dict[str, int] = {}
        if pid := self.redis_pid():
            found["redis"] = pid
        if self.state():
            found.update(self.airflow().running())
        found.update(self.worker_pids())
        return found

    # ------------------------------------------------------------ start

    def start(
        self, workers: Sequence[str] = WORKERS, timeout: float = 300, log: Any = print
    ) -> None:
        """A fresh cluster: stop what an earlier one left running, recreate databases
        and folders, then Redis, the workers and the four Airflow services."""
        missing = missing_requirements()
        if missing:
            raise ClusterError("cannot start the cluster, missing: " + "; ".join(missing))
        if self.state():
            self.stop()
        started = time.monotonic()
        if self.root.exists():
            shutil.rmtree(self.root)
        for folder in (
            self.run_dir,
            self.redis_dir,
            self.landing,
            self.feed,
            self.reports,
            self.airflow_home / "logs",
        ):
            folder.mkdir(parents=True, exist_ok=True)
        if self.landing_source:
            shutil.copytree(self.landing_source, self.landing, dirs_exist_ok=True)
        state = self._new_state()
        self._write_airflow_cfg()
        self.pg.start()  # the local PostgreSQL (no-op when it runs)
        self._recreate_databases(state)
        self._start_redis(state)
        environ = self.environ(state)
        # The metadata tables, while the workers start: they need only Redis and the
        # database server until a task arrives.
        migrate = subprocess.Popen(
            ["airflow", "db", "migrate"],
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for name in workers:
            self.add_worker(name, wait=False)
        from safetynet import warehouse

        warehouse.ensure_schema(self.warehouse_url(state))
        output, _ = migrate.communicate(timeout=timeout)
        if migrate.returncode:
            raise ClusterError(
                "airflow db migrate failed:\n" + output.decode(errors="replace")[-3000:]
            )
        log(
            f"  Redis on 127.0.0.1:{state['redis_port']}, databases {state['metadata_db']} "
            f"(Airflow, migrated) and {state['warehouse_db']} (warehouse): "
            f"{time.monotonic() - started:.0f}s"
        )
        airflow = self.airflow(state)
        warm = threading.Thread(target=warm_execution_api, args=(airflow.url, timeout), daemon=True)
        try:
            warm.start()
            airflow.start(timeout=timeout, wait_for_dag=DAG_ID)
            warm.join(timeout)
            log(
                f"  api-server, scheduler, dag-processor, triggerer healthy, {DAG_ID} parsed: "
                f"{time.monotonic() - started:.0f}s"
            )
            self.wait_workers(workers, timeout)
        except Exception as error:
            raise ClusterError(f"{error}\n{self.diagnostics()}") from error
        log(f"  workers {', '.join(workers)} consuming: {time.monotonic() - started:.0f}s")

    def _write_airflow_cfg(self) -> None:
        """Every setting comes from :meth:`environ`; an existing airflow.cfg keeps each
        process from writing its own (with its own generated keys) on first start."""
        cfg = self.airflow_home / "airflow.cfg"
        descriptor = os.open(cfg, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write("# Settings: AIRFLOW__* variables set by safetynet.cluster.\n")

    def _recreate_databases(self, state: Mapping[str, Any]) -> None:
        import psycopg

        with psycopg.connect(self.pg.url("postgres"), autocommit=True) as conn:
            for name in (state["metadata_db"], state["warehouse_db"]):
                conn.execute(f'drop database if exists "{name}" with (force)')
                conn.execute(f'create database "{name}"')

    def drop_databases(self) -> None:
        import psycopg

        with psycopg.connect(self.pg.url("postgres"), autocommit=True) as conn:
            for name in (self.metadata_db, self.warehouse_db):
                conn.execute(f'drop database if exists "{name}" with (force)')

    def _start_redis(self, state: Mapping[str, Any], timeout: float = 20) -> None:
        conf = self.redis_dir / "redis.conf"
        settings = {
            "bind": "127.0.0.1",
            "port": state["redis_port"],
            "protected-mode": "yes",
            "requirepass": state["redis_password"],
            "dir": self.redis_dir,
            "logfile": '""',
            "daemonize": "no",
            # A broker queue of one throwaway demo: nothing to persist.
            "save": '""',
            "appendonly": "no",
        }
        descriptor = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.writelines(f"{key} {value}\n" for key, value in settings.items())
        self.processes.spawn(
            "redis", [shutil.which("redis-server") or "redis-server", str(conf)], self.base_environ
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.redis_ping(state):
                return
            if not self.redis_pid():
                # At start-up redis-server rewrites its process title in place; read at
                # that moment /proc/<pid>/cmdline can lack "redis-server" (likely cause of
                # one failed CI start, not proven): look again before calling it dead.
                time.sleep(0.5)  # also lets its last log lines reach the file
                if not self.redis_pid() and not self.redis_ping(state):
                    raise ClusterError(f"redis-server exited:\n{self.log_tail('redis')}")
            time.sleep(0.1)
        raise ClusterError(
            f"redis-server did not answer in {timeout:.0f}s:\n{self.log_tail('redis')}"
        )

    def redis_ping(self, state: Mapping[str, Any] | None = None) -> bool:
        state = state or self.state()
        try:
            with socket.create_connection(("127.0.0.1", state["redis_port"]), timeout=2) as conn:
                password = state["redis_password"]
                conn.sendall(f"AUTH {password}\r\nPING\r\n".encode())
                answer = b""
                while answer.count(b"\r\n") < 2:
                    chunk = conn.recv(64)
                    if not chunk:
                        break
                    answer += chunk
                return answer == b"+OK\r\n+PONG\r\n"
        except (OSError, KeyError):
            return False

    def add_worker(self, name: str | None = None, wait: bool = True, timeout: float = 120) -> str:
        """Start one more ``airflow celery worker`` named ``name`` (worker-N if None)."""
        state = self.state()
        if not state or not self.redis_pid():
            raise ClusterError("no cluster is running: python -m safetynet_dev.stack.cluster start")
        if name is None:
            taken = set(state["workers"])
            name = next(f"worker-{n}" for n in range(1, 1000) if f"worker-{n}" not in taken)
        if name in self.worker_pids():
            raise ClusterError(f"{name} is already running")
        environ = {
            **self.airflow(state).service_environment(),
            "SAFETYNET_WORKER_NAME": name,
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "safetynet_dev.stack.cluster.worker_hostname",
            # Plugins (cosmos, the docs plugin) imported once by the worker's main
            # process and inherited by its forked pool, not imported by each pool
            # process's first task (10 s and more on a busy machine).
            "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False",
        }
        command = [
            "airflow",
            "celery",
            "worker",
            "--celery-hostname",
            f"{name}@{socket.gethostname()}",
            "--concurrency",
            str(state["concurrency"]),
            # Task logs are files in the one shared Airflow home; no log server
            # per worker (they would all want port 8793).
            "--skip-serve-logs",
            "--without-mingle",
            "--without-gossip",
        ]
        self.processes.log_file(name).unlink(missing_ok=True)
        self.processes.spawn(name, command, environ)
        state["workers"] = sorted({*state["workers"], name})
        self._write_state(state)
        if wait:
            self.wait_workers([name], timeout)
        return name

    def wait_workers(self, names: Sequence[str], timeout: float = 120) -> None:
        """Until each worker consumes from the queue (its "ready." log line)."""
        deadline = time.monotonic() + timeout
        waiting = list(names)
        while waiting and time.monotonic() < deadline:
            for name in list(waiting):
                if not self.processes.pid(name, b"celery"):
                    raise ClusterError(f"{name} exited:\n{self.log_tail(name)}")
                if WORKER_READY in (self.run_dir / f"{name}.log").read_bytes():
                    waiting.remove(name)
            time.sleep(0.5)
        if waiting:
            raise ClusterError(
                f"{', '.join(waiting)} not ready after {timeout:.0f}s:\n{self.log_tail(waiting[0])}"
            )

    def diagnostics(self, lines: int = 25) -> str:
        names = [
            "redis",
            *self.state().get("workers", []),
            "api-server",
            "scheduler",
            "dag-processor",
            "triggerer",
        ]
        return "\n".join(
            f"--- {name}.log\n{self.log_tail(name, lines)}"
            for name in names
            if (self.run_dir / f"{name}.log").exists()
        )

    # ------------------------------------------------------------ stop

    def stop(self, timeout: float = 30) -> list[str]:
        """Workers first (warm shutdown: they finish the tasks they run, and those still
        need the api-server), then the Airflow services, then Redis. With no task in
        flight, workers and services stop side by side (seconds sooner)."""
        state = self.state()
        if not state:
            return []
        airflow = self.airflow(state)
        workers = self.worker_pids()
        stopped = [f"{name} ({pid})" for name, pid in workers.items()]
        services: list[str] = []
        alongside = None
        if not self._tasks_in_flight(state):
            alongside = threading.Thread(target=lambda: services.extend(airflow.stop(timeout)))
            alongside.start()
        # Celery's warm shutdown: SIGTERM to the worker alone, its pool finishes its tasks.
        stop_groups(list(workers.values()), timeout, leaders_only=True)
        if alongside:
            alongside.join()
        else:
            services = airflow.stop(timeout)
        stopped += services
        if pid := self.redis_pid():
            stop_groups([pid], timeout, leaders_only=True)  # clean exit
            stopped.append(f"redis ({pid})")
        self.processes.forget("redis", *state.get("workers", []))
        (self.root / STATE_FILE).unlink(missing_ok=True)
        return stopped

    def _tasks_in_flight(self, state: Mapping[str, Any]) -> int:
        """Task instances queued or running in the cluster (1 when it cannot tell)."""
        import psycopg

        try:
            with psycopg.connect(self.pg.url(state["metadata_db"]), connect_timeout=5) as conn:
                row = conn.execute(
                    "select count(*) from task_instance where state in "
                    "('queued', 'running', 'restarting')"
                ).fetchone()
        except psycopg.Error:
            return 1
        return int(row[0]) if row else 1

    # ------------------------------------------------------------ a run

    def run(self, day: date, timeout: float = 900, log: Any = print) -> Run:
        """Trigger ``safetynet_daily`` for ``day`` through the REST API, wait for the
        run to end, return it with its task instances."""
        airflow = self.airflow()
        token = airflow.token()

        def api(method: str, path: str, body: Any = None) -> Any:
            return airflow.request(method, path, body, token=token)

        base = f"/api/v2/dags/{DAG_ID}"
        _hold_scheduled_run(api)
        logical = f"{day.isoformat()}T00:00:00Z"
        earlier = api(
            "GET",
            f"{base}/dagRuns?logical_date_gte={urllib.parse.quote(logical)}"
            f"&logical_date_lte={urllib.parse.quote(logical)}",
        )
        for old in earlier.get("dag_runs", []):
            api("DELETE", f"{base}/dagRuns/{urllib.parse.quote(old['dag_run_id'])}")
        run = api(
            "POST",
            f"{base}/dagRuns",
            {"logical_date": logical, "note": "python -m safetynet_dev.stack.cluster"},
        )
        api("PATCH", base, {"is_paused": False})
        started = time.monotonic()
        run_path = f"{base}/dagRuns/{urllib.parse.quote(run['dag_run_id'])}"
        log(f"  triggered {run['dag_run_id']} (logical date {day}); waiting")
        try:
            while run["state"] not in ("success", "failed"):
                if time.monotonic() - started > timeout:
                    raise ClusterError(
                        f"run {run['dag_run_id']} still {run['state']} after "
                        f"{timeout:.0f}s\n{self.diagnostics()}"
                    )
                time.sleep(2)
                run = api("GET", run_path)
        finally:
            # Paused again: nothing else is scheduled while the cluster idles.
            api("PATCH", base, {"is_paused": True})
        instances = api("GET", f"{run_path}/taskInstances?limit=100")["task_instances"]
        return Run(run, instances, time.monotonic() - started)


def _hold_scheduled_run(api: Any) -> None:
    """Keep the scheduler from starting the latest scheduled interval on unpause.

    ``catchup=False`` still schedules the latest interval (today, with nothing
    delivered): it would wait for manifests ahead of our run (``max_active_runs=1``).
    A finished run holding that logical date makes the scheduler skip it.
    """
    dag = api("GET", f"/api/v2/dags/{DAG_ID}")
    logical = dag.get("next_dagrun_logical_date")
    if not logical:
        return
    run_id = "held_" + logical[:10]
    try:
        api(
            "POST",
            f"/api/v2/dags/{DAG_ID}/dagRuns",
            {
                "dag_run_id": run_id,
                "logical_date": logical,
                "note": "not run: the cluster demo runs only the date it triggers",
            },
        )
    except services.ServiceError as error:
        if "HTTP 409" not in str(error):
            raise
    api("PATCH", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}", {"state": "failed"})


@dataclass
class Run:
    """A finished DAG run and its task instances, as the REST API returns them."""

    dag_run: dict[str, Any]
    task_instances: list[dict[str, Any]]
    seconds: float

    @property
    def state(self) -> str:
        return self.dag_run["state"]

    def hosts(self) -> Counter[str]:
        """Task instances per worker hostname (tasks that ran)."""
        return Counter(ti["hostname"] for ti in self.task_instances if ti.get("hostname"))

    def table(self) -> str:
        rows = sorted(
            self.task_instances, key=lambda ti: (ti.get("start_date") or "~", ti["task_id"])
        )
        lines = [
            f"  {'task':20} {'state':9} {'hostname':10} {'start':9} {'seconds':>7}",
            f"  {'-' * 20} {'-' * 9} {'-' * 10} {'-' * 9} {'-' * 7}",
        ]
        for ti in rows:
            start = (ti.get("start_date") or "")[11:19]
            seconds = f"{ti['duration']:.1f}" if ti.get("duration") is not None else ""
            lines.append(
                f"  {ti['task_id']:20} {ti['state'] or '-':9} "
                f"{ti.get('hostname') or '-':10} {start:9} {seconds:>7}"
            )
        return "\n".join(lines)


# ---------------------------------------------------------------- command line


def _samples() -> Path:
    from safetynet.config import project_home

    return project_home() / "contract" / "samples" / "landing"


def _print_run(cluster: Cluster, result: Run, day: date) -> bool:
    print(f"\nrun {result.dag_run['dag_run_id']}: {result.state} in {result.seconds:.0f}s")
    print(result.table())
    hosts = result.hosts()
    print(
        "\ntask instances per worker: "
        + ", ".join(f"{host} {count}" for host, count in sorted(hosts.items()))
    )
    alerts = cluster.feed / day.isoformat() / "alerts.csv"
    if alerts.exists():
        rows = max(len(alerts.read_text(encoding="utf-8").splitlines()) - 1, 0)
        print(f"feed: {alerts} ({rows} new alerts)")
    ok = result.state == "success" and len(hosts) >= 2
    if result.state != "success":
        print(f"the run {result.state}; task logs in {cluster.airflow_home / 'logs'}")
    elif len(hosts) < 2:
        print("tasks ran on fewer than two workers")
    else:
        print(f"tasks ran on {len(hosts)} workers: {', '.join(sorted(hosts))}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m safetynet_dev.stack.cluster", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("demo", "start"):
        sub = commands.add_parser(name)
        sub.add_argument("--workers", type=int, default=len(WORKERS))
        sub.add_argument(
            "--concurrency", type=int, default=1, help="task slots per worker (default 1)"
        )
        if name == "demo":
            sub.add_argument("--date", type=date.fromisoformat, default=date(2026, 10, 1))
            sub.add_argument(
                "--keep", action="store_true", help="leave the cluster running afterwards"
            )
    commands.add_parser("run").add_argument("date", type=date.fromisoformat)
    commands.add_parser("add-worker").add_argument("name", nargs="?")
    commands.add_parser("status")
    commands.add_parser("stop")
    args = parser.parse_args(argv)

    options: dict[str, Any] = {"landing_source": _samples()}
    if args.command in ("demo", "start"):
        options["concurrency"] = args.concurrency
    cluster = Cluster.local(**options)
    try:
        if args.command == "stop":
            stopped = cluster.stop()
            print(
                "cluster: stopped " + ", ".join(stopped)
                if stopped
                else "cluster: nothing was running"
            )
            return 0
        if args.command == "status":
            running = cluster.running()
            for name, pid in running.items():
                print(f"{name:14} running, pid {pid}")
            if not running:
                print("no cluster running")
            return 0 if running else 3
        if args.command == "add-worker":
            name = cluster.add_worker(args.name)
            print(f"{name} started and consuming; log {cluster.run_dir / (name + '.log')}")
            return 0
        if args.command == "run":
            return 0 if _print_run(cluster, cluster.run(args.date), args.date) else 1

        return _start_and_run(cluster, args)
    except RuntimeError as error:  # ClusterError, services.ServiceError
        print(f"cluster: {error}", file=sys.stderr)
        return 1


def _start_and_run(cluster: Cluster, args: argparse.Namespace) -> int:
    """``start`` and ``demo``: a cluster that fails to start, or a demo interrupted
    (Ctrl-C included), is stopped; ``start`` and ``demo --keep`` leave it running."""
    workers = [f"worker-{n}" for n in range(1, args.workers + 1)]
    keep = args.command == "start" or args.keep
    began = time.monotonic()
    print(
        f"starting Redis + Airflow (CeleryExecutor) with {len(workers)} workers x "
        f"{args.concurrency} slot(s) in {cluster.root}",
        flush=True,
    )
    started = False
    try:
        cluster.start(workers, log=lambda line: print(line, flush=True))
        started = True
        airflow = cluster.airflow()
        user, password = airflow.login()
        print(
            f"  Airflow UI {airflow.url}  login {user} / {password}  logs {cluster.run_dir}",
            flush=True,
        )
        if args.command == "start":
            print(
                "running; python -m safetynet_dev.stack.cluster run YYYY-MM-DD | add-worker | stop"
            )
            return 0
        ok = _print_run(
            cluster, cluster.run(args.date, log=lambda line: print(line, flush=True)), args.date
        )
    finally:
        if not (keep and started):
            cluster.stop()
            print("cluster stopped")
    print(f"cluster-demo: {'OK' if ok else 'FAILED'} in {time.monotonic() - began:.0f}s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
