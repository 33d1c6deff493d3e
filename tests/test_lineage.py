"""(issue 21) OpenLineage: the events of one run of safetynet_daily, through Airflow.

One contract sample day runs through ``airflow dags test`` with the provider's file
transport in a folder of its own; the events are loaded into audit.lineage_events
(by the run itself, then by ``python -m safetynet.lineage load``) and must form the
graph landing files → raw tables → staging → intermediate → marts → feed, carry no
secret, carry the GX results as data-quality facets, and load only once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import ROOT, SAMPLES, Stack, isolated_stack

from safetynet import warehouse
from safetynet.lineage import naming, store
from safetynet.lineage import transport as lineage_transport

DAY = "2026-10-01"
KEY = "lineage-test-pseudonym-key-0123456789"


@pytest.fixture(scope="module")
def lineage_run(local_stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("lineage")
    # the local stack's transport: files under the stack's own reports folder
    os.environ[store.TRANSPORT_ENV] = lineage_transport.DEFAULT_TRANSPORT
    with isolated_stack(local_stack, root, "t_lineage", key=KEY) as stack:
        shutil.copytree(SAMPLES / "landing", stack.landing)
        run = stack.run_dag(DAY)
        assert run.returncode == 0, f"run for {DAY} failed:\n{run.stdout[-4000:]}"
        yield stack


def load_cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "safetynet.lineage", "load", *args],
        env=stack.environ(),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )


def event_files(stack: Stack) -> list[Path]:
    files = store.transport_files(reports_dir=stack.reports)
    assert files and all(f.is_relative_to(stack.reports) for f in files)
    return files


@pytest.mark.e2e
def test_loading_twice_adds_no_row(lineage_run: Stack) -> None:
    in_run = lineage_run.query("select count(*) from audit.lineage_events")[0][0]
    assert in_run > 0, "publish_feed loaded no lineage event"
    first = load_cli(lineage_run)
    after_first = lineage_run.query("select count(*) from audit.lineage_events")[0][0]
    events = sum(1 for _ in store.read_events(event_files(lineage_run)))
    assert after_first == events, first.stdout  # every event once
    assert after_first >= in_run
    second = load_cli(lineage_run, "--all")  # every file read again
    assert f"{events} events" in second.stdout and "0 new rows" in second.stdout
    assert lineage_run.query("select count(*) from audit.lineage_events")[0][0] == after_first


def loaded(stack: Stack) -> Stack:
    """Every event of the run in audit.lineage_events (the run's own load misses the
    events emitted after publish_feed returned: its COMPLETE, the DAG run's)."""
    load_cli(stack)
    return stack


@pytest.mark.e2e
def test_one_run_forms_the_graph_from_landing_files_to_the_feed(lineage_run: Stack) -> None:
    stack = loaded(lineage_run)
    files = [
        name
        for (name,) in stack.query(
            """select distinct d ->> 'name' from audit.lineage_events,
                   jsonb_array_elements(inputs) as d
               where job_name like 'safetynet_daily.load\\_%%' and d ->> 'namespace' = 'file'"""
        )
    ]
    sources = {name.split("/")[1] for name in files}
    assert sources == {"bank", "casework", "civil_affairs", "health", "housing"}, files
    alerts = naming.feed_file(date.fromisoformat(DAY), "alerts.csv")
    for name in files:
        readers = stack.query("select job_name from audit.lineage_readers(%s)", (name,))
        assert readers and readers[0][0].startswith("safetynet_daily.load_"), name
        feeds = {
            feed: path
            for _run, _day, feed, path in stack.query(
                "select * from audit.lineage_feeds(%s)", (name,)
            )
        }
        assert alerts in feeds, f"{name} reaches no {alerts}: {feeds}"
        layers = [step.split(".")[1] for step in feeds[alerts][2::2][:-1]]
        # landing → raw → staging → (intermediate →) marts → feed, in this order
        assert layers[0] == "raw" and layers[1] == "staging" and layers[-1] == "marts", feeds
        order = ["raw", "staging", "intermediate", "marts"]
        assert [order.index(x) for x in layers] == sorted(order.index(x) for x in layers)
    # the deceased rule: the health deaths file → … → int_alerts__a01 → monitoring_alerts
    deaths = next(f for f in files if f.startswith("landing/health/") and "death" in f)
    steps = {
        name for (name,) in stack.query("select name from audit.lineage_downstream(%s)", (deaths,))
    }
    assert any(s.endswith("intermediate.int_alerts__a01_deceased_beneficiary") for s in steps)
    assert any(s.endswith("marts.monitoring_alerts") for s in steps)


@pytest.mark.e2e
def test_no_secret_in_any_event(lineage_run: Stack) -> None:
    password = urlsplit(lineage_run.url).password
    assert password and len(password) > 8
    texts = [p.read_text(encoding="utf-8") for p in event_files(lineage_run)]
    assert len(texts) > 50
    stored = lineage_run.query("select event::text from audit.lineage_events")
    for text in texts + [t for (t,) in stored]:
        assert password not in text
        assert KEY not in text
        assert "postgresql://" not in text and "@127.0.0.1" not in text
    namespaces = lineage_run.query(
        """select distinct d ->> 'namespace' from audit.lineage_events,
               jsonb_array_elements(inputs || outputs) as d"""
    )
    assert {n for (n,) in namespaces} == {
        "file",
        "postgres://127.0.0.1:" + str(urlsplit(lineage_run.url).port),
    }


@pytest.mark.e2e
def test_quality_facets_match_dq_results(lineage_run: Stack) -> None:
    stack = loaded(lineage_run)
    facets = {}
    for task, (event,) in [
        (t, row)
        for t in ("check_raw", "publish_feed")  # publish_feed: its marts gate
        for row in stack.query(
            """select event from audit.lineage_events
               where job_name = %s and event_type = 'COMPLETE'""",
            (f"safetynet_daily.{t}",),
        )
    ]:
        for dataset in event["inputs"]:
            if task == "publish_feed" and "dataQualityAssertions" not in dataset["facets"]:
                continue  # a table the feed reads that no marts check guards
            assertions = dataset["facets"]["dataQualityAssertions"]["assertions"]
            for a in assertions:
                key = (dataset["name"].split(".", 1)[1], a["assertion"], a.get("column"))
                facets[key] = (a["success"], a["severity"], task)
    stored = stack.query(
        "select suite, expectation, column_name, success, severity from audit.dq_results"
    )
    tables = {"delivery": "audit.load_batches", "audit.casework_rejections": "audit.rejected_rows"}
    expected = {
        (tables.get(suite, suite), exp, col): (ok, severity)
        for suite, exp, col, ok, severity in stored
    }
    assert len(expected) > 30
    assert {k: v[:2] for k, v in facets.items()} == expected
    assert {v[2] for v in facets.values()} == {"check_raw", "publish_feed"}
    # the auditor reads the events and the edges (audit_lineage.sql grants them by name)
    with warehouse.connect(stack.url) as conn:
        conn.execute("set role safetynet_auditor")
        assert conn.execute("select count(*) from audit.lineage_edges").fetchone()[0] > 0
        assert conn.execute("select count(*) from audit.lineage_feeds('x')").fetchone()[0] == 0


@pytest.mark.unit
def test_dataset_names_hold_no_credentials() -> None:
    url = "postgresql://safetynet:s3cret-pass@db.example:6543/warehouse"
    assert naming.warehouse_namespace(url) == "postgres://db.example:6543"
    assert naming.table_name(url, "raw.bank_balances") == "warehouse.raw.bank_balances"
    assert (
        naming.landing_file("bank", date(2026, 10, 1), "b.txt") == "landing/bank/2026-10-01/b.txt"
    )


@pytest.mark.unit
def test_transport_files_of_both_configurations(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "lineage").mkdir()
    (tmp_path / "lineage" / "events-1.json").write_text("{}\n")
    (tmp_path / "other-1.json").write_text("{}\n")
    files = store.transport_files(lineage_transport.DEFAULT_TRANSPORT, reports_dir=tmp_path)
    assert files == [tmp_path / "lineage" / "events-1.json"]
    monkeypatch.delenv(store.TRANSPORT_ENV, raising=False)  # docker-compose: client variables
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(tmp_path / "other"))
    assert store.transport_files() == [tmp_path / "other-1.json"]
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "http")
    assert store.transport_files() == []


@pytest.mark.unit
def test_dbt_sources_are_named_after_their_tables() -> None:
    from safetynet.config import dbt_project_dir
    from safetynet.lineage import dbt

    renamed = dbt.source_tables(dbt_project_dir())
    assert renamed["raw.balances"] == "raw.bank_balances"
    assert renamed["raw.persons"] == "raw.civil_affairs_persons"


@pytest.mark.unit
def test_dbt_builds_own_event_merges_one_dataset_per_name() -> None:
    """(issue 23) dbt_build's COMPLETE (Cosmos: a dataset joins it unless an equal one
    is there) gets the model events without facets: one dataset per name, whatever
    each model event said about its schema."""
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent
    from openlineage.client.facet_v2 import schema_dataset

    from safetynet.lineage import dbt

    def schema(*columns: str) -> dict:
        fields = [schema_dataset.SchemaDatasetFacetFields(name=c) for c in columns]
        return {"schema": schema_dataset.SchemaDatasetFacet(fields=fields)}

    events = [
        RunEvent(
            eventType="COMPLETE",
            eventTime="2026-12-05T00:00:00Z",
            run=Run(runId="01931f3c-0000-7000-8000-00000000000" + str(n)),
            job=Job(namespace="ns", name=f"model_{n}"),
            inputs=[InputDataset("pg", "db.staging.persons", facets=schema(*columns))],
            outputs=[OutputDataset("pg", f"db.marts.m{n}", facets=schema("a"))],
        )
        for n, columns in enumerate([("a",), ("a", "b")])
    ]
    merged: list = []
    for event in dbt.names_only(events):
        merged += [d for d in event.inputs if d not in merged]
    assert [d.name for d in merged] == ["db.staging.persons"]
    assert merged[0].facets == {}
    assert [e.inputs[0].facets for e in events] == [schema("a"), schema("a", "b")]


@pytest.mark.unit
def test_a_built_tables_schema_travels_once_with_its_model() -> None:
    """(issue 23) An input built by another model of the build loses its schema and
    docs (its model's event has them); a source keeps them; a test's data-quality
    facet on its input stays."""
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent
    from openlineage.client.facet_v2 import data_quality_assertions_dataset, schema_dataset

    from safetynet.lineage import dbt

    schema = {"schema": schema_dataset.SchemaDatasetFacet(fields=[])}
    quality = {
        "dataQualityAssertions": data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
            assertions=[]
        )
    }

    def event(n: int, inputs: list, outputs: list) -> RunEvent:
        return RunEvent(
            eventType="COMPLETE",
            eventTime="2026-12-05T00:00:00Z",
            run=Run(runId="01931f3c-0000-7000-8000-00000000000" + str(n)),
            job=Job(namespace="ns", name=f"node_{n}"),
            inputs=inputs,
            outputs=outputs,
        )

    events = [
        event(
            0,
            [InputDataset("pg", "db.raw.persons", facets=schema)],
            [OutputDataset("pg", "db.staging.persons", facets=schema)],
        ),
        event(1, [InputDataset("pg", "db.staging.persons", facets={**schema, **quality})], []),
    ]
    lean = dbt.without_repeated_schemas(events)
    assert lean[0].inputs[0].facets == schema  # a source
    assert lean[0].outputs[0].facets == schema  # the model that builds it
    assert lean[1].inputs[0].facets == quality  # read by the test: schema said once
    assert events[1].inputs[0].facets == {**schema, **quality}  # the input is not changed


@pytest.mark.e2e
def test_a_blocked_day_reports_its_failed_checks(stack: Stack) -> None:
    """A corrupt bank file: load_bank fails with the file as its input and no output,
    check_raw fails, and its FAIL event carries the failed delivery check."""
    from safetynet_dev.synth import damage

    os.environ[store.TRANSPORT_ENV] = lineage_transport.DEFAULT_TRANSPORT
    shutil.copytree(SAMPLES / "landing", stack.landing, dirs_exist_ok=True)
    bank_file = damage.folder(stack.landing, "bank", date.fromisoformat(DAY))
    damage.flip_byte(bank_file / "balances_20261001.txt")
    run = stack.run_dag(DAY)
    assert run.returncode != 0, "the day must be blocked"
    load_cli(stack)
    events = {
        (job, kind): event
        for job, kind, event in stack.query(
            "select job_name, event_type, event from audit.lineage_events"
        )
    }
    load_bank = events[("safetynet_daily.load_bank", "FAIL")]
    assert [d["name"] for d in load_bank["inputs"]] == [
        "landing/bank/2026-10-01/balances_20261001.txt"
    ]
    assert load_bank["outputs"] == []
    check_raw = events[("safetynet_daily.check_raw", "FAIL")]
    delivery = next(d for d in check_raw["inputs"] if d["name"].endswith(".audit.load_batches"))
    failed = [
        a for a in delivery["facets"]["dataQualityAssertions"]["assertions"] if not a["success"]
    ]
    stored = stack.query(
        "select expectation from audit.dq_results where suite = 'delivery' and not success"
    )
    assert failed and sorted(a["assertion"] for a in failed) == sorted(e for (e,) in stored)
    assert not any(job.endswith(".build.run") for job, _ in events), "dbt must not have run"


def _event(time: str, run_id: str, job: str, airflow_run: str | None = None, parent=None):
    facets: dict = {}
    if airflow_run:
        facets["airflow"] = {"dagRun": {"run_id": airflow_run, "logical_date": DAY}}
    if parent:
        facets["parent"] = {"run": {"runId": parent}, "job": {"name": "safetynet_daily.dbt_build"}}
    return {
        "eventTime": time,
        "eventType": "COMPLETE" if parent else "START",
        "run": {"runId": run_id, "facets": facets},
        "job": {"namespace": "safetynet", "name": job},
        "inputs": [],
        "outputs": [],
    }


@pytest.mark.integration
def test_a_re_run_of_a_date_gives_its_models_its_own_airflow_run(
    local_stack, tmp_path: Path
) -> None:
    """dbt_build has one OpenLineage run id per date: each model event takes the
    Airflow run of the latest dbt_build event before it, not the first one."""
    import json

    build = "0190-dbt-build-of-the-date"
    events = [
        _event("2026-12-01T10:00:00+00:00", build, "safetynet_daily.dbt_build", "first"),
        _event("2026-12-01T10:00:05+00:00", "m1", "marts.alert_cases", parent=build),
        _event("2026-12-01T11:00:00+00:00", build, "safetynet_daily.dbt_build", "second"),
        _event("2026-12-01T11:00:05+00:00", "m2", "marts.alert_cases", parent=build),
    ]
    files = [tmp_path / "events-1.json"]
    files[0].write_text("\n".join(json.dumps(e) for e in events) + "\n", encoding="utf-8")
    with isolated_stack(local_stack, tmp_path, "t_lineage_rerun", key=KEY) as stack:
        store.load(stack.url, files=files)
        with warehouse.connect(stack.url) as conn:
            runs = dict(
                conn.execute(
                    "select run_id, airflow_run_id from audit.lineage_events "
                    "where run_id in ('m1', 'm2')"
                ).fetchall()
            )
    assert runs == {"m1": "first", "m2": "second"}
