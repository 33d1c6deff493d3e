"""safetynet_daily: one extract date D (the logical date) from landing to feed.

load each of the five sources (four agencies and, v2, the case system's casework) once
its manifest is in → check raw (GX, critical blocks) with check arrivals beside it →
dbt build → publish feed: first the marts gate (casework rejections recorded, GX,
critical blocks), then alerts.csv and overdue.csv → compact history (issue 23: dates
older than the window folded).
Steps live in ``include/safetynet/pipeline.py``; this file only wires them.
"""

from __future__ import annotations

import time
from datetime import date

import pendulum
from airflow.sdk import PokeReturnValue, dag, task
from airflow.sdk.exceptions import AirflowFailException
from cosmos.operators.local import DbtBuildLocalOperator

from safetynet import dbtrun, pipeline, runlock
from safetynet.config import LOAD_PRIORITY, SOURCES, Settings, dbt_project_dir, start_date
from safetynet.lineage import dbt as model_lineage
from safetynet.publish.notify import notify_failure
from safetynet.taskdocs import TASK_DOCS

TIMEOUT = Settings.from_env().source_timeout
NO_RETRY_ERRORS = (
    pipeline.IncompleteDelivery,
    pipeline.loader.DeliveryError,
    pipeline.gate.QualityGateFailed,
    runlock.LeaseTimeout,  # waited SAFETYNET_LEASE_WAIT already
    runlock.LeaseLost,
)
START = start_date()


def _day(ds: str | None) -> date:
    return date.fromisoformat(str(ds))


def _fail_fast(step, *args):
    """A failed check or corrupt file cannot heal by retrying: fail without retries."""
    try:
        return step(*args)
    except NO_RETRY_ERRORS as error:
        raise AirflowFailException(str(error)) from error


# (issue 23) One task per source waits for its manifest (reschedule mode: no worker slot
# held between pokes) and loads in the poke that finds it. A load that hangs (a stuck
# server, a file that never ends) fails and is retried; a wait that times out is not.
@task.sensor(
    poke_interval=min(30, max(TIMEOUT // 10, 1)),
    timeout=TIMEOUT,
    mode="reschedule",
    retries=2,
    execution_timeout=pendulum.duration(hours=1),
    doc_md=TASK_DOCS["load"],
)
def load_source(
    source: str, ds: str | None = None, run_id: str | None = None, ti=None
) -> PokeReturnValue:
    started = ti.start_date.timestamp() if ti and ti.start_date else time.time()
    if not pipeline.poke_source(source, _day(ds), time.time() - started):
        return PokeReturnValue(is_done=False)
    loaded = _fail_fast(pipeline.load, source, _day(ds), run_id)
    return PokeReturnValue(is_done=True, xcom_value=loaded)


@task(trigger_rule="all_done", doc_md=TASK_DOCS["check_arrivals"])
def check_arrivals(ds: str | None = None) -> None:
    _fail_fast(pipeline.check_arrivals, _day(ds))


@task(trigger_rule="all_done", doc_md=TASK_DOCS["check_raw"])
def check_raw(ds: str | None = None, run_id: str | None = None) -> dict:
    # takes the warehouse lease: one run at a time from here to publish_feed (runlock)
    return _fail_fast(pipeline.check_raw, _day(ds), run_id, True)


@task(trigger_rule="one_failed", doc_md=TASK_DOCS["discard_day"])
def discard_day(ds: str | None = None, run_id: str | None = None) -> list[str]:
    return pipeline.discard_day(_day(ds), run_id)


# (issue 23) The marts gate and the feed in one task: the feed goes out only when the
# marts passed, and a day waits for one scheduler pass less (~0.5-1 s of a sample day).
@task(doc_md=TASK_DOCS["publish_feed"])
def publish_feed(ds: str | None = None, run_id: str | None = None) -> dict:
    checked = _fail_fast(pipeline.check_marts, _day(ds), run_id)
    return {"checks": checked, "feed": _fail_fast(pipeline.publish, _day(ds), run_id)}


@task(doc_md=TASK_DOCS["compact_history"])
def compact_history(ds: str | None = None, run_id: str | None = None) -> dict:
    # after the feed: a failed compaction never withdraws a published day
    return pipeline.compact_history(_day(ds), str(run_id))


def _before_build(context) -> None:
    """dbt_build's pre_execute: builds only while its run holds the warehouse lease; one
    database session per dbt thread (dbtrun.reuse_connections)."""
    dbtrun.reuse_connections()
    _fail_fast(pipeline.hold_lease, _day(context["ds"]), context["run_id"])


def _record_rule_versions(project_dir: str, context=None, **_) -> None:
    """dbt_build's callback (cosmos, before its temp project folder goes): the commit and
    the manifest's model checksums of this run (issue 21, audit.rule_versions)."""
    pipeline.record_rule_versions(project_dir, _day(context["ds"]), context["run_id"])


@dag(
    dag_id="safetynet_daily",
    schedule="@daily",
    start_date=pendulum.datetime(START.year, START.month, START.day, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "retries": 0,
        "retry_delay": pendulum.duration(seconds=30),
        "on_failure_callback": notify_failure,
    },
    doc_md=__doc__,
    tags=["safetynet"],
)
def safetynet_daily() -> None:
    loads = [
        load_source.override(task_id=f"load_{s}", priority_weight=LOAD_PRIORITY[s])(s)
        for s in SOURCES
    ]
    arrived = check_arrivals()
    raw_checked = check_raw()
    dbt_build = DbtBuildLocalOperator(
        task_id=dbtrun.TASK_ID,
        project_dir=str(dbt_project_dir()),
        # D as env, not --vars (dbt re-parses everything when --vars change); cache_dir keeps
        # target/partial_parse.msgpack between runs (cosmos runs dbt in a new temp dir)
        profile_config=dbtrun.PROFILE,
        env={"SAFETYNET_AS_OF_DATE": "{{ ds }}"},
        install_deps=False,
        # (issue 23) dbt's debug log file goes with cosmos's temp project folder: not written
        dbt_cmd_flags=["--log-level-file", "none"],
        cache_dir=dbtrun.parse_cache_dir(),
        retries=1,
        pre_execute=_before_build,
        # (issue 21) one OpenLineage run per dbt model (docs/lineage.md)
        post_execute=model_lineage.emit_model_events,
        callback=_record_rule_versions,
        doc_md=TASK_DOCS["dbt_build"],
    )
    published = publish_feed()

    # (issue 23) check_arrivals (which sources are late) beside check_raw: both run when
    # every source loaded or gave up, and the build needs both
    loads >> arrived
    loads >> raw_checked
    [arrived, raw_checked] >> dbt_build >> published >> compact_history()
    # after a failed build, marts check or feed; also releases the warehouse lease when
    # the run failed in check_raw (dbt_build is then upstream_failed). A failed
    # publish_feed leaves compact_history upstream_failed: the run ends as failed.
    [dbt_build, published] >> discard_day()


safetynet_daily()
