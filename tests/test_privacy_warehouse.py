"""Personal data in the warehouse (contract v2 section 6), real PostgreSQL and GX.

A damaged delivery with bad ids and full names is loaded; then, connected as a
login in ``safetynet_auditor`` and one in ``safetynet_analyst``, every table and view
the login can select is read whole: no id number of the landing (normalised or as
delivered) and no full name appears. Engineers keep the raw line
(``raw.rejected_lines``) until the retention removes it; failed GX checks store,
raise and render masked examples only; a new audit table is not readable by
auditors until granted.
"""

from __future__ import annotations

import contextlib
import html
import json
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from casework_landing import write_casework
from conftest import SAMPLES, Stack

from safetynet import warehouse
from safetynet.identity import normalise_id
from safetynet.ingest import loader
from safetynet.ingest.manifest import DeliveryError
from safetynet_dev.synth import damage

pytestmark = pytest.mark.integration

DAY = date(2026, 10, 1)
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
# Rows added to the sample persons.csv: invalid ids in several spellings, full names.
BAD_PERSONS = [
    ["44011300000001", "440113196212299655", "欧阳娜娜", "女", "1962-12-29", "户主", "0"],
    [
        "44011300000002",
        "440113195104304555".translate(FULL_WIDTH),
        "司马光明",
        "男",
        "",
        "子女",
        "0",
    ],
    ["44011300000003", "4401136212299", "诸葛亮亮", "男", "", "配偶", "0"],
    ["44011300000004", " 44011319800101123x ", "上官婉儿", "女", "1980-01-01", "户主", "9"],
    ["44011300000005", "440113198001011239", "慕容复兴", "男", "1980-01-01", "户主"],  # 6 fields
]
# A casework row the loader rejects (status), its note holding a landing id number.
CASE_NOTE = "户主440113196212299654已搬离，配偶４４０１１３２００５０８０３２２１０"
BAD_CASE = ("b2bdc627ab8e11a3bff1ed6fa35c61ec", "REOPENED", "2026-10-01", "S4534", CASE_NOTE)


def landing_secrets(landing: Path) -> tuple[set[str], set[str]]:
    """Every id number of the landing (as delivered and normalised) and every full
    name, read from the delivered files."""
    ids: set[str] = set()
    names: set[str] = set()
    for path in sorted(landing.glob("*/*/*")):
        if path.name.startswith("_") or path.parent.parent.name == "casework":
            continue  # casework has no id or name column (its note: CASE_NOTE)
        spec = damage._spec_of(path)
        _, records = damage.read_records(path)
        for record in records:
            for column, value in zip(spec.columns, record, strict=False):
                if column.check == "id" and len(value.strip(" \u3000")) >= 10:
                    ids.add(value.strip(" \u3000"))
                    ids.add(normalise_id(value))
                elif column.name == "name" and len(value) > 1:
                    names.add(value)
    ids |= {"440113196212299654", "４４０１１３２００５０８０３２２１０", "440113200508032210"}
    return ids, names


def leaks(text: str, ids: set[str], names: set[str]) -> list[str]:
    return sorted(s for s in ids | names if s in text)


def damaged_landing(landing: Path) -> None:
    """The sample day 1 with BAD_PERSONS appended to persons.csv and BAD_CASE."""
    shutil.copytree(SAMPLES / "landing", landing, dirs_exist_ok=True)
    persons = damage.folder(landing, "civil_affairs", DAY) / "persons.csv"
    header, records = damage.read_records(persons)
    damage.write_records(persons, header, records + BAD_PERSONS)
    damage.rewrite_manifest(persons.parent)
    write_casework(landing, DAY, [BAD_CASE])


@contextmanager
def login(url: str, group: str) -> Iterator[str]:
    """A login role in ``group`` (a person's account); yields its URL."""
    name = f"privacy_{group.removeprefix('safetynet_')}_{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    with warehouse.connect(url, autocommit=True) as conn:
        conn.execute(f"create role {name} login password '{password}' in role {group}")
    parts = urlsplit(url)
    netloc = f"{name}:{password}@{parts.hostname}:{parts.port}"
    try:
        yield urlunsplit(parts._replace(netloc=netloc))
    finally:
        with warehouse.connect(url, autocommit=True) as conn:
            conn.execute(f"drop role if exists {name}")


def readable_text(url: str) -> tuple[list[str], str]:
    """(the relations the login can select, all their rows as text)."""
    with psycopg.connect(url) as conn:
        relations = conn.execute(
            """select format('%I.%I', n.nspname, c.relname) from pg_class c
               join pg_namespace n on n.oid = c.relnamespace
               where c.relkind in ('r', 'v', 'm', 'p', 'f')
                 and n.nspname not in ('pg_catalog', 'information_schema')
                 and n.nspname not like 'pg_toast%%'
                 and (has_table_privilege(c.oid, 'select')
                      or has_any_column_privilege(c.oid, 'select'))
               order by 1"""
        ).fetchall()
        chunks = []
        for (relation,) in relations:
            rows = conn.execute(f"select to_jsonb(t)::text from {relation} t").fetchall()
            chunks.extend(row[0] for row in rows)
    return [r[0] for r in relations], "\n".join(chunks)


def files_text(folder: Path) -> str:
    """Every file under ``folder``, HTML-unescaped, JSON with its escapes decoded."""
    texts = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".json":
            with contextlib.suppress(ValueError):
                text = json.dumps(json.loads(text), ensure_ascii=False)
        texts.append(html.unescape(text))
    return "\n".join(texts)


def load_damaged(stack: Stack) -> str:
    """Load the damaged day's civil affairs (blocked: >1% rejected) and casework."""
    with pytest.raises(DeliveryError) as blocked:
        loader.load_source(stack.url, stack.landing, "civil_affairs", DAY, stack.key, "r1")
    loader.load_source(stack.url, stack.landing, "casework", DAY, stack.key, "r1")
    return str(blocked.value)


def test_auditors_and_analysts_see_no_raw_id_or_name(stack: Stack) -> None:
    damaged_landing(stack.landing)
    ids, names = landing_secrets(stack.landing)
    message = load_damaged(stack)
    assert not leaks(message, ids, names)

    for group in ("safetynet_auditor", "safetynet_analyst"):
        with login(stack.url, group) as url:
            relations, text = readable_text(url)
            assert not leaks(text, ids, names), (group, leaks(text, ids, names))
            with psycopg.connect(url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("select raw_line from raw.rejected_lines")
        if group == "safetynet_auditor":
            assert "audit.rejected_rows" in relations and "audit.dq_results" in relations
            assert "masked_line" in text and "欧***" in text
        else:
            assert not any(r.startswith("audit.") for r in relations)

    # engineers: the raw lines, as delivered
    raw_lines = [r[0] for r in stack.query("select raw_line from raw.rejected_lines")]
    assert any("欧阳娜娜" in line and "440113196212299655" in line for line in raw_lines)
    assert any(CASE_NOTE.split("，")[0] in line for line in raw_lines)
    # auditors: file, line, reason and the masked line
    masked = dict(
        stack.query(
            "select line_no, masked_line from audit.rejected_rows where source = 'civil_affairs'"
        )
    )
    assert masked[242] == "44011300000001,440113********9655,欧***,女,1962-12-29,户主,0"
    assert len(masked) == len(BAD_PERSONS)
    # 6 fields, not 7: which is the name cannot be told; masked conservatively
    assert masked[246] == "440113********0005,440113********1239,慕***,男,1980-01-01,户主"


def test_failed_checks_hold_masked_examples_only(stack: Stack) -> None:
    """Rows that passed no loader (written into raw by hand) fail the raw checks:
    audit.dq_results, the gate's error, the validation files and the Data Docs show
    masked examples only."""
    from safetynet.quality import gate

    warehouse.ensure_schema(stack.url)
    bad = ["440113196212299655", "44011319621229965", "４４０１１３１９５１０４３０４５５Ｘ"]
    with warehouse.connect(stack.url) as conn:
        conn.execute(
            "create table raw.civil_affairs_persons_20261001 partition of "
            "raw.civil_affairs_persons for values in ('2026-10-01')"
        )
        for line, id_number in enumerate([*bad, bad[0]], start=2):
            conn.execute(
                """insert into raw.civil_affairs_persons values ('2026-10-01', 1, %s,
                   'H1', %s, '\\x00', '欧阳娜娜', '女', null, '户主', 0)""",
                (line, id_number),
            )
    params = {
        "per_suite": {"raw.civil_affairs_persons": {"expected_rows": 4}},
        "expected_rows": -1,
        "run_id": "r1",
    }
    checks = gate.run_checks(stack.url, stack.reports, "raw", DAY, "r1", params)
    failed = [c for c in checks if not c.success and c.suite == "raw.civil_affairs_persons"]
    assert {c.expectation for c in failed} >= {
        "expect_column_values_to_match_regex",
        "expect_compound_columns_to_be_unique",
    }
    secrets = {*bad, "欧阳娜娜"}
    with pytest.raises(gate.QualityGateFailed) as error:
        gate.enforce(checks, DAY)
    assert not leaks(str(error.value), secrets, set())
    assert "440113********9655" in str(error.value)  # masked examples are kept
    stored = " ".join(r[0] for r in stack.query("select to_jsonb(d)::text from audit.dq_results d"))
    assert "440113********9655" in stored and not leaks(stored, secrets, set())
    docs = files_text(stack.reports)
    assert "440113********9965" in docs, "the Data Docs show the masked example"
    assert not leaks(docs, secrets, set())


def test_raw_lines_expire_rows_stay(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    from safetynet.ingest import rejects

    damaged_landing(stack.landing)
    load_damaged(stack)
    total = stack.query("select count(*) from raw.rejected_lines")[0][0]
    with warehouse.connect(stack.url) as conn:
        conn.execute(
            "update raw.rejected_lines set rejected_at = now() - interval '401 days' "
            "where reject_id in (select reject_id from audit.rejected_rows "
            "where source = 'civil_affairs')"
        )
    assert rejects.purge(stack.url) == len(BAD_PERSONS)  # default: 400 days
    assert stack.query("select count(*) from raw.rejected_lines")[0][0] == total - 5
    assert stack.query("select count(*) from audit.rejected_rows")[0][0] == total
    monkeypatch.setenv("SAFETYNET_REJECTED_LINE_RETENTION_DAYS", "0")
    assert rejects.purge(stack.url) == total - len(BAD_PERSONS)
    rows = stack.query("select line_no, masked_line, reason from audit.rejected_rows")
    assert len(rows) == total and all(masked and reason for _, masked, reason in rows)


def test_a_new_audit_table_is_not_readable_by_auditors(stack: Stack) -> None:
    warehouse.ensure_schema(stack.url)
    with warehouse.connect(stack.url) as conn:
        conn.execute("create table audit.privacy_probe (id_number text)")
        conn.execute("insert into audit.privacy_probe values ('440113196212299654')")
    with login(stack.url, "safetynet_auditor") as url:
        relations, text = readable_text(url)
        assert "audit.privacy_probe" not in relations and "440113196212299654" not in text
        assert {"audit.rejected_rows", "audit.load_batches", "audit.dq_results"} <= set(relations)


def test_a_warehouse_made_before_is_masked_on_set_up(stack: Stack) -> None:
    """An older warehouse kept the raw line in audit.rejected_rows: the set-up moves
    it to raw.rejected_lines and fills masked_line (privacy.mask_line)."""
    line = "44011300000001,440113196212299655,欧阳娜娜,女,1962-12-29,户主,0"
    with warehouse.connect(stack.url) as conn:
        conn.execute("create schema audit")
        conn.execute(
            """create table audit.rejected_rows (
                   batch_id bigint not null, source text not null, extract_date date not null,
                   file_name text not null, line_no integer not null, raw_line text,
                   reason text not null,
                   rejected_at timestamptz not null default clock_timestamp())"""
        )
        conn.execute(
            "insert into audit.rejected_rows values (1, 'civil_affairs', '2026-10-01', "
            "'persons.csv', 2, %s, 'invalid id_number')",
            (line,),
        )
    warehouse.ensure_schema(stack.url)
    assert stack.query("select line_no, masked_line, reason from audit.rejected_rows") == [
        (2, "44011300000001,440113********9655,欧***,女,1962-12-29,户主,0", "invalid id_number")
    ]
    assert stack.query("select raw_line from raw.rejected_lines") == [(line,)]


def test_casework_rejected_in_the_warehouse_is_masked(stack: Stack) -> None:
    """A casework row dbt rejects (int_casework__checked, made here by hand): its note's
    id numbers are masked for auditors, kept for engineers; a re-run replaces both."""
    from safetynet.ingest import casework

    note = "核对身份证 440113196212299654 与户籍信息一致，旧证440113621229965"
    write_casework(stack.landing, DAY, [("A03-6bd4b724", "CONFIRMED", "2026-10-01", "S2", note)])
    loader.load_source(stack.url, stack.landing, "casework", DAY, stack.key)
    with warehouse.connect(stack.url) as conn:
        conn.execute(
            """create schema if not exists intermediate;
               create table intermediate.int_casework__checked as
               select c.*, 'malformed alert_id' as rejection_reason
               from raw.casework_dispositions c"""
        )
    for _ in range(2):
        assert casework.record_warehouse_rejections(stack.url, DAY) == 1
        rows = stack.query(
            "select r.line_no, r.masked_line, r.reason, l.raw_line from audit.rejected_rows r "
            "join raw.rejected_lines l using (reject_id)"
        )
        assert rows == [
            (
                2,
                "A03-6bd4b724,CONFIRMED,2026-10-01,S2,"
                "核对身份证 440113********9654 与户籍信息一致，旧证440113********9965",
                "malformed alert_id",
                f"A03-6bd4b724,CONFIRMED,2026-10-01,S2,{note}",
            )
        ]
