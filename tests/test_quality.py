"""The GX gate reads the day's batch through views, not into Python.

The worked example's 2026-10-01 is loaded into a fresh warehouse, then
``pipeline.check_raw`` runs while a SQLAlchemy listener records every
statement GX sends and how many rows it returned. A suite that fetched its
whole batch (GX 1.x does so to reflect the columns of a *query* asset,
docs/benchmark.md section 2) would return a whole raw table's rows; the
gate may only bring back counts, catalogue rows and a few examples.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from conftest import SAMPLES, Stack, isolated_stack

from safetynet import pipeline, warehouse
from safetynet.config import SOURCES
from safetynet.ingest import loader
from safetynet.quality import gate

pytestmark = pytest.mark.integration

DAY = date(2026, 10, 1)
RUN_ID = "test_quality_run"
USER_SCHEMAS = ("raw.", "marts.", "audit.", gate.CHECKS_SCHEMA)


@pytest.fixture(scope="module")
def loaded(local_stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("quality")
    name = f"t_quality_{uuid.uuid4().hex[:8]}"
    with isolated_stack(local_stack, root, name, key="sample-key") as stack:
        shutil.copytree(SAMPLES / "landing", stack.landing)
        for source in SOURCES:  # the four agencies and (v2) casework
            loader.load_source(stack.url, stack.landing, source, DAY, stack.key, RUN_ID)
        yield stack


EXAMPLE_QUERY = "(example query parameters)"


def _example_limits(statements: list) -> list[int]:
    """The LIMIT of each GX example query recorded."""
    return [limit for s, limit in statements if s == EXAMPLE_QUERY]


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch, loaded: Stack):
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", loaded.url)
    monkeypatch.setenv("SAFETYNET_REPORTS_DIR", str(loaded.reports))
    seen: list[tuple[str, int]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((" ".join(statement.split()), cursor.rowcount))
        limit = re.search(r"LIMIT %\((\w+)\)s", statement)
        if "unexpected_values" in statement and limit and isinstance(parameters, dict):
            seen.append((EXAMPLE_QUERY, parameters[limit[1]]))  # GX binds its LIMIT

    event.listen(Engine, "after_cursor_execute", record)
    yield seen
    event.remove(Engine, "after_cursor_execute", record)


def test_check_raw_never_fetches_a_batch(loaded: Stack, statements: list) -> None:
    biggest = loaded.query("select max(loaded_rows) from audit.load_batches")[0][0]
    assert biggest > 100  # the sample tables are large enough to tell a fetch apart

    tally = pipeline.check_raw(DAY, RUN_ID)

    assert tally["checks"] > 30 and tally["failed_critical"] == 0
    ours = [(s, n) for s, n in statements if any(x in s for x in USER_SCHEMAS)]
    assert ours, "the listener saw GX's queries"
    fetched = [
        (s[:200], n)
        for s, n in ours
        if s.lower().lstrip("( ").startswith("select") and n > gate.EXAMPLES
    ]
    assert not fetched, f"statements that brought a batch into Python: {fetched}"
    assert not any(
        s.lower().startswith(f"select * from {t}")
        for s, _ in ours
        for t in ("raw.", "marts.")
        if "limit" not in s.lower()
    )
    assert loaded.query(
        "select count(*) from pg_views where schemaname = %s", (gate.CHECKS_SCHEMA,)
    ) == [(0,)], "the run's views are dropped"


def test_duplicate_key_blocks_with_examples(loaded: Stack, statements: list) -> None:
    with warehouse.connect(loaded.url) as conn:
        conn.execute(
            """insert into raw.bank_balances select * from raw.bank_balances
                        where extract_date = %s order by line_no limit 1""",
            (DAY,),
        )
    try:
        with pytest.raises(gate.QualityGateFailed, match="expect_compound_columns"):
            pipeline.check_raw(DAY, RUN_ID)
        rows = loaded.query(
            """select expectation, column_name, severity, observed_value from audit.dq_results
               where suite = 'raw.bank_balances' and not success"""
        )
        key = [r for r in rows if r[0] == "expect_compound_columns_to_be_unique"]
        assert key and key[0][1:3] == ("bank_code,account_no", "critical")
        observed = json.loads(key[0][3])
        assert observed["observed"] == 1
        assert observed["examples"][0]["copies"] == 2
    finally:
        with warehouse.connect(loaded.url) as conn:
            conn.execute(
                """delete from raw.bank_balances where ctid in (
                              select max(ctid) from raw.bank_balances where extract_date = %s
                              group by bank_code, account_no having count(*) > 1)""",
                (DAY,),
            )


def test_failed_column_check_keeps_its_examples(loaded: Stack, statements: list) -> None:
    """(issue 23) The checkpoint counts only; a failed column check's examples are
    fetched after it: every other check's example query is a LIMIT 0."""
    with warehouse.connect(loaded.url) as conn:
        line, gender = conn.execute(
            """select line_no, gender from raw.civil_affairs_persons
               where extract_date = %s order by line_no limit 1""",
            (DAY,),
        ).fetchone()
        conn.execute(
            """update raw.civil_affairs_persons set gender = 'X'
               where extract_date = %s and line_no = %s""",
            (DAY, line),
        )
    try:
        with pytest.raises(gate.QualityGateFailed, match="gender"):
            pipeline.check_raw(DAY, RUN_ID)
        rows = loaded.query(
            """select observed_value from audit.dq_results where run_id = %s
               and suite = 'raw.civil_affairs_persons' and column_name = 'gender'
               and not success""",
            (RUN_ID,),
        )
        assert [json.loads(r[0]) for r in rows] == [{"observed": 1, "examples": ["X"]}]
        limits = _example_limits(statements)
        assert limits.count(gate.EXAMPLES) == 1 and set(limits) == {0, gate.EXAMPLES}, limits
    finally:
        with warehouse.connect(loaded.url) as conn:
            conn.execute(
                """update raw.civil_affairs_persons set gender = %s
                   where extract_date = %s and line_no = %s""",
                (gender, DAY, line),
            )


def test_redelivery_rerun_under_the_same_run_id_passes(loaded: Stack, statements: list) -> None:
    """Clear / backfill --reprocess-behavior failed re-runs a day under its old run id:
    the delivery suite judges each source's latest attempt, not the failed one."""
    from safetynet.ingest.manifest import DeliveryError
    from safetynet_dev.synth import damage

    run_id = "test_quality_redelivery"
    balances = damage.folder(loaded.landing, "bank", DAY.isoformat()) / "balances_20261001.txt"
    pristine = balances.read_bytes()
    for source in ("civil_affairs", "health", "housing", "casework"):
        loader.load_source(loaded.url, loaded.landing, source, DAY, loaded.key, run_id)
    damage.flip_byte(balances)
    with pytest.raises(DeliveryError, match="sha256"):
        loader.load_source(loaded.url, loaded.landing, "bank", DAY, loaded.key, run_id)
    with pytest.raises(gate.QualityGateFailed, match="delivery"):
        pipeline.check_raw(DAY, run_id)

    balances.write_bytes(pristine)  # re-delivered
    loader.load_source(loaded.url, loaded.landing, "bank", DAY, loaded.key, run_id)
    tally = pipeline.check_raw(DAY, run_id)
    assert tally["failed_critical"] == 0


def test_leftovers_of_a_killed_check_run_are_cleared(loaded: Stack, statements: list) -> None:
    """A check process killed before its clean-up leaves a view and a key table behind;
    a later run drops them once they are a day old (and is not stopped by them)."""
    with warehouse.connect(loaded.url) as conn:
        conn.execute(f"create schema if not exists {gate.CHECKS_SCHEMA}")
        for kind, name in (("view", "old_batch"), ("table", "old_batch_k0")):
            conn.execute(f"create {kind} {gate.CHECKS_SCHEMA}.{name} as select 1 as one")
            conn.execute(
                f"comment on {kind} {gate.CHECKS_SCHEMA}.{name} is "
                f"'{gate.VIEW_COMMENT} 2000-01-01T00:00:00+00:00'"
            )

    tally = pipeline.check_raw(DAY, RUN_ID)

    assert tally["failed_critical"] == 0
    left = loaded.query(
        """select relname from pg_class c join pg_namespace n
                           on n.oid = c.relnamespace where n.nspname = %s""",
        (gate.CHECKS_SCHEMA,),
    )
    assert left == []


def test_rejected_casework_rows_only_warn_whatever_their_share(
    loaded: Stack, statements: list
) -> None:
    """Contract v2 section 9: a casework file with 2 of 3 rows rejected loads, and the
    delivery check reports it as a warning; the raw casework suite passes."""
    from casework_landing import write_casework

    run_id = "test_quality_casework"
    folder = loaded.landing / "casework" / DAY.isoformat()
    pristine = {p.name: p.read_bytes() for p in folder.iterdir()}
    good = ("b2bdc627ab8e11a3bff1ed6fa35c61ec", "VERIFYING", "2026-10-01", "S1", "a, b")
    write_casework(loaded.landing, DAY, [good, good, (good[0], "LOST", *good[2:])])
    try:
        for source in SOURCES:
            loader.load_source(loaded.url, loaded.landing, source, DAY, loaded.key, run_id)
        tally = pipeline.check_raw(DAY, run_id)
    finally:
        for name, data in pristine.items():
            (folder / name).write_bytes(data)
    assert tally["failed_critical"] == 0 and tally["failed_warning"] >= 1
    warned = loaded.query(
        "select suite, column_name from audit.dq_results where run_id = %s and not success",
        (run_id,),
    )
    assert warned == [("delivery", "warning")]
    assert loaded.query(
        "select line_no, reason from audit.rejected_rows where source = 'casework' "
        "and batch_id = (select max(batch_id) from audit.load_batches where run_id = %s "
        "and source = 'casework') order by line_no",
        (run_id,),
    ) == [(3, "exact duplicate of line 2"), (4, "invalid status")]
