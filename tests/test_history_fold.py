"""The change history keeps every date exactly (issue 23, docs/history.md).

A stack runs 4 days through the real DAG with a window wide enough to fold nothing;
each test works on a copy of that database (``create database ... template``):

- folding with a window of 1 keeps, for every spec and every date, the same rows on
  the row text (``EXCEPT ALL`` both ways between the snapshot taken before and the
  point-in-time rows after), drops the folded raw partitions and __recent rows, and a
  second compaction folds nothing;
- a mid-history replace-day (day 2 re-built with other rows) gives the version set of
  a fresh fold of the altered days, and re-folding the original day 2 gives back the
  original version set;
- a verification failure (a corrupt version) rolls back: calendar, history and
  snapshot as before;
- the history tables' columns and types are the snapshot tables' (a new mart column
  fails here until the spec and sql/history.sql have it).
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Iterator
from datetime import date, timedelta

import psycopg
import pytest
from conftest import drop_database, isolated_stack
from psycopg import sql

from safetynet import history
from safetynet.history import fold, specs
from safetynet.history.sql import (
    ALL_VERSIONS,
    PACKED,
    VALID_AT,
    ident,
    part_columns,
    part_names,
    row_hash,
    stored_relations,
    stored_tables,
)
from safetynet_dev.synth import generator

pytestmark = pytest.mark.integration

DAYS = [date(2026, 10, 1) + timedelta(days=i) for i in range(4)]
WIDE = {"SAFETYNET_SNAPSHOT_WINDOW_DAYS": "30"}


@pytest.fixture(scope="module")
def four_days(local_stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The name of a database holding 4 processed days, nothing folded."""
    root = tmp_path_factory.mktemp("history_fold")
    with isolated_stack(local_stack, root, "t_history_fold") as stack:
        generator.generate(root / "pristine", 300, DAYS[0], len(DAYS), seed=29)
        shutil.copytree(root / "pristine", stack.landing)
        for day in DAYS:
            run = stack.run_dag(day.isoformat(), **WIDE)
            assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
        assert _folded(stack.url) == set()
        yield "t_history_fold"


@pytest.fixture
def copy(local_stack, four_days: str) -> Iterator[str]:
    """A fresh copy of the 4-day database: its url."""
    name = f"t_history_copy_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(local_stack.url("postgres"), autocommit=True) as conn:
        conn.execute(f'create database "{name}" template "{four_days}"')
    try:
        yield local_stack.url(name)
    finally:
        drop_database(local_stack, name)


def _folded(url: str) -> set[tuple[str, date]]:
    with psycopg.connect(url) as conn:
        return set(conn.execute("select table_name, extract_date from audit.history_days"))


def _save_snapshots(conn: psycopg.Connection, schema: str) -> None:
    """A copy of every spec's whole snapshots (all dates) into ``schema``."""
    conn.execute(sql.SQL("create schema {}").format(sql.Identifier(schema)))
    for spec in specs.SPECS:
        conn.execute(
            sql.SQL("create table {} as select * from {}").format(
                sql.Identifier(schema, spec.table), fold.snapshot_rel(spec)
            )
        )


def _differences(conn: psycopg.Connection, spec: specs.Spec, schema: str, x: date) -> tuple:
    """Rows of the saved snapshot of X not in the point in time, and the reverse."""
    cols = sql.SQL(", ").join(sql.Identifier("s", n) for n in spec.compared)
    folded = conn.execute(
        "select 1 from audit.history_days where table_name = %s and extract_date = %s",
        (spec.table, x),
    ).fetchone()
    now = fold.point_in_time_source(spec, x) if folded else fold.snapshot_source(spec, x)
    saved = sql.SQL("select row({c})::text from {t} s where s.{d} = {x}").format(
        c=cols,
        t=sql.Identifier(schema, spec.table),
        d=sql.Identifier(spec.date_column),
        x=sql.Literal(x),
    )
    rebuilt = sql.SQL("select row({c})::text from {src}").format(c=cols, src=now)
    row = conn.execute(
        sql.SQL(
            "select (select count(*) from ({a} except all {b}) p), "
            "(select count(*) from ({b} except all {a}) q), (select count(*) from ({a}) r)"
        ).format(a=saved, b=rebuilt)
    ).fetchone()
    assert row is not None
    return tuple(row)


def _versions(conn: psycopg.Connection) -> dict[str, set[str]]:
    """Every version of every spec as text, with its key columns (not its key_id)."""
    found: dict[str, set[str]] = {}
    for spec in specs.SPECS:
        for suffix in part_names(spec):
            cols = [sql.Identifier("k", k) for k in spec.key] + [
                sql.Identifier("h", c.name) for c in part_columns(spec, suffix)
            ]
            rows = conn.execute(
                sql.SQL(
                    "select row({c}, h.valid_from, h.valid_to)::text from {h} h "
                    "join {k} k using (key_id)"
                ).format(
                    c=sql.SQL(", ").join(cols),
                    h=_all_versions(spec, suffix),
                    k=ident(spec, "__keys"),
                )
            ).fetchall()
            texts = [r[0] for r in rows]
            assert len(texts) == len(set(texts)), f"{spec.table}{suffix}: duplicate versions"
            found[spec.table + suffix] = set(texts)
            assert _misplaced_hashes(conn, spec, suffix) == 0, f"{spec.table}{suffix}"
    return found


def _all_versions(spec: specs.Spec, suffix: str) -> sql.Composable:
    """A version table, or for the volatile part every version: open and packed."""
    return ident(spec, ALL_VERSIONS if suffix == "__histv" else suffix)


def _misplaced_hashes(conn: psycopg.Connection, spec: specs.Spec, suffix: str) -> int:
    """Versions breaking the storage rules (issue 23): an open version has the hash of
    its row text, a closed one none (8 bytes less a version); a volatile part keeps
    no closed version unpacked (they are in __histv_packed)."""
    rule = "(valid_to is null) is distinct from (row_hash is not null) or row_hash <> {h}"
    if suffix == "__histv":
        rule += " or valid_to is not null"
    names = [c.name for c in part_columns(spec, suffix)]
    row = conn.execute(
        sql.SQL("select count(*) from {t} where " + rule).format(
            t=ident(spec, suffix), h=row_hash(names, "")
        )
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_fold_keeps_every_date(copy: str) -> None:
    with psycopg.connect(copy, autocommit=True) as conn:
        _save_snapshots(conn, "before")
    report = history.compact(copy, 1, run_id="test")
    assert report.window == [DAYS[-1]]
    assert {(r.table, r.date) for r in report.folded} == {
        (s.table, d) for s in specs.SPECS for d in DAYS[:-1]
    }
    assert {r.path for r in report.folded} == {fold.FAST}
    with psycopg.connect(copy, autocommit=True) as conn:
        for spec in specs.SPECS:
            for x in DAYS:
                gone, extra, rows = _differences(conn, spec, "before", x)
                assert (gone, extra) == (0, 0), f"{spec.table} {x}"
                assert rows > 0 or spec.table != "low_income_population"
            # the window stays whole, the folded snapshots are gone
            for x in DAYS[:-1]:
                if spec.is_raw:
                    assert fold.raw_partition(conn, spec, x) is None, f"{spec.table} {x}"
                else:
                    assert fold.snapshot_digest(conn, spec, x).rows == 0, f"{spec.table} {x}"
            assert fold.snapshot_digest(conn, spec, DAYS[-1]).rows > 0 or spec.table.startswith(
                ("monitoring", "alert")
            )
        # the calendar's counts are the snapshots'
        counts = dict(
            conn.execute(
                "select table_name || ' ' || extract_date, rows from audit.history_days"
            ).fetchall()
        )
        for spec in specs.SPECS:
            for x in DAYS[:-1]:
                saved = conn.execute(
                    sql.SQL("select count(*) from {} where {} = %s").format(
                        sql.Identifier("before", spec.table), sql.Identifier(spec.date_column)
                    ),
                    (x,),
                ).fetchone()
                assert saved is not None and counts[f"{spec.table} {x}"] == saved[0]
        versions = _versions(conn)
    again = history.compact(copy, 1, run_id="again")
    assert again.folded == []
    with psycopg.connect(copy, autocommit=True) as conn:
        assert _versions(conn) == versions
    text = history.status(copy, 1)
    assert "folded    3" in text and "low_income_population" in text


def _alter_day(conn: psycopg.Connection, schema: str, x: date) -> None:
    """Change X's rows in the saved snapshots of ``schema``: rows gone, stable and
    volatile columns changed, the population kept consistent with dim_households."""

    def change(table: str, what: str, bucket: str, extra: str = "true") -> None:
        spec = specs.BY_NAME[table]
        statement = "delete from {t} t" if what == "delete" else "update {t} t set " + what
        conn.execute(
            sql.SQL(statement + " where md5(t::text) like {b} and {d} = {x} and " + extra).format(
                t=sql.Identifier(schema, table),
                b=sql.Literal(bucket + "%"),
                d=sql.Identifier(spec.date_column),
                x=sql.Literal(x),
            )
        )

    for spec in specs.RAW_SPECS:
        change(spec.table, "delete", "0")
        text = next(c.name for c in spec.stable if c.type == "text")
        change(spec.table, f"{text} = {text} || '*'", "1")
    change("bank_balances", "balance_fen = balance_fen + 1", "2")
    # dim_households: households gone (and their population rows), a stable and the
    # volatile column changed (the population follows: it is built from the same)
    change("dim_households", "delete", "0")
    change("dim_households", "region_name = region_name || '*'", "1")
    change("dim_households", "financial_assets = financial_assets + 1", "2")
    population = sql.Identifier(schema, "low_income_population")
    dim = sql.Identifier(schema, "dim_households")
    conn.execute(
        sql.SQL(
            "delete from {p} p where p.as_of_date = {x} and not exists (select 1 from {d} d "
            "where d.as_of_date = {x} and d.household_id = p.household_id)"
        ).format(p=population, d=dim, x=sql.Literal(x))
    )
    conn.execute(
        sql.SQL(
            "update {p} p set financial_assets = d.financial_assets::numeric(20, 2) from {d} d "
            "where p.as_of_date = {x} and d.as_of_date = {x} and d.household_id = p.household_id"
        ).format(p=population, d=dim, x=sql.Literal(x))
    )
    change("low_income_population", "masked_name = masked_name || '*'", "1")
    change("monitoring_alerts", "delete", "0")
    change("monitoring_alerts", "rule_name = rule_name || '*'", "1")
    change(
        "monitoring_alerts",
        "evidence = jsonb_set(evidence, '{{financial_assets}}', "
        "to_jsonb((evidence ->> 'financial_assets')::numeric + 1))",
        "2",
        "jsonb_typeof(evidence -> 'financial_assets') = 'number'",
    )
    change("alert_cases", "delete", "0")
    change("alert_cases", "state = state || '*'", "1")


def _put_back(conn: psycopg.Connection, schema: str, x: date, partitions: dict) -> None:
    """X's snapshot from ``schema`` into the snapshot tables (a re-built X)."""
    for spec in specs.SPECS:
        if spec.is_raw:
            conn.execute(
                sql.SQL("create table {} partition of {} for values in ({})").format(
                    sql.SQL(partitions[spec.table]), ident(spec), sql.Literal(x)
                )
            )
        cols = sql.SQL(", ").join(sql.Identifier(n) for n, _ in spec.columns)
        conn.execute(
            sql.SQL("insert into {rel} ({c}) select {c} from {src} where {d} = {x}").format(
                rel=fold.snapshot_rel(spec),
                c=cols,
                src=sql.Identifier(schema, spec.table),
                d=sql.Identifier(spec.date_column),
                x=sql.Literal(x),
            )
        )


def _reset(conn: psycopg.Connection) -> None:
    """Empty the history (a fresh start for a fresh fold)."""
    for spec in specs.SPECS:
        for suffix in stored_tables(spec):
            conn.execute(sql.SQL("truncate {} restart identity").format(ident(spec, suffix)))
    conn.execute("truncate audit.history_days, audit.history_dropped_days")


def test_replace_day_equals_a_fresh_fold(copy: str) -> None:
    x = DAYS[1]
    with psycopg.connect(copy, autocommit=True) as conn:
        partitions = {s.table: fold.raw_partition(conn, s, x) for s in specs.RAW_SPECS}
        _save_snapshots(conn, "original")
        _save_snapshots(conn, "altered")
        _alter_day(conn, "altered", x)
    history.compact(copy, 1)
    with psycopg.connect(copy, autocommit=True) as conn:
        original_versions = _versions(conn)
        _put_back(conn, "altered", x, partitions)
    report = history.compact(copy, 1)
    assert {(r.table, r.path) for r in report.folded} == {
        (s.table, fold.SLOW_REPLACED) for s in specs.SPECS
    }
    with psycopg.connect(copy, autocommit=True) as conn:
        for spec in specs.SPECS:
            for d in DAYS:
                schema = "altered" if d == x else "original"
                assert _differences(conn, spec, schema, d)[:2] == (0, 0), f"{spec.table} {d}"
        replaced = _versions(conn)
        assert replaced != original_versions
        # a fresh fold of the altered days: the same version set
        _reset(conn)
        for d in DAYS[:-1]:
            if d != x:
                _put_back(
                    conn,
                    "original",
                    d,
                    {s.table: f"raw.he_{s.table}_{d:%Y%m%d}" for s in specs.RAW_SPECS},
                )
        _put_back(conn, "altered", x, partitions)
    assert {r.path for r in history.compact(copy, 1).folded} == {fold.FAST}
    with psycopg.connect(copy, autocommit=True) as conn:
        fresh = _versions(conn)
        assert fresh == replaced
        # re-folding the original day 2 gives back the original version set
        _put_back(conn, "original", x, partitions)
    report = history.compact(copy, 1)
    assert {r.path for r in report.folded} == {fold.SLOW_REPLACED}
    with psycopg.connect(copy, autocommit=True) as conn:
        assert _versions(conn) == original_versions
        # a byte-identical re-run: nothing rewritten
        _put_back(conn, "original", x, partitions)
    report = history.compact(copy, 1)
    assert {r.path for r in report.folded} == {fold.SLOW_EQUAL}
    with psycopg.connect(copy, autocommit=True) as conn:
        assert _versions(conn) == original_versions


def test_verification_failure_keeps_the_snapshot(copy: str) -> None:
    history.compact(copy, 3)  # day 1 folded
    spec = specs.BY_NAME["bank_balances"]
    x = DAYS[1]
    with psycopg.connect(copy, autocommit=True) as conn:
        # a corrupt history: one account's open version twice (the fold keeps
        # identical open versions, so day 2's point in time has one row too many)
        conn.execute(
            "insert into raw.bank_balances__hist select * from raw.bank_balances__hist "
            "where valid_to is null and key_id = (select min(key_id) from raw.bank_balances__hist)"
        )
        before = _versions_counts(conn)
        calendar = _folded(copy)
    with pytest.raises(history.HistoryVerificationError, match="bank_balances"):
        history.compact(copy, 2)
    with psycopg.connect(copy, autocommit=True) as conn:
        assert fold.raw_partition(conn, spec, x) is not None
        assert fold.snapshot_digest(conn, spec, x).rows > 0
        assert _versions_counts(conn)["bank_balances__hist"] == before["bank_balances__hist"]
        assert _versions_counts(conn)["bank_balances__histv"] == before["bank_balances__histv"]
    after = _folded(copy)
    # the tables folded before bank_balances on day 2 stay folded; bank_balances not
    assert ("bank_balances", x) not in after and calendar <= after


def test_a_first_fold_is_a_bulk_load_and_refuses_a_repeated_key(
    copy: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A history's first fold (fold._first_fold) numbers its keys 1..n in the snapshot's
    order, builds its indexes again as sql/history.sql defines them (the open versions'
    with fillfactor 70) and moves the identity past them; a key repeated in the
    snapshot rolls the fold back with a message that names no key."""
    spec = specs.BY_NAME["bank_balances"]
    with psycopg.connect(copy, autocommit=True) as conn:
        indexes = _index_definitions(conn, spec)
        account = conn.execute(
            "select account_no from raw.bank_balances where extract_date = %s limit 1",
            (DAYS[0],),
        ).fetchone()
        assert account
        conn.execute(
            "insert into raw.bank_balances select * from raw.bank_balances "
            "where extract_date = %s and account_no = %s",
            (DAYS[1], account[0]),
        )
    with caplog.at_level(logging.INFO, logger="safetynet.history"):
        history.compact(copy, 3)  # day 1: every history's first fold
    bulk = {r.getMessage() for r in caplog.records if "first fold, a bulk load" in r.getMessage()}
    assert len(bulk) == len(specs.SPECS), bulk
    with psycopg.connect(copy, autocommit=True) as conn:
        keys = conn.execute(
            "select count(*), min(key_id), max(key_id) from raw.bank_balances__keys"
        ).fetchone()
        assert keys and keys[1:] == (1, keys[0])
        assert _index_definitions(conn, spec) == indexes
        assert any("fillfactor='70'" in d for d in indexes), indexes
        conn.execute(  # the identity goes on after the numbered keys
            "insert into raw.bank_balances__keys (bank_code, account_no) values ('t', 't')"
        )
        new = conn.execute("select max(key_id) from raw.bank_balances__keys").fetchone()
        assert new == (keys[0] + 1,)
    with psycopg.connect(copy, autocommit=True) as conn:  # bank's history empty again
        for table in ("__hist", "__histv", "__keys"):
            conn.execute(f"truncate raw.bank_balances{table} restart identity")
        conn.execute("delete from audit.history_days where table_name = 'bank_balances'")
    with pytest.raises(history.HistoryVerificationError, match="repeated key") as refused:
        history.compact(copy, 2)  # day 2 with the repeated account: a first fold again
    assert account[0] not in str(refused.value)
    with psycopg.connect(copy, autocommit=True) as conn:
        assert fold.raw_partition(conn, spec, DAYS[1]) is not None
        assert _index_definitions(conn, spec) == indexes


def test_a_first_fold_beside_a_reader_takes_the_usual_path(
    copy: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A reader holding a history table (an analyst's query) keeps the truncate out
    (lock_timeout): that table's first fold takes the usual path, with the same result."""
    with psycopg.connect(copy) as reader:
        reader.execute("select count(*) from raw.bank_balances__keys")  # holds its lock
        with caplog.at_level(logging.INFO, logger="safetynet.history"):
            report = history.compact(copy, 3)
    messages = [r.getMessage() for r in caplog.records]
    assert any("without truncate: a table is busy" in m for m in messages), messages
    assert not any("bank_balances" in m and "bulk load" in m for m in messages)
    assert ("bank_balances", DAYS[0]) in {(r.table, r.date) for r in report.folded}
    with psycopg.connect(copy, autocommit=True) as conn:
        keys = conn.execute(
            "select count(*), min(key_id), max(key_id) from raw.bank_balances__keys"
        ).fetchone()
        assert keys and keys[0] > 0 and keys[1:] == (1, keys[0])


def _index_definitions(conn: psycopg.Connection, spec: specs.Spec) -> list[str]:
    tables = [f"raw.{spec.table}{s}" for s in ("__keys", *part_names(spec))]
    rows = conn.execute(
        "select pg_get_indexdef(indexrelid) from pg_index where indrelid = any(%s::regclass[])"
        " order by 1",
        (tables,),
    ).fetchall()
    return [r[0] for r in rows]


def test_a_public_view_that_loses_rows_keeps_the_date_in_the_window(
    copy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In ``full`` verification mode X leaves the window only when its public view gives
    the snapshot's rows from the history (fold._check_public_view, the check the dbt
    test history_view_counts made every day before): a view that loses X's rows rolls
    the deletion back."""
    monkeypatch.setenv(fold.VERIFY_ENV, fold.FULL)
    x = DAYS[0]
    with psycopg.connect(copy, autocommit=True) as conn:
        alerts = conn.execute(
            "select count(*) from marts.monitoring_alerts__recent where alert_date = %s", (x,)
        ).fetchone()
        assert alerts and alerts[0] > 0
        definition = conn.execute(
            "select pg_get_viewdef('marts.monitoring_alerts'::regclass)"
        ).fetchone()
        assert definition
        body = definition[0].rstrip().rstrip(";")
        conn.execute(
            f"create or replace view marts.monitoring_alerts as select v.* from ({body}) as v "
            f"where v.alert_date <> date '{x}'"
        )
    with pytest.raises(history.HistoryVerificationError, match="monitoring_alerts"):
        history.compact(copy, 3)  # would fold day 1
    with psycopg.connect(copy, autocommit=True) as conn:
        for table, column in (
            ("monitoring_alerts", "alert_date"),
            ("dim_households", "as_of_date"),
        ):
            row = conn.execute(
                sql.SQL("select count(*) from {} where {} = %s").format(
                    sql.Identifier("marts", f"{table}__recent"), sql.Identifier(column)
                ),
                (x,),
            ).fetchone()
            assert row and row[0] > 0, table  # X's window rows are all still there


def _versions_counts(conn: psycopg.Connection) -> dict[str, int]:
    counts = {}
    for spec in specs.SPECS:
        for suffix in part_names(spec):
            row = conn.execute(
                sql.SQL("select count(*) from {}").format(_all_versions(spec, suffix))
            ).fetchone()
            counts[spec.table + suffix] = row[0] if row else -1
    return counts


def _attributes(conn: psycopg.Connection, relation: str) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in conn.execute(
            """select attname, format_type(atttypid, atttypmod) from pg_attribute
               where attrelid = %s::regclass and attnum > 0 and not attisdropped
               order by attnum""",
            (relation,),
        ).fetchall()
    ]


def test_history_tables_match_the_snapshot_tables(copy: str) -> None:
    """A new column of a mart (or raw table) fails here until the spec has it."""
    with psycopg.connect(copy) as conn:
        for spec in specs.SPECS:
            snapshot = f"{spec.schema}.{spec.snapshot_table}"
            assert _attributes(conn, snapshot) == list(spec.columns), snapshot
            if not spec.is_raw:
                view = f"{spec.schema}.{spec.table}__history"
                assert _attributes(conn, view) == list(spec.columns), view
            keys = _attributes(conn, f"{spec.schema}.{spec.table}__keys")
            assert keys == [("key_id", "integer")] + [(k, spec.column_type(k)) for k in spec.key]
            for suffix in part_names(spec):
                table = f"{spec.schema}.{spec.table}{suffix}"
                expected = [("key_id", "integer")]
                expected += [(c.name, c.type) for c in part_columns(spec, suffix)]
                expected += [("valid_from", "date"), ("valid_to", "date"), ("row_hash", "bigint")]
                assert _attributes(conn, table) == expected, table
            if spec.volatile:
                volatile = [(c.name, c.type) for c in spec.volatile]
                packed = [("valid_to", "date"), ("key_id", "integer[]"), ("valid_from", "date[]")]
                packed += [(name, f"{type_}[]") for name, type_ in volatile]
                table = f"{spec.schema}.{spec.table}{PACKED}"
                assert _attributes(conn, table) == packed, table
                every = [
                    ("key_id", "integer"),
                    *volatile,
                    ("valid_from", "date"),
                    ("valid_to", "date"),
                ]
                view = f"{spec.schema}.{spec.table}{ALL_VERSIONS}"
                assert _attributes(conn, view) == every, view
            # every snapshot column is kept: the key, stored, or rebuilt
            stored = {c.name for c in spec.stable + spec.volatile}
            for name, _ in spec.columns:
                assert (
                    name in spec.key
                    or name in stored
                    or name in spec.derived
                    or name == spec.date_column
                    or (spec.is_raw and name in {"batch_id", "line_no"})
                ), f"{snapshot}.{name} is not kept"


def test_grants(copy: str) -> None:
    with psycopg.connect(copy) as conn:
        for role in ("safetynet_analyst", "safetynet_auditor"):
            for spec in specs.SPECS:
                for suffix in stored_relations(spec) + ([] if spec.is_raw else ["__history"]):
                    row = conn.execute(
                        "select has_table_privilege(%s, %s, 'select')",
                        (role, f"{spec.schema}.{spec.table}{suffix}"),
                    ).fetchone()
                    assert row == (not spec.is_raw,), (role, spec.table, suffix)
                if spec.volatile:  # the point-in-time reader of the volatile part
                    row = conn.execute(
                        "select has_function_privilege(%s, %s, 'execute')",
                        (role, f"{spec.schema}.{spec.table}{VALID_AT}(date)"),
                    ).fetchone()
                    assert row == (not spec.is_raw,), (role, spec.table, VALID_AT)
        row = conn.execute(
            "select has_table_privilege('safetynet_auditor', 'audit.history_days', 'select')"
        ).fetchone()
        assert row == (True,)


@pytest.mark.parametrize("gone", [DAYS[1], DAYS[2]], ids=["middle", "latest"])
def test_discarded_day_leaves_the_versions_of_a_fold_without_it(copy: str, gone: date) -> None:
    """discard_day of a folded date takes its calendar rows of the marts away: the
    next compaction leaves the versions a fold that never saw that date makes."""
    with psycopg.connect(copy, autocommit=True) as conn:
        _save_snapshots(conn, "original")
    history.compact(copy, 1)
    marts = [s.table for s in specs.MART_SPECS]
    with psycopg.connect(copy, autocommit=True) as conn:
        conn.execute(
            "delete from audit.history_days where table_name = any(%s) and extract_date = %s",
            (marts, gone),
        )
        assert conn.execute("select count(*) from audit.history_dropped_days").fetchone() == (
            len(marts),
        )
    assert history.compact(copy, 1).folded == []
    with psycopg.connect(copy, autocommit=True) as conn:
        assert conn.execute("select count(*) from audit.history_dropped_days").fetchone() == (0,)
        for spec in specs.MART_SPECS:
            for d in DAYS:
                if d != gone:
                    assert _differences(conn, spec, "original", d)[:2] == (0, 0), (spec.table, d)
            empty = fold.point_in_time_digest(conn, spec, gone)
            assert empty.rows == 0, spec.table
        normalised = {k: v for k, v in _versions(conn).items() if k.split("__")[0] in marts}
        # a fresh fold of the marts' other days
        _reset(conn)
        for d in DAYS[:-1]:
            if d != gone:
                names = {s.table: f"raw.he_{s.table}_{d:%Y%m%d}" for s in specs.RAW_SPECS}
                _put_back(conn, "original", d, names)
    history.compact(copy, 1)
    with psycopg.connect(copy, autocommit=True) as conn:
        fresh = {k: v for k, v in _versions(conn).items() if k.split("__")[0] in marts}
    assert fresh == normalised


def test_compaction_stopped_half_way_is_finished_next_time(
    copy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """between() fails after the first fold of day 1 (the lease is lost): the fold
    done stands, day 1's marts stay whole, the next compaction finishes exactly. One fold
    at a time, so that the stop falls after one table (with two, the fold running
    beside it also ends)."""
    monkeypatch.setenv(history.compaction.WORKERS_ENV, "1")
    with psycopg.connect(copy, autocommit=True) as conn:
        _save_snapshots(conn, "original")

    def between() -> None:
        raise RuntimeError("lease lost")

    report = history.compact(copy, 1, between=between)
    assert report.stopped == "RuntimeError: lease lost"
    [first] = report.folded
    with psycopg.connect(copy, autocommit=True) as conn:
        for spec in specs.MART_SPECS:
            assert fold.snapshot_digest(conn, spec, DAYS[0]).rows > 0, spec.table
    report = history.compact(copy, 1)
    assert report.stopped is None
    assert (first.table, DAYS[0], fold.SLOW_EQUAL) in {
        (r.table, r.date, r.path) for r in report.folded
    }
    with psycopg.connect(copy, autocommit=True) as conn:
        for spec in specs.SPECS:
            for d in DAYS:
                assert _differences(conn, spec, "original", d)[:2] == (0, 0), (spec.table, d)
            for d in DAYS[:-1]:
                assert spec.is_raw or fold.snapshot_digest(conn, spec, d).rows == 0
