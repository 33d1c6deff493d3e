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
        # (issue 23) one task per source waits for its manifest and loads
        assert _downstream(dag, f"load_{source}") == {"check_arrivals", "check_raw"}
        assert not dag.get_task(f"load_{source}").upstream_task_ids
    assert _downstream(dag, "check_arrivals") == {"dbt_build"}
    assert dag.get_task("check_arrivals").trigger_rule == "all_done"
    assert dag.get_task("check_raw").trigger_rule == "all_done"
    assert _downstream(dag, "check_raw") == {"dbt_build"}
    assert dag.get_task("dbt_build").upstream_task_ids == {"check_arrivals", "check_raw"}
    # (issue 23) publish_feed: the marts gate, then the feed (one task)
    assert _downstream(dag, "dbt_build") == {"publish_feed", "discard_day"}
    # the compaction after the feed, the leaf: a failed day (publish_feed failed:
    # compact_history upstream_failed) ends as a failed run even when discard_day
    # succeeded
    assert _downstream(dag, "publish_feed") == {"compact_history", "discard_day"}
    assert _downstream(dag, "compact_history") == set()
    assert dag.get_task("discard_day").trigger_rule == "one_failed"
    assert dag.max_active_runs == 1


def test_dbt_build_checks_the_warehouse_lease_first(dagbag) -> None:
    """check_raw takes the lease (runlock); dbt_build builds only while its run holds it
    (and keeps one database session per dbt thread: dbtrun.reuse_connections)."""
    import inspect

    dag = dagbag.dags["safetynet_daily"]
    hook = dag.get_task("dbt_build")._pre_execute_hook
    assert hook is not None and hook.__name__ == "_before_build"
    assert "pipeline.hold_lease" in inspect.getsource(hook)


def test_start_date_is_configurable(monkeypatch) -> None:
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("SAFETYNET_START_DATE", "2026-09-01")
    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["safetynet_daily"]
    assert dag.start_date.date().isoformat() == "2026-09-01"


@pytest.mark.parametrize(
    ("day", "start", "refused"),
    [
        ("2026-09-02", "", "before the DAG's start date 2026-10-01"),
        ("2026-09-30", "", "before the DAG's start date"),
        ("2026-10-01", "", None),
        ("2026-09-02", "2026-09-01", None),
        ("2026-9-2x", "", "not a date"),
    ],
)
def test_run_and_backfill_refuse_a_date_before_the_start(monkeypatch, day, start, refused):
    from safetynet_dev.stack import services

    monkeypatch.setenv("SAFETYNET_START_DATE", start)
    message = services.refuse_date(day)
    assert (message is None) if refused is None else (refused in (message or ""))


def test_backfill_refuses_before_touching_airflow(monkeypatch) -> None:
    from safetynet_dev.stack import services

    monkeypatch.delenv("SAFETYNET_START_DATE", raising=False)
    airflow = services.Airflow()
    monkeypatch.setattr(airflow, "prepare_backfill", lambda dag_id: pytest.fail("started"))
    with pytest.raises(services.ServiceError, match="before the DAG's start date"):
        airflow.backfill("safetynet_daily", "2026-09-02", "2026-10-02")


def test_check_queries_quote_their_parameters() -> None:
    """A view takes no bind parameters: each '{name}' becomes a psycopg-quoted literal."""
    from safetynet.quality import gate

    query = "select 1 from t where d = '{date}' and run_id = '{run_id}'"
    rendered = gate.render_query(query, {"date": "2026-10-01", "run_id": "manual__x'; drop--"})
    assert rendered == "select 1 from t where d = '2026-10-01' and run_id = 'manual__x''; drop--'"
    with pytest.raises(ValueError, match="unquoted"):
        gate.render_query("select {date}", {"date": "2026-10-01"})


def test_failed_checks_do_not_retry_but_loads_do(dagbag) -> None:
    dag = dagbag.dags["safetynet_daily"]
    assert dag.get_task("load_bank").retries == 2
    assert dag.get_task("check_raw").retries == 0
    assert dag.get_task("load_bank").mode == "reschedule"  # waits without a worker slot


def test_largest_deliveries_load_first(dagbag) -> None:
    """With fewer slots than sources, civil affairs and bank (millions of rows) start first."""
    dag = dagbag.dags["safetynet_daily"]
    weights = {
        s: dag.get_task(f"load_{s}").priority_weight
        for s in ["civil_affairs", "health", "housing", "bank", "casework"]
    }
    assert sorted(weights, key=weights.get, reverse=True)[:2] == ["civil_affairs", "bank"]
    assert min(weights, key=weights.get) == "casework"  # a few hundred decisions a day
