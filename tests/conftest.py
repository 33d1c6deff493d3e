"""Shared fixtures: the real local stack (embedded PostgreSQL, Airflow, dbt, GX).

Every test carries one tier marker (pyproject.toml): ``unit`` (no server: no
PostgreSQL, no Airflow run, no dbt; `make check`), ``integration`` (a real
PostgreSQL, dbt or GX) or ``e2e`` (real Airflow runs). The local cluster is started
only for a test that asks for it (``local_stack``, through ``stack`` or
``isolated_stack``), and a unit test that asks for it is refused at collection.

Each end-to-end test gets its own warehouse database and its own landing,
feed and report folders, so tests never see each other's days.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest

from safetynet import warehouse
from safetynet_dev.stack import env, localpg

ROOT = Path(__file__).resolve().parents[1]
DAY_FINGERPRINT = """select count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), ''))
                     from {table} t where {column} = %s"""
CONTRACT = ROOT / "contract"
SAMPLES = CONTRACT / "samples"
TIERS = ("unit", "integration", "e2e")
# The fixture that starts the local PostgreSQL: no unit test may depend on it.
SERVER_FIXTURE = "local_stack"


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects: an unmarked test must not vanish
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each test has exactly one tier; a unit test starts no server."""
    wrong = []
    for item in items:
        tiers = sorted({mark.name for mark in item.iter_markers() if mark.name in TIERS})
        if len(tiers) != 1:
            wrong.append(f"{item.nodeid}: tiers {tiers or 'none'}, needs one of {TIERS}")
        elif tiers == ["unit"] and SERVER_FIXTURE in getattr(item, "fixturenames", ()):
            wrong.append(f"{item.nodeid}: marked unit but uses {SERVER_FIXTURE} (PostgreSQL)")
    if wrong:
        raise pytest.UsageError(
            "test tiers (pytestmark = pytest.mark.unit / integration / e2e):\n  "
            + "\n  ".join(wrong)
        )


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def missing(reason: str) -> NoReturn:
    """A test's requirement (an OS package such as Chromium or redis-server) is absent:
    skip with the reason, or under CI (``CI=true``) fail, since .ci/run installs them."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: a missing requirement is an error)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


@pytest.fixture(scope="session", autouse=True)
def local_environment() -> None:
    """Environment of `make env` (what is already set wins, but a local cluster URL
    always carries the current password of var/pgpass). Starts nothing."""
    for name, value in env.local_environment().items():
        if name in env.LOCAL_URLS:
            os.environ[name] = value
        else:
            os.environ.setdefault(name, value)


@pytest.fixture(scope="session")
def local_stack(local_environment: None) -> localpg.Cluster:
    """A running local cluster (reused if up): integration and e2e tests only."""
    cluster = localpg.Cluster.local()
    cluster.start()
    use_test_airflow_metadata(cluster)
    return cluster


def use_test_airflow_metadata(cluster: localpg.Cluster) -> None:
    """Tests record their DAG runs in their own Airflow metadata database, so
    they never replace the runs of `make demo` or a benchmark (`airflow dags
    test` replaces an earlier run of the same logical date)."""
    # SAFETYNET_TEST_AIRFLOW_DB: a database of its own for a second test session run
    # beside this one (`airflow dags test` replaces a run of the same logical date).
    name = os.environ.get("SAFETYNET_TEST_AIRFLOW_DB") or "airflow_test"
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
            conn.execute(f'create database "{name}"')
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = cluster.url(name).replace(
        "postgresql://", "postgresql+psycopg://"
    )
    subprocess.run(["airflow", "db", "migrate"], check=True, capture_output=True)


# a sample-sized `airflow dags test` takes 15-60 s; a run hanging this long fails its test
RUN_DAG_TIMEOUT = 900


def _stop_hung(process: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGABRT to a hung process and its children (their stacks, by faulthandler),
    SIGKILL if they do not end; what the process printed."""
    from safetynet_dev.bench.runner import children

    for pid in [*children(process.pid), process.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGABRT)
    try:
        return process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()


@dataclass
class Stack:
    """One isolated deployment: its own database and folders."""

    url: str
    landing: Path
    feed: Path
    reports: Path
    key: str = "test-key"

    def environ(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "AIRFLOW_CONN_WAREHOUSE": self.url,
            "SAFETYNET_LANDING_DIR": str(self.landing),
            "SAFETYNET_FEED_DIR": str(self.feed),
            "SAFETYNET_REPORTS_DIR": str(self.reports),
            "SAFETYNET_PSEUDONYM_KEY": self.key,
            "SAFETYNET_SOURCE_TIMEOUT": os.environ.get("TEST_SOURCE_TIMEOUT", "5"),
            **extra,
        }

    def run_dag(self, day: str, **extra: str) -> subprocess.CompletedProcess[str]:
        """``airflow dags test`` of ``day``. A run still going after RUN_DAG_TIMEOUT
        seconds gets SIGABRT (PYTHONFAULTHANDLER: every thread's stack into its stderr),
        then SIGKILL: returncode -9 and what it printed, so the hung run fails its test
        and shows where it hung, instead of holding CI until its kill."""
        command = ["airflow", "dags", "test", "safetynet_daily", day]
        process = subprocess.Popen(
            command,
            env=self.environ(PYTHONFAULTHANDLER="1", **extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        try:
            out, err = process.communicate(timeout=RUN_DAG_TIMEOUT)
        except subprocess.TimeoutExpired:
            out, err = _stop_hung(process)
            err += f"\n[run_dag: {day} still running after {RUN_DAG_TIMEOUT} s: stopped]"
            return subprocess.CompletedProcess(command, -9, out, err)
        return subprocess.CompletedProcess(command, process.returncode, out, err)

    def day_state(self, day: str) -> tuple[dict[str, tuple], dict[str, str]]:
        """What a day left: (count, md5) of its rows in every dated mart, and the sha256
        of each file of its feed folder ({} when there is none): to prove a day untouched
        or equal to another run's. The public names (issue 23: a windowed mart's view over
        its window and its change history, so a folded date counts too)."""
        from safetynet.pipeline import PUBLIC_MART_DATE_COLUMNS

        marts = {
            table: self.query(DAY_FINGERPRINT.format(table=table, column=column), (day,))[0]
            for table, column in PUBLIC_MART_DATE_COLUMNS.items()
        }
        folder = self.feed / day
        files = sorted(folder.iterdir()) if folder.exists() else []
        return marts, {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with warehouse.connect(self.url) as conn:
            return conn.execute(sql, params).fetchall()


def statistics_after_others_left(conn: psycopg.Connection, sql: str, timeout: float = 10) -> int:
    """The first value of ``sql`` (a statistics view) once ``conn`` is the only session
    left in its database: a session flushes its statistics as it leaves."""
    deadline = time.monotonic() + timeout
    others = "select count(*) from pg_stat_activity where datname = current_database()"
    while conn.execute(others).fetchone()[0] > 1 and time.monotonic() < deadline:  # type: ignore[index]
        time.sleep(0.1)
    row = conn.execute(sql).fetchone()
    return int(row[0]) if row else 0


def create_database(cluster: localpg.Cluster, name: str) -> str:
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    return cluster.url(name)  # with the local password (var/pgpass)


def drop_database(cluster: localpg.Cluster, name: str) -> None:
    """Dropped after the test unless SAFETYNET_KEEP_TEST_DBS is set (to look at a failure)."""
    if os.environ.get("SAFETYNET_KEEP_TEST_DBS"):
        return
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@contextlib.contextmanager
def isolated_stack(
    cluster: localpg.Cluster, root: Path, name: str, key: str = "test-key"
) -> Iterator[Stack]:
    """A database of its own (dropped afterwards) and feed and report folders under
    ``root``; ``root / "landing"`` is left for the caller to fill."""
    stack = Stack(
        create_database(cluster, name), root / "landing", root / "feed", root / "reports", key
    )
    stack.feed.mkdir(parents=True, exist_ok=True)
    stack.reports.mkdir(parents=True, exist_ok=True)
    try:
        yield stack
    finally:
        drop_database(cluster, name)


@pytest.fixture
def stack(
    local_stack: localpg.Cluster, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Stack]:
    name = "t_" + request.node.name.lower().replace("[", "_").replace("]", "")[:40]
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in name) + uuid.uuid4().hex[:6]
    with isolated_stack(local_stack, tmp_path, name) as stack:
        stack.landing.mkdir()
        yield stack


PRISTINE_DAY = "2026-10-01"


@pytest.fixture(scope="session")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One clean generated day (400 households, no dirty rows) for the load tests to
    copy and damage: generated once per session."""
    from datetime import date

    from safetynet_dev.synth import generator

    landing = tmp_path_factory.mktemp("pristine")
    generator.generate(landing, 400, date.fromisoformat(PRISTINE_DAY), 1, seed=11, dirty_ratio=0)
    return landing


@pytest.fixture
def landed(stack: Stack, pristine: Path) -> Stack:
    """A stack whose landing folder holds a copy of the pristine day."""
    import shutil

    shutil.copytree(pristine, stack.landing, dirs_exist_ok=True)
    return stack
