"""A running Superset on demo-like data, for the Superset tests (issue 22).

Import the fixture into a test module to use it (pytest finds fixtures in a
module's namespace)::

    from superset_stack import SupersetStack, superset_stack_fixture  # noqa: F401

and ask for ``superset_stack``. That fixture (session scope) builds a warehouse database of its own
(300 generated households, 2026-10-01..03, casework delivered before each day, run
through Airflow's ``dags test`` as ``make demo`` does, deadlines 0 so alerts fall
overdue), then runs ``make superset`` against it: Superset's venv from its lock
when missing, metadata in a PostgreSQL database of its own
(``SAFETYNET_TEST_SUPERSET_DB``, default ``superset_test``, emptied first; the
warehouse database is ``t_<that name>``), a free port, its folders (landing, feed,
Superset's home with logins and key) in ``var/superset-tests/<that name>``, every bundle of
superset/assets/ imported. It stops Superset at the end of the session. One per
session, however many test modules import it.

``SupersetStack.api(role)`` is a ``requests`` session logged in as that role through
``/api/v1/security/login`` (JWT) with a CSRF token, ready for POSTs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
import requests
from conftest import ROOT, Stack, isolated_stack

from safetynet import config
from safetynet_dev.stack import localpg
from safetynet_dev.stack.ports import free_port
from safetynet_dev.stack.superset import Superset
from safetynet_dev.synth import casework, generator

START = date(2026, 10, 1)
DAYS = [START + timedelta(days=i) for i in range(3)]
HOUSEHOLDS = 300
SEED = 22
CASEWORK_SEED = 11
DEADLINES = {
    "SAFETYNET_VERIFY_WORKDAYS_HIGH": "0",
    "SAFETYNET_VERIFY_WORKDAYS_MEDIUM": "0",
    "SAFETYNET_RESOLVE_WORKDAYS": "0",
}
TIMEOUT = 120


class LoginError(RuntimeError):
    """The login endpoint refused a user."""


@dataclass
class SupersetStack:
    """The running Superset, its warehouse and what ``make superset`` printed."""

    superset: Superset
    warehouse: Stack
    output: str
    metadata_url: str

    @property
    def url(self) -> str:
        return self.superset.url

    def token(self, user: str, password: str) -> str:
        answer = requests.post(
            f"{self.url}/api/v1/security/login",
            json={"username": user, "password": password, "provider": "db", "refresh": False},
            timeout=TIMEOUT,
        )
        if answer.status_code != 200:
            raise LoginError(f"{user}: {answer.status_code} {answer.text[:200]}")
        return str(answer.json()["access_token"])

    def api(self, role: str) -> requests.Session:
        """A session logged in as ``role`` (leader, analyst, auditor, admin)."""
        user, password = self.superset.password(role)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token(user, password)}"
        answer = session.get(f"{self.url}/api/v1/security/csrf_token/", timeout=TIMEOUT)
        answer.raise_for_status()
        session.headers["X-CSRFToken"] = answer.json()["result"]
        session.headers["Referer"] = self.url
        return session

    def database_id(self, session: requests.Session, name: str) -> int:
        answer = session.get(f"{self.url}/api/v1/database/", timeout=TIMEOUT)
        answer.raise_for_status()
        ids = {row["database_name"]: row["id"] for row in answer.json()["result"]}
        return int(ids[name])

    def sql_lab(self, session: requests.Session, database: int, sql: str) -> requests.Response:
        """Run ``sql`` in SQL Lab (synchronously) on connection ``database``."""
        return session.post(
            f"{self.url}/api/v1/sqllab/execute/",
            json={"database_id": database, "sql": sql, "runAsync": False},
            timeout=TIMEOUT,
        )

    def metadata_query(self, sql: str) -> list[tuple]:
        with psycopg.connect(self.metadata_url) as conn:
            return conn.execute(sql).fetchall()


def fill_warehouse(stack: Stack) -> None:
    """Three generated days through Airflow, casework before each, as `make demo`."""
    generator.generate(stack.landing, HOUSEHOLDS, START, len(DAYS), seed=SEED)
    for day in DAYS:
        casework.deliver(stack.landing, stack.feed, day, seed=CASEWORK_SEED, feeds_since=START)
        run = stack.run_dag(day.isoformat(), **DEADLINES)
        assert run.returncode == 0, f"{day} failed:\n{run.stdout[-4000:]}"


def fresh_database(cluster: localpg.Cluster, name: str) -> str:
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    return cluster.url(name)


def superset_environment(stack: Stack, home: Path, database: str) -> dict[str, str]:
    return {
        **stack.environ(),
        "SAFETYNET_SUPERSET_HOME": str(home),
        "SAFETYNET_SUPERSET_PORT": str(free_port()),
        "SAFETYNET_SUPERSET_DB": database,
    }


@contextlib.contextmanager
def running_superset(local_stack: localpg.Cluster) -> Iterator[SupersetStack]:
    """The warehouse with its days, then `make superset` on it; stopped at the end."""
    database = os.environ.get("SAFETYNET_TEST_SUPERSET_DB") or "superset_test"
    # Under var/, not pytest's temporary folders: pytest keeps the last three of those,
    # so a session started beside this one would remove this one's (Superset's home,
    # its key and pid file) while it runs.
    root = config.var_dir() / "superset-tests" / database
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    metadata_url = fresh_database(local_stack, database)
    # The warehouse database is named after the metadata one: two sessions side by side
    # (SAFETYNET_TEST_SUPERSET_DB apart) never drop each other's.
    with isolated_stack(local_stack, root, f"t_{database}", key="superset-test-key") as stack:
        stack.landing.mkdir()
        fill_warehouse(stack)
        environ = superset_environment(stack, root / "superset-home", database)
        superset = Superset(environ)
        started = subprocess.run(
            ["make", "-s", "superset"],
            cwd=ROOT,
            env=environ,
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            assert started.returncode == 0, f"make superset failed:\n{started.stderr[-4000:]}"
            yield SupersetStack(superset, stack, started.stdout, metadata_url)
        finally:
            superset.stop()


# pytest makes one fixture per module that imports it (a session-scoped fixture found in
# two test modules would run twice): the first one started is shared by the others.
_RUNNING: dict[str, SupersetStack] = {}


@pytest.fixture(scope="session", name="superset_stack")
def superset_stack_fixture(local_stack: localpg.Cluster) -> Iterator[SupersetStack]:
    if "stack" in _RUNNING:
        yield _RUNNING["stack"]
        return
    with running_superset(local_stack) as running:
        _RUNNING["stack"] = running
        try:
            yield running
        finally:
            _RUNNING.pop("stack", None)
