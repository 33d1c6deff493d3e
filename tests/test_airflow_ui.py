"""`make airflow` for real: the four Airflow services started by safetynet.services
against an isolated deployment (own Airflow home, metadata database, warehouse and
port), a day triggered through the REST API and run by the scheduler, the next day
backfilled as `make backfill` does (Airflow's own backfill, run by the scheduler), then a
data engineer's view in headless Chromium: log in, open safetynet_daily, find the
finished run of that date with its tasks, and open the Data Docs link."""

from __future__ import annotations

import io
import shutil
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from browser import body_text, chromium, wait_for
from conftest import SAMPLES, Stack, drop_database, isolated_stack

from safetynet import warehouse
from safetynet.config import SOURCES
from safetynet_dev.stack import localpg, services
from safetynet_dev.stack.ports import free_port

pytestmark = pytest.mark.e2e

DAG = "safetynet_daily"
DAY = "2026-10-01"
NEXT_DAY = "2026-10-02"
TASKS = (
    [f"load_{s}" for s in SOURCES]
    + ["check_arrivals"]
    + ["check_raw", "dbt_build", "publish_feed", "compact_history", "discard_day"]
)
RUN_TIMEOUT = 480


@dataclass
class Deployment:
    airflow: services.Airflow
    stack: Stack
    run: dict
    token: str

    def api(self, method: str, path: str, body: object = None) -> dict:
        return self.airflow.request(method, path, body, token=self.token)


def hold_todays_scheduled_run(airflow: services.Airflow, token: str) -> None:
    """Keep the scheduler from starting today's scheduled run when the DAG is unpaused.

    ``catchup=False`` still schedules the latest interval at once; nothing is
    delivered for today in this test, so that run would only wait for manifests
    and fail, ahead of ours (max_active_runs=1). A run that already holds its
    logical date makes the scheduler skip it, so we put a finished one there.
    """
    dag = airflow.request("GET", f"/api/v2/dags/{DAG}", token=token)
    if not dag.get("next_dagrun_logical_date"):
        return
    run_id = "held_" + dag["next_dagrun_logical_date"][:10]
    airflow.request(
        "POST",
        f"/api/v2/dags/{DAG}/dagRuns",
        {
            "dag_run_id": run_id,
            "logical_date": dag["next_dagrun_logical_date"],
            "note": "not run: nothing is delivered for today in this test",
        },
        token=token,
    )
    airflow.request(
        "PATCH", f"/api/v2/dags/{DAG}/dagRuns/{run_id}", {"state": "failed"}, token=token
    )


@pytest.fixture(scope="module")
def deployment(local_stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("airflow_ui")
    name = f"t_airflow_ui_{uuid.uuid4().hex[:8]}"  # unique: test sessions may run side by side
    with isolated_stack(local_stack, root, name, key="sample-key") as stack:
        shutil.copytree(SAMPLES / "landing", stack.landing)
        warehouse.ensure_schema(stack.url)  # as `make up` does before `make airflow`
        yield from _deployment(local_stack, root, name, stack)


def _deployment(
    local_stack: localpg.Cluster, root: Path, name: str, stack: Stack
) -> Iterator[Deployment]:
    metadata = f"{name}_metadata"
    with psycopg.connect(local_stack.url("postgres"), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{metadata}" with (force)')
        conn.execute(f'create database "{metadata}"')
    airflow = services.Airflow(
        stack.environ(
            AIRFLOW_HOME=str(root / "airflow"),
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=local_stack.url(metadata).replace(
                "postgresql://", "postgresql+psycopg://"
            ),
            SAFETYNET_AIRFLOW_PORT=str(free_port()),
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True",
        )
    )
    try:
        started = time.monotonic()
        airflow.start(timeout=240, wait_for_dag=DAG)
        print(f"services healthy and DAG parsed in {time.monotonic() - started:.0f}s")
        token = airflow.token()
        hold_todays_scheduled_run(airflow, token)
        run = airflow.request(
            "POST", f"/api/v2/dags/{DAG}/dagRuns", {"logical_date": f"{DAY}T00:00:00Z"}, token=token
        )
        airflow.request("PATCH", f"/api/v2/dags/{DAG}", {"is_paused": False}, token=token)
        started = time.monotonic()
        run = airflow.wait_for_run(DAG, run["dag_run_id"], RUN_TIMEOUT, token=token)
        print(f"run {run['dag_run_id']} {run['state']} after {time.monotonic() - started:.0f}s")
        yield Deployment(airflow, stack, run, token)
    except BaseException:
        for service in services.SERVICES:
            print(f"--- {service}.log\n{airflow.log_tail(service, 40)}")
        raise
    finally:
        airflow.stop(timeout=10)
        drop_database(local_stack, metadata)


def test_services_run_a_triggered_day(deployment: Deployment) -> None:
    airflow, run = deployment.airflow, deployment.run
    assert set(airflow.running()) == set(services.SERVICES)
    health = airflow.health()
    assert all(health[c]["status"] == "healthy" for c in services.HEALTH_COMPONENTS), health
    assert DAG in [d["dag_id"] for d in deployment.api("GET", "/api/v2/dags")["dags"]]

    assert run["state"] == "success", f"run {run['dag_run_id']}: {run['state']}"
    assert run["logical_date"].startswith(DAY) and run["run_type"] == "manual"
    instances = deployment.api(
        "GET", f"/api/v2/dags/{DAG}/dagRuns/{run['dag_run_id']}/taskInstances"
    )
    states = {ti["task_id"]: ti["state"] for ti in instances["task_instances"]}
    assert states == {**dict.fromkeys(TASKS, "success"), "discard_day": "skipped"}
    assert (deployment.stack.feed / DAY / "alerts.csv").exists()

    # The login is generated once into the Airflow home, private to its owner.
    assert airflow.passwords_file.stat().st_mode & 0o077 == 0
    assert airflow.login() == airflow.login()


def test_make_backfill_runs_days_in_order_through_the_scheduler(deployment: Deployment) -> None:
    """`make backfill START=DAY END=NEXT_DAY`: DAY already succeeded (triggered above), so
    Airflow's backfill (REPROCESS=failed) leaves it alone and runs NEXT_DAY."""
    airflow, out = deployment.airflow, io.StringIO()
    started = time.monotonic()
    runs = airflow.backfill(DAG, DAY, NEXT_DAY, "failed", timeout=RUN_TIMEOUT, out=out)
    print(out.getvalue() + f"backfill done in {time.monotonic() - started:.0f}s")

    assert sorted(runs) == [DAY, NEXT_DAY], out.getvalue()
    assert runs[DAY]["dag_run_id"] == deployment.run["dag_run_id"]  # not re-run
    backfilled = runs[NEXT_DAY]
    assert backfilled["state"] == "success", out.getvalue()
    assert backfilled["run_type"] == "backfill" and backfilled["triggered_by"] == "backfill"
    assert backfilled["start_date"] > runs[DAY]["end_date"]  # after the day it builds on
    assert (deployment.stack.feed / NEXT_DAY / "alerts.csv").exists()
    assert f"{DAY}  success" in out.getvalue() and "not re-run" in out.getvalue()
    assert f"feed {deployment.stack.feed / NEXT_DAY / 'alerts.csv'}" in out.getvalue()
    [backfill] = deployment.api("GET", f"/api/v2/backfills?dag_id={DAG}")["backfills"]
    assert backfill["max_active_runs"] == 1 and backfill["reprocess_behavior"] == "failed"


def test_docs_plugin_serves_data_docs_to_logged_in_users(deployment: Deployment) -> None:
    url = deployment.airflow.url + "/safetynet-docs/gx/index.html"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {deployment.token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        page = response.read().decode()
    assert response.status == 200 and "Data Docs" in page
    with pytest.raises(urllib.error.HTTPError) as anonymous:
        urllib.request.urlopen(url, timeout=30)
    assert anonymous.value.code == 401
    dbt = urllib.request.Request(
        deployment.airflow.url + "/safetynet-docs/dbt/../../../etc/passwd",
        headers={"Authorization": f"Bearer {deployment.token}"},
    )
    with pytest.raises(urllib.error.HTTPError) as outside:
        urllib.request.urlopen(dbt, timeout=30)
    assert outside.value.code == 404


def test_engineer_finds_the_run_in_the_ui(deployment: Deployment, tmp_path: Path) -> None:
    user, password = deployment.airflow.login()
    with chromium(screenshots=tmp_path) as driver:
        engineer_finds_the_run(
            driver, deployment.airflow.url, user, password, deployment.run["dag_run_id"]
        )


def engineer_finds_the_run(driver, url: str, user: str, password: str, run_id: str) -> None:
    """Log in, open the DAG, its Runs tab, the run of DAY and its tasks, then Data Docs."""
    from selenium.webdriver.common.by import By

    driver.get(f"{url}/dags/{DAG}")
    wait_for(lambda: driver.find_elements(By.NAME, "username"), 60, "the login page")
    driver.find_element(By.NAME, "username").send_keys(user)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    # The DAG page, its Runs tab, and our run in the list.
    wait_for(
        lambda: "/auth/" not in driver.current_url and "Runs" in body_text(driver),
        60,
        "the DAG page after login",
    )
    wait_for(
        lambda: driver.find_element(By.XPATH, "//a[normalize-space()='Runs']"), 30, "the Runs tab"
    ).click()
    wait_for(
        lambda: driver.find_element(By.XPATH, f"//a[normalize-space()='{run_id}']"),
        60,
        f"run {run_id} listed",
    ).click()

    # The run page: its logical date, its state and every task with its state.
    page = wait_for(
        lambda: (text := body_text(driver)) and "Logical Date" in text and text, 60, "the run page"
    )
    assert f"{DAY} 00:00:00" in page.split("Logical Date", 1)[1][:40], page[:2000]
    assert "Success" in page.split("Logical Date", 1)[0][-300:], page[:2000]

    def task_rows() -> dict[str, str]:
        texts = driver.execute_script(
            "return Array.from(document.querySelectorAll('tbody tr'), r => r.innerText)"
        )
        rows = {task: text for text in texts for task in TASKS if task in text.split()}
        return rows if set(rows) == set(TASKS) else {}

    shown = wait_for(task_rows, 60, "a row for every task of the run")
    assert all("Success" in shown[t] for t in TASKS if t != "discard_day"), shown
    assert "Skipped" in shown["discard_day"], shown["discard_day"]

    # Browse menu → Data Docs, served by the plugin with the UI's session.
    driver.find_element(By.XPATH, "//*[normalize-space(text())='Browse']").click()
    wait_for(
        lambda: driver.find_element(
            By.XPATH, "//*[normalize-space(text())='Data Docs (data quality)']"
        ),
        30,
        "the Data Docs entry",
    ).click()
    frame = wait_for(lambda: driver.find_element(By.TAG_NAME, "iframe"), 30, "docs frame")
    assert frame.get_attribute("src").endswith("/safetynet-docs/gx/index.html")
    driver.switch_to.frame(frame)
    wait_for(lambda: "Data Docs" in body_text(driver), 30, "Data Docs inside the UI")
