"""`make cluster-demo` as a test: Airflow's CeleryExecutor with Redis and two workers.

A real redis-server (OS package) and the four Airflow services plus two
`airflow celery worker` processes, isolated from everything else (own Airflow
home, metadata and warehouse databases, folders, free ports). One day of the
contract's samples is triggered through the REST API; the run must succeed,
publish the feed, and its task instances must name both workers.

Skipped, with the reason, when redis-server or the Celery provider is missing, and
failed under CI (`CI=true`: `.ci/run` installs redis-server; the provider pins are in
the lock).
"""

from __future__ import annotations

import csv
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import psycopg
import pytest
from conftest import SAMPLES, missing

from safetynet.config import SOURCES
from safetynet_dev.stack import cluster, processes

pytestmark = pytest.mark.e2e

MISSING = cluster.missing_requirements()

DAY = date(2026, 10, 1)
WORKERS = ("worker-1", "worker-2")
TASKS = (
    [f"load_{s}" for s in SOURCES]
    + ["check_arrivals"]
    + ["check_raw", "dbt_build", "publish_feed", "compact_history"]
)


@dataclass
class Deployment:
    cluster: cluster.Cluster
    run: cluster.Run
    ports: list[int]


@pytest.fixture(scope="module", autouse=True)
def requirements() -> None:
    """Before anything starts: skipped without redis-server or the Celery provider."""
    if MISSING:
        missing("Celery cluster test needs " + "; ".join(MISSING))


@pytest.fixture(scope="module")
def deployment(local_stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    local = cluster.Cluster(
        root=tmp_path_factory.mktemp("cluster") / "cluster",
        metadata_db="t_cluster_metadata",
        warehouse_db="t_cluster",
        concurrency=1,
        source_timeout=60,
        landing_source=SAMPLES / "landing",
        postgres=local_stack,
    )
    try:
        local.start(WORKERS, timeout=300, log=print)
        state = local.state()
        ports = [state["redis_port"], state["api_port"]]
        run = local.run(DAY, timeout=600, log=print)
        print(f"run {run.state} in {run.seconds:.0f}s\n{run.table()}")
        yield Deployment(local, run, ports)
    except BaseException:
        print(local.diagnostics(40))
        raise
    finally:
        local.stop()
        local.drop_databases()


def test_a_day_runs_on_the_celery_cluster(deployment: Deployment) -> None:
    run = deployment.run
    states = {ti["task_id"]: ti["state"] for ti in run.task_instances}
    assert run.state == "success", f"{run.state}\n{run.table()}"
    assert states == {**dict.fromkeys(TASKS, "success"), "discard_day": "skipped"}
    # The feed the last task published, in the cluster's own folder.
    with open(
        deployment.cluster.feed / DAY.isoformat() / "alerts.csv", encoding="utf-8", newline=""
    ) as handle:
        published = {(r["rule_code"], r["household_id"]) for r in csv.DictReader(handle)}
    with open(SAMPLES / "expected" / "alerts.csv", encoding="utf-8", newline="") as handle:
        expected = {
            (r["rule_code"], r["household_id"])
            for r in csv.DictReader(handle)
            if r["alert_date"] == DAY.isoformat() and r["is_new"] == "true"
        }
    assert published == expected


def test_tasks_ran_on_both_workers(deployment: Deployment) -> None:
    hosts = deployment.run.hosts()
    assert set(hosts) == set(WORKERS), deployment.run.table()
    # What the API showed is task_instance.hostname in the metadata database.
    url = deployment.cluster.pg.url("t_cluster_metadata")
    with psycopg.connect(url) as conn:
        recorded = dict(
            conn.execute(
                "select task_id, hostname from task_instance where dag_id = %s and run_id = %s",
                (cluster.DAG_ID, deployment.run.dag_run["dag_run_id"]),
            ).fetchall()
        )
    assert {t: recorded[t] for t in TASKS} == {
        ti["task_id"]: ti["hostname"]
        for ti in deployment.run.task_instances
        if ti["task_id"] in TASKS
    }
    assert {recorded[t] for t in TASKS} == set(WORKERS)


def test_stop_leaves_nothing_running(deployment: Deployment) -> None:
    running = deployment.cluster.running()
    assert set(running) == {
        "redis",
        "api-server",
        "scheduler",
        "dag-processor",
        "triggerer",
        *WORKERS,
    }
    assert len(deployment.cluster.stop()) == len(running)
    assert [name for name, pid in running.items() if processes.group_alive(pid)] == []
    assert deployment.cluster.running() == {}
    for port in deployment.ports:
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open"
