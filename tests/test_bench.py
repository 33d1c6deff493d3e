"""Smoke test of the benchmark's measuring functions (``safetynet_dev.bench``).

Small and fast: a few hundred generated households, the real local cluster,
no Airflow run (``make bench`` is the real thing, see docs/benchmark.md).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from conftest import SAMPLES

from safetynet.config import SOURCES
from safetynet.ingest import loader
from safetynet.ingest.sources import SPECS
from safetynet_dev.bench import baseline, logs, report, runner, stages
from safetynet_dev.bench import sampler as sampling
from safetynet_dev.bench.deployment import Deployment
from safetynet_dev.bench.report import MIB
from safetynet_dev.synth.generator import generate

DAY = date(2026, 10, 1)

CHILD_TREE = """
import subprocess, sys, time
block = bytearray(64 * 1024 * 1024)  # ~64 MiB resident in the parent
for i in range(0, len(block), 4096):
    block[i] = 1
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3)"])
time.sleep(1.5)
child.wait()
"""


@pytest.mark.integration
@pytest.mark.parametrize("use_psutil", [True, False], ids=["psutil", "procfs"])
def test_sampler_sees_the_process_tree_and_postgres(local_stack, use_psutil: bool) -> None:
    if use_psutil and sampling.psutil is None:
        pytest.skip("psutil not installed")
    process = subprocess.Popen([sys.executable, "-c", CHILD_TREE])
    postmaster = sampling.postmaster_pid(local_stack.data_dir)
    assert postmaster, "the local cluster writes postmaster.pid"
    sampler = sampling.ProcessSampler(
        process.pid, postmaster, ["postgres"], interval=0.1, use_psutil=use_psutil
    )
    sampler.start()
    time.sleep(1.2)
    snapshot = sampling.proc_snapshot(use_psutil)
    tree = sampling.descendants(process.pid, snapshot)
    process.wait()
    report = sampler.stop()
    assert len(tree) == 2, "the parent and its child"
    assert report.samples >= 5
    assert report.peak_process_rss >= 64 * MIB
    assert report.peak_tree_rss >= report.peak_process_rss
    assert report.peak_pg_rss > 0 and report.peak_pg_pss > 0
    assert report.peak_pg_all_rss >= report.peak_pg_rss
    assert report.cpu_seconds_tree > 0
    start = report.timeline[0].t
    assert report.peak_in(start, start + 60) == report.peak_process_rss
    assert report.peak_in(start - 10, start - 5) is None
    spent = report.cpu_in(start, report.timeline[-1].t)
    assert spent is not None and 0 <= spent <= report.cpu_seconds_tree + report.cpu_seconds_pg
    timeline = report.as_dict(timeline_step=0.5)["timeline"]
    assert 1 <= len(timeline) <= report.samples


@pytest.mark.unit
def test_stage_figures_count_the_cores_other_work_took() -> None:
    """A process outside the sampled tree spinning on one core shows as others' cores
    during the stage; the sampled tree (asleep) takes almost none."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(2.5)"])
    spin = "import time\nend = time.time() + 2\nwhile time.time() < end: pass"
    spinner = subprocess.Popen([sys.executable, "-c", spin])
    sampler = sampling.ProcessSampler(sleeper.pid, interval=0.1, with_pss=False)
    sampler.start()
    spinner.wait()
    sleeper.wait()
    report = sampler.stop()
    start, end = report.timeline[0].t + 0.3, report.timeline[0].t + 1.8
    cpu, others = stages.stage_cpu_figures(report, {"load_bank": {"start": start, "end": end}})
    assert cpu["load"] is not None and cpu["load"] < 0.3
    assert others["load"]["others"] >= 0.5, others
    assert 0 <= others["load"]["steal"] <= 2


@pytest.mark.unit
def test_postgres_backends_of_other_databases_are_left_out() -> None:
    procs = {
        1: sampling.Proc(1, 0, 100, "postgres -D /x", 0.0),
        2: sampling.Proc(2, 1, 10, "postgres: checkpointer ", 0.0),
        3: sampling.Proc(3, 1, 20, "postgres: safetynet bench 127.0.0.1(5) idle", 0.0),
        4: sampling.Proc(4, 1, 40, "postgres: safetynet other 127.0.0.1(6) SELECT", 0.0),
        5: sampling.Proc(5, 9, 80, "python", 0.0),
    }
    assert sorted(sampling.postgres_pids(procs, 1, ["bench"])) == [1, 2, 3]
    assert sorted(sampling.postgres_pids(procs, 1)) == [1, 2, 3, 4]
    assert sampling.postgres_pids(procs, None) == []


def _t(seconds: float) -> datetime:
    return datetime(2026, 11, 1, tzinfo=UTC) + timedelta(seconds=seconds)


@pytest.mark.unit
def test_stage_times_group_tasks_into_stages() -> None:
    tasks = [
        stages.TaskTime("load_casework", "success", _t(0), _t(1)),
        stages.TaskTime("load_civil_affairs", "success", _t(5), _t(15)),
        stages.TaskTime("load_health", "success", _t(15), _t(20)),
        stages.TaskTime("load_housing", "success", _t(20), _t(22)),
        stages.TaskTime("load_bank", "success", _t(22), _t(30)),
        stages.TaskTime("check_arrivals", "success", _t(31), _t(32)),
        stages.TaskTime("check_raw", "success", _t(31), _t(40)),
        stages.TaskTime("dbt_build", "success", _t(40), _t(100)),
        stages.TaskTime("publish_feed", "success", _t(100), _t(111)),
        stages.TaskTime("compact_history", "success", _t(111), _t(114)),
        stages.TaskTime("discard_day", "skipped", None, None),
    ]
    times = stages.stage_times(tasks)
    assert times["stages"] == {
        "load": 30.0,
        "check_raw": 9.0,
        "dbt_build": 60.0,
        "publish": 11.0,
        "compact": 3.0,
    }
    assert times["total"] == 114.0
    assert times["other"] == pytest.approx(1.0)  # the gap between load and check_raw
    assert times["tasks"]["load_bank"]["seconds"] == 8.0
    assert times["tasks"]["discard_day"]["seconds"] is None
    assert logs.task_at(_t(50).timestamp(), times["tasks"]) == "dbt_build"


@pytest.mark.integration
def test_day_run_reads_the_metadata_schema(local_stack) -> None:
    import os

    # the real Airflow schema, a date no run has: the query runs and finds nothing
    run, tasks = stages.day_run(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], date(1999, 1, 1))
    assert run == {} and tasks == []


@pytest.mark.integration
def test_overnight_vacuums_analyses_and_checkpoints(stack) -> None:
    table = f"bench_overnight_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(stages.metadata_url(stack.url), autocommit=True) as conn:
        conn.execute(f"create table public.{table} as select generate_series(1, 5000) as x")
        try:
            before = conn.execute("select checkpoints_req from pg_stat_bgwriter").fetchone()
            seconds = runner.overnight(stack.url)
            reltuples, vacuumed = conn.execute(
                "select reltuples, last_vacuum from pg_class c"
                " join pg_stat_user_tables s on s.relid = c.oid where c.oid = %s::regclass",
                (f"public.{table}",),
            ).fetchone()
            after = conn.execute("select checkpoints_req from pg_stat_bgwriter").fetchone()
        finally:
            conn.execute(f"drop table public.{table}")
    assert set(seconds) == {"vacuum_analyze", "checkpoint"} and min(seconds.values()) > 0
    assert reltuples == 5000, "ANALYZE counted the rows"
    assert vacuumed is not None, "VACUUM ran on it"
    assert after[0] > before[0], "a checkpoint was requested"


@pytest.mark.integration
def test_copy_baseline_counts_every_row_with_the_loader_options(stack, tmp_path: Path) -> None:
    generate(stack.landing, 300, DAY, 1)
    inventory = baseline.day_inventory(stack.landing, DAY)
    rows = baseline.source_rows(inventory)
    copies = baseline.copy_baseline(
        stack.url, stack.landing, DAY, schema="bench_copy_test", repeats=2
    )
    assert {c.file_name for c in copies} == {n for files in inventory.values() for n in files}
    for copy in copies:
        assert copy.rows == inventory[copy.source][copy.file_name]["rows"], copy.file_name
        assert copy.seconds > 0 and (copy.rows_per_second > 0 or copy.rows == 0)
    # GB18030 decoded by the server: the names come back as the same text
    with psycopg.connect(stages.metadata_url(stack.url)) as conn:
        left = conn.execute("select to_regnamespace('bench_copy_test')").fetchone()
    assert left == (None,), "the baseline tables are dropped afterwards"
    ratios = baseline.load_ratios(copies, rows, dict.fromkeys(SOURCES, 1.0), load_wall=2.0)
    assert ratios["pipeline_rows_per_s_task_sum"] == pytest.approx(
        sum(rows.values()) / len(SOURCES)
    )
    assert ratios["pipeline_rows_per_s_stage_wall"] == pytest.approx(sum(rows.values()) / 2.0)
    assert ratios["ratio_stage_wall"] == pytest.approx(
        ratios["pipeline_rows_per_s_stage_wall"] / ratios["copy_rows_per_s"]
    )
    bank = ratios["per_source"]["bank"]
    assert bank["ratio"] == pytest.approx(bank["copy_seconds"] / 1.0)


@pytest.mark.integration
def test_slow_statements_are_read_from_the_server_log(local_stack, tmp_path: Path) -> None:
    name = "t_bench_" + uuid.uuid4().hex[:8]
    deployment = Deployment(local_stack, tmp_path / "bench", name, name + "_meta")
    log = local_stack.data_dir / "server.log"
    offset = log.stat().st_size
    deployment.create(slow_ms=100)
    try:
        with psycopg.connect(stages.metadata_url(deployment.warehouse_url)) as conn:
            conn.execute("select pg_sleep(0.15), 'bench smoke test'")
        environ = deployment.environ()
        assert environ["SAFETYNET_LANDING_DIR"] == str(tmp_path / "bench" / "landing")
        assert environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("/" + name + "_meta")
        assert f":{local_stack.password()}@" in environ["AIRFLOW_CONN_WAREHOUSE"]
        found = []
        for _ in range(20):  # the logging collector may lag a moment
            statements, _ = logs.slow_statements(log, offset)
            found = [s for s in statements if "bench smoke test" in s.sql]
            if found:
                break
            time.sleep(0.1)
        assert found and found[0].ms >= 100
    finally:
        with psycopg.connect(local_stack.url("postgres"), autocommit=True) as conn:
            for db in (name, name + "_meta"):
                conn.execute(f'drop database if exists "{db}" with (force)')


@pytest.mark.unit
def test_log_and_output_parsers() -> None:
    server_log = (
        "2026-11-23 12:00:00.000 UTC [42] LOG:  temporary file: "
        'path "base/pgsql_tmp/x", size 1048576\n'
        "2026-11-23 12:00:00.000 UTC [42] STATEMENT:  select 1\n"
        "2026-11-23 12:00:01.500 UTC [42] LOG:  duration: 1500.250 ms  statement: create table\n"
        '\t"bench"."intermediate"."int_claims__latest_versions__dbt_tmp" as (select 1)\n'
        "2026-11-23 12:00:02.000 UTC [43] LOG:  duration: 250.000 ms  "
        "execute <unnamed>: insert into x\n"
        '2026-11-23 12:00:02.500 UTC [44] LOG:  duration: 300.000 ms  statement: /* {"app": '
        '"dbt", "node_id": "model.safetynet.low_income_population"} */\n'
        '  insert into "bench"."marts"."low_income_population" select 1\n'
        "2026-11-23 12:00:03.000 UTC [43] LOG:  checkpoint starting: time\n"
    )
    path = Path("/tmp") / f"bench_log_{uuid.uuid4().hex}.log"
    path.write_text(server_log)
    try:
        statements, offset = logs.slow_statements(path)
    finally:
        path.unlink()
    assert offset == len(server_log.encode())
    assert [s.ms for s in statements] == [1500.25, 250.0, 300.0]
    assert statements[2].model == "low_income_population"
    assert statements[2].short().startswith("[low_income_population] insert into")
    assert statements[0].model == "int_claims__latest_versions"
    assert statements[0].temp_bytes == 1048576 and statements[1].temp_bytes == 0
    assert statements[0].t == datetime(2026, 11, 23, 12, 0, 1, 500000, tzinfo=UTC).timestamp()

    dbt_output = (
        "\x1b[0m12:59:06  Running with dbt=1.11.16\n"
        "\x1b[0m12:59:08  Unable to do partial parsing because saved manifest not found.\n"
        "\x1b[0m12:59:18  Found 25 models, 80 data tests, 2 seeds\n"
        "\x1b[0m12:59:18  Concurrency: 1 threads (target='warehouse')\n"
        "\x1b[0m12:59:20  3 of 107 OK created sql table model intermediate.int_household_members "
        "... [\x1b[32mSELECT 1028303\x1b[0m in 7.25s]\n"
        "\x1b[0m12:59:21  5 of 107 PASS source_has_rows_on_as_of_date_bank  "
        "[\x1b[32mPASS\x1b[0m in 0.07s]\n"
        "\x1b[0m12:59:29  Finished running 4 incremental models in 0 hours 0 minutes "
        "and 10.56 seconds (10.56s).\n"
        "2026-11-23T12:49:01.1Z [info] civil_affairs/2026-10-01/persons.csv: 1028303 rows, "
        "1028300 loaded, 3 rejected (12.50s) [safetynet.loader]\n"
    )
    nodes = logs.dbt_node_times(dbt_output)
    assert [(n["node"], n["seconds"]) for n in nodes] == [
        ("intermediate.int_household_members", 7.25),
        ("source_has_rows_on_as_of_date_bank", 0.07),
    ]
    summary = logs.dbt_summary(dbt_output)
    assert summary["parse_seconds"] == 12 and summary["threads"] == 1
    assert summary["execution_seconds"] == 10.56 and summary["partial_parse"] is False
    assert summary["node_seconds"] == {"model": 7.25, "test": 0.07}
    files = logs.loader_file_times(dbt_output)
    assert files == [
        {
            "source": "civil_affairs",
            "file": "persons.csv",
            "rows": 1028303,
            "loaded": 1028300,
            "rejected": 3,
            "seconds": 12.5,
        }
    ]


@pytest.mark.unit
def test_render_and_write_results(tmp_path: Path) -> None:
    day = {
        "date": "2026-10-01",
        "returncode": 0,
        "run_state": "success",
        "run_id": "x",
        "process_wall_seconds": 100.0,
        "stages": {
            "wait": 1.0,
            "load": 20.0,
            "check_raw": 5.0,
            "dbt_build": 60.0,
            "publish": 6.0,
        },
        "other": 1.0,
        "total": 93.0,
        "tasks": {"load_bank": {"seconds": 5.0}},
        "memory": sampling.MemoryReport(peak_process_rss=600 * MIB).as_dict(),
        "task_peak_rss": {},
        "cpu": {"other_cores_busy": 0.1},
        "rows": dict.fromkeys(SOURCES, 1000),
        "load_rows_per_s": 200.0,
        "warehouse": {
            "marts.low_income_population": 10,
            "raw_day_bytes": 4 * MIB,
            "line_number_bytes": MIB // 10,
        },
        "dbt_nodes": [],
        "dbt": {},
        "airflow_overheads": {},
        "slow_statements": [
            {"task": "dbt_build", "ms": 1234.0, "model": None, "temp_bytes": 0, "sql": "select 1"}
        ],
    }
    result = {
        "started_at": "now",
        "machine": {"cpus": 2},
        "parameters": {"households": 10, "days": 1, "start": "2026-10-01", "slow_ms": 200},
        "generation": {"seconds": 1.0, "persons": 25},
        "days": [day],
        "copy": None,
    }
    text = report.render(result)
    assert "dbt_build" in text and "select 1" in text and "[PASS] peak RSS" in text
    assert "[FAIL] every day start to feed <= 60 s (25 persons)" in text  # 100 s
    assert "[FAIL] sample-size day start to feed <= 15 s" in text  # 10 households, 100 s
    assert re.search(r"of it source line numbers, %\s+2\.5\b", text)
    path = report.write_results(result, tmp_path)
    assert path.exists() and (tmp_path / "latest.json").read_text() == path.read_text()


@pytest.mark.unit
@pytest.mark.parametrize(
    ("persons", "feed", "expected"),
    [(1_028_303, 59.0, True), (1_028_303, 61.0, False), (5_100_000, 290.0, True)],
)
def test_day_target_by_scale(persons: int, feed: float, expected: bool) -> None:
    """(issue 23) 1M persons: 60 s to the feed; a province of 5M: 300 s."""
    days = [{"feed_seconds": feed, "process_wall_seconds": feed + 20, "returncode": 0}]
    result = {"days": days, "generation": {"persons": persons}}
    _, ok, detail = report._day_target(result)
    assert ok is expected and str(round(feed + 20, 1)) in detail


@pytest.mark.unit
def test_history_growth_counts_days_after_a_full_window() -> None:
    """(issue 23) Growth is judged on days whose day before had a full window, as the
    mean over those days (the size swings by a day's dead space); the change history's
    own growth is shown per day."""

    def day(size_mib: int, history_mib: int = 0) -> dict:
        files = {"bank": {"b.txt": {"rows": 1, "bytes": 100 * MIB}}}
        facts = {"database_bytes": size_mib * MIB, "history_bytes": history_mib * MIB}
        return {"date": "d", "files": files, "warehouse": facts}

    days = [day(500), day(600, 50), day(609, 58), day(621, 67)]  # grows 100, 9, 12 MiB
    window_1 = {"days": days, "parameters": {"snapshot_window_days": "1"}}
    assert report.growth(days)[1:] == [100 * MIB, 9 * MIB, 12 * MIB]
    assert report.history_growth(days)[1:] == [50 * MIB, 8 * MIB, 9 * MIB]
    _, ok, detail = report._history_growth_target(window_1)
    assert ok is False and "(10.5%) over 2 days" in detail and "+100" not in detail
    assert "history +9.0 MiB" in detail
    swinging = [day(500), day(600), day(630), day(618)]  # +30 then -12: mean 9 MiB
    assert report._history_growth_target({**window_1, "days": swinging})[1] is True
    assert report._history_growth_target({**window_1, "days": days[:3]})[1] is True
    _, ok, _ = report._history_growth_target({"days": days, "parameters": {}})
    assert ok is None  # a 14-day window is not full after 4 days


@pytest.mark.unit
def test_relation_growth_is_the_mean_over_the_steady_days() -> None:
    """(issue 23) Where the growth goes: each table's mean growth per steady day, from
    the day before the first steady day to the last day, largest first."""

    def day(bank: int, cases: int) -> dict:
        sizes = {"raw.bank_balances__histv": bank * MIB, "marts.alert_cases__hist": cases * MIB}
        return {"date": "d", "warehouse": {"relation_bytes": sizes}}

    days = [day(0, 0), day(100, 10), day(106, 12), day(112, 11)]
    result = {"days": days, "parameters": {"snapshot_window_days": "1"}}
    assert report.relation_growth(result) == [
        ("raw.bank_balances__histv", 6 * MIB),
        ("marts.alert_cases__hist", 0.5 * MIB),
    ]
    assert "raw.bank_balances__histv" in "\n".join(report._relation_growth_lines(result))
    assert report.relation_growth({**result, "days": days[:2]}) == []


@pytest.mark.unit
@pytest.mark.parametrize(
    ("households", "seconds", "expected"),
    [(800, 14.9, True), (2_000, 15.1, False), (400_000, 10.0, None)],
)
def test_sample_size_day_verdict(households: int, seconds: float, expected: bool | None) -> None:
    """(issue 23) Only a run of <= 2,000 households gets the 15 s verdict, on its slowest
    day, start to feed (the compaction after it and the shutdown do not count)."""
    days = [
        {
            "feed_seconds": feed,
            "process_wall_seconds": feed + 3.0,
            "returncode": 0,
            "cpu": {"pipeline_seconds": 8.0},
        }
        for feed in (9.0, seconds)
    ]
    for day in days:
        day.update(memory={"peak_process_rss": MIB}, rows={})
    found = [
        ok
        for label, ok, _ in report.verdicts(
            {"parameters": {"households": households}, "days": days}
        )
        if label.startswith("sample-size day")
    ]
    assert found == ([] if expected is None else [expected])


@pytest.mark.integration
def test_loader_against_copy_loads_every_source_and_times_both(stack, tmp_path: Path) -> None:
    generate(stack.landing, 200, DAY, 1)
    rows = baseline.source_rows(baseline.day_inventory(stack.landing, DAY))
    alone = baseline.loader_against_copy(
        stack.url, stack.landing, (DAY, stack.key), repeats=2, schema="bench_copy_test"
    )
    assert {s: v["rows"] for s, v in alone["per_source"].items()} == rows
    for source in SOURCES:
        v = alone["per_source"][source]
        assert v["loader_seconds"] > 0 and v["copy_seconds"] > 0
        assert v["ratio"] == pytest.approx(v["copy_seconds"] / v["loader_seconds"])
    assert alone["ratio"] == pytest.approx(alone["copy_seconds"] / alone["loader_seconds"])
    with psycopg.connect(stack.url) as conn:  # loaded twice, kept once
        batches = conn.execute(
            "select count(*) from audit.load_batches where status = 'loaded' and extract_date = %s",
            (DAY,),
        ).fetchone()
        persons = conn.execute("select count(*) from raw.civil_affairs_persons").fetchone()
    assert batches == (2 * len(SPECS),)
    assert persons == (
        baseline.day_inventory(stack.landing, DAY)["civil_affairs"]["persons.csv"]["rows"],
    )


@pytest.mark.integration
def test_warehouse_facts_size_the_day_and_its_line_numbers(stack) -> None:
    """(issue 21) the report sets the line numbers against the day's raw partitions."""
    shutil.copytree(SAMPLES / "landing", stack.landing, dirs_exist_ok=True)
    for source in SOURCES:
        loader.load_source(stack.url, stack.landing, source, date(2026, 10, 1), stack.key)
    facts = runner.warehouse_facts(stack.url, date(2026, 10, 1))
    rows = sum(v for k, v in facts.items() if k.startswith("raw.") and v)
    assert rows > 700 and facts["line_number_bytes"] == 4 * rows
    assert facts["raw_day_bytes"] > 10 * facts["line_number_bytes"]
    assert runner.warehouse_facts(stack.url, date(2026, 10, 2))["raw_day_bytes"] == 0


@pytest.mark.unit
@pytest.mark.parametrize("hangs", [True, False], ids=["hangs", "exits"])
def test_a_shutdown_hang_after_the_run_is_ended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hangs: bool
) -> None:
    """A `dags test` whose run finished but whose executor waits on a worker forever
    (apache/airflow#67870) gets its workers stopped after the grace; the day says so."""
    monkeypatch.setattr(runner, "SHUTDOWN_GRACE_SECONDS", 0.5)
    worker = "['sleep', '600']" if hangs else "['true']"
    script = f"import subprocess; print('DagRun Finished', flush=True); subprocess.run({worker})"
    log_file = tmp_path / "dags_test.log"
    started = time.monotonic()
    with open(log_file, "wb") as out:
        process = subprocess.Popen([sys.executable, "-c", script], stdout=out)
        returncode, hung = runner.wait_for(process, log_file)
    assert (returncode, hung) == (0, hangs)
    assert time.monotonic() - started < 30
