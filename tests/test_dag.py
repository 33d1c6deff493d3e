"""The DAG files import cleanly and safetynet_daily runs its stages in order."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_every_dag_imports(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert "safetynet_daily" in dagbag.dags


def _downstream(dag, task_id: str) -> set[str]:
    return set(dag.get_task(task_id).downstream_task_ids)


def test_stage_order(dagbag) -> None:
    dag = dagbag.dags["safetynet_daily"]
    sources = ["civil_affairs", "health", "housing", "bank", "casework"]
    for source in sources:
        assert _downstream(dag, f"wait_{source}") == {"check_arrivals"}
        assert _downstream(dag, f"load_{source}") == {"check_raw"}
    assert _downstream(dag, "check_arrivals") == {f"load_{s}" for s in sources}
    assert _downstream(dag, "check_raw") == {"dbt_build"}
    assert _downstream(dag, "dbt_build") == {"check_marts", "discard_day"}
    assert _downstream(dag, "check_marts") == {"publish_feed", "discard_day"}
    assert dag.max_active_runs == 1


def test_failed_checks_do_not_retry_but_loads_do(dagbag) -> None:
    dag = dagbag.dags["safetynet_daily"]
    assert dag.get_task("load_bank").retries == 2
    assert dag.get_task("check_raw").retries == 0
    assert dag.get_task("wait_bank").mode == "reschedule"


def test_largest_deliveries_load_first(dagbag) -> None:
    """With fewer slots than sources, civil affairs and bank (millions of rows) start first."""
    dag = dagbag.dags["safetynet_daily"]
    weights = {
        s: dag.get_task(f"load_{s}").priority_weight
        for s in ["civil_affairs", "health", "housing", "bank", "casework"]
    }
    assert sorted(weights, key=weights.get, reverse=True)[:2] == ["civil_affairs", "bank"]
    assert min(weights, key=weights.get) == "casework"  # a few hundred decisions a day
