"""The bench's own deployment on the local cluster: databases, folders, api-server.

A fresh warehouse database (``bench``) and Airflow metadata database
(``bench_airflow``), its own ``var/bench/{landing,feed,reports,airflow,cosmos}``;
the bench database's statements slower than ``--slow-ms`` go to the server log
(``ALTER DATABASE ... SET log_min_duration_statement``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from safetynet import config
from safetynet_dev.stack import env, localpg
from safetynet_dev.stack.ports import free_port, port_open
from safetynet_dev.stack.services import SERVICES, warm_execution_api


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"api-server exited with {process.returncode}")
        if port_open(port):
            return
        time.sleep(0.5)
    raise RuntimeError(f"api-server did not listen on port {port} within {timeout:.0f} s")


# core.parallelism: one slot per source, the five loads start at once (with a slot too
# few, a task waited for the next pass of the `dags test` loop: +1 s per stage, issue 23)
PARALLELISM = len(config.SOURCES)


@dataclass
class Deployment:
    """The bench's own databases and folders on the local cluster."""

    cluster: localpg.Cluster
    root: Path
    database: str = "bench"
    metadata_database: str = "bench_airflow"
    source_timeout: int = 120
    use_executor: bool = True  # LocalExecutor: the loads run side by side
    parallelism: int = PARALLELISM
    api_port: int = 0  # of the execution API the executor's workers report to

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def feed(self) -> Path:
        return self.root / "feed"

    @property
    def warehouse_url(self) -> str:
        return self.cluster.url(self.database)  # with the local password (var/pgpass)

    @property
    def metadata_sqlalchemy(self) -> str:
        return self.cluster.url(self.metadata_database).replace(
            "postgresql://", "postgresql+psycopg://"
        )

    def environ(self) -> dict[str, str]:
        environ = {**os.environ, **env.local_environment()}
        environ.update(
            {
                "SAFETYNET_LANDING_DIR": str(self.landing),
                "SAFETYNET_FEED_DIR": str(self.feed),
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
            [part.format(port=self.api_port) for part in SERVICES["api-server"]],
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
        """Airflow's metadata database and dbt_build's parse cache, as set-up makes them."""
        for command in (["airflow", "db", "migrate"], [sys.executable, "-m", "safetynet.dbtrun"]):
            subprocess.run(
                command,
                env=self.environ(),
                check=True,
                capture_output=True,
                text=True,
                cwd=config.project_home(),
            )
