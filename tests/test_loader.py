"""Ingestion against a real PostgreSQL: the contract's samples and damaged deliveries.

Every test checks the outcome (loaded / rejected with reason / blocked with a
named check) and that nothing was lost: loaded + rejected = rows in the file.
"""

from __future__ import annotations

import csv
import shutil
from datetime import date
from decimal import Decimal

import pytest
from conftest import SAMPLES, Stack

from safetynet.config import SOURCES
from safetynet.ingest import loader
from safetynet.ingest.manifest import DeliveryError

pytestmark = pytest.mark.integration

D1 = date(2026, 10, 1)
SAMPLE_ROWS = {
    "households.csv": 80,
    "persons.csv": 240,
    "enrollments.csv": 45,
    "medical_claims.csv": 7,
    "deaths.csv": 0,
    "properties.csv": 83,
    "balances_20261001.txt": 332,
    "dispositions.csv": 0,  # casework: a day without decisions sends the header alone
}


@pytest.fixture
def sample_stack(stack: Stack) -> Stack:
    shutil.copytree(SAMPLES / "landing", stack.landing, dirs_exist_ok=True)
    return stack


def load_day(stack: Stack, day: date = D1) -> dict[str, loader.FileResult]:
    results = {}
    for source in SOURCES:
        for result in loader.load_source(stack.url, stack.landing, source, day, stack.key):
            results[result.file_name] = result
    return results


def test_samples_load_with_zero_rejects_and_exact_counts(sample_stack: Stack) -> None:
    results = load_day(sample_stack)
    assert {n: r.loaded for n, r in results.items()} == SAMPLE_ROWS
    assert all(r.rejected == 0 for r in results.values())
    rows = sample_stack.query("select count(*) from raw.civil_affairs_persons")
    assert rows == [(240,)]


def test_raw_rows_hold_their_date_batch_and_the_delivered_values(sample_stack: Stack) -> None:
    """The binary COPY stream: typed values equal the delivered text; the partition's
    defaults give every row its extract date and its file's batch."""
    results = load_day(sample_stack)
    bank = sample_stack.landing / "bank/2026-10-01/balances_20261001.txt"
    assert sample_stack.query(
        "select extract_date, batch_id, count(*) from raw.bank_balances group by 1, 2"
    ) == [(D1, results[bank.name].batch_id, 332)]
    delivered = {
        (f[0], f[1]): (int(f[4]), f[5])
        for f in (line.split("|") for line in bank.read_text().splitlines())
    }
    stored = sample_stack.query(
        "select bank_code, account_no, balance_fen, "
        "to_char(as_of_date, 'YYYYMMDD') from raw.bank_balances"
    )
    assert {(b, a): (fen, day) for b, a, fen, day in stored} == delivered
    claims = sample_stack.landing / "health/2026-10-01/medical_claims.csv"
    with open(claims, encoding="utf-8-sig", newline="") as handle:
        expected = {
            (r["claim_id"], int(r["version"])): (
                r["settlement_date"],
                Decimal(r["out_of_pocket"]),
                Decimal(r["total_cost"]) if r["total_cost"] else None,
            )
            for r in csv.DictReader(handle)
        }
    stored = sample_stack.query(
        "select claim_id, version, settlement_date::text, out_of_pocket, "
        "total_cost from raw.health_medical_claims"
    )
    assert {(c, v): rest for c, v, *rest in stored} == {k: list(v) for k, v in expected.items()}


def test_rare_gb18030_names_round_trip(sample_stack: Stack) -> None:
    load_day(sample_stack)
    source = (sample_stack.landing / "civil_affairs/2026-10-01/persons.csv").read_bytes()
    names = {line.split(",")[2] for line in source.decode("gb18030").splitlines()[1:]}
    loaded = {r[0] for r in sample_stack.query("select name from raw.civil_affairs_persons")}
    assert loaded == names
    assert any(ord(ch) > 0xFFFF or 0x3400 <= ord(ch) <= 0x4DBF for n in loaded for ch in n)


def test_reloading_a_date_gives_identical_raw_tables(sample_stack: Stack) -> None:
    columns = "household_id, id_number, person_key, name, gender, birth_date, relation, line_no"
    load_day(sample_stack)
    first = sample_stack.query(f"select {columns} from raw.civil_affairs_persons order by 1, 2")
    load_day(sample_stack)
    second = sample_stack.query(f"select {columns} from raw.civil_affairs_persons order by 1, 2")
    assert first == second and len(second) == 240
    batches = sample_stack.query(
        "select count(*) from audit.load_batches where status = 'loaded' and extract_date = %s",
        (D1,),
    )
    assert batches == [(16,)]  # two loads of 8 files, the second replaced the first


def test_missing_manifest_blocks_the_source(sample_stack: Stack) -> None:
    (sample_stack.landing / "bank/2026-10-01/_manifest.json").unlink()
    with pytest.raises(DeliveryError) as error:
        loader.load_source(sample_stack.url, sample_stack.landing, "bank", D1, "k")
    assert error.value.check == "manifest_missing"


def test_set_up_converts_the_hex_person_keys_of_an_older_warehouse(stack: Stack) -> None:
    """Before binary COPY, raw kept person_key as 64 hex digits (text), read by views."""
    from safetynet import warehouse

    warehouse.ensure_schema(stack.url)
    key = bytes(range(32))
    with warehouse.connect(stack.url) as conn:
        conn.execute(
            "alter table raw.bank_balances alter column person_key type text "
            "using encode(person_key, 'hex')"
        )
        conn.execute(
            "create table raw.bank_balances_20260101 partition of raw.bank_balances "
            "for values in ('2026-01-01')"
        )
        conn.execute(
            "insert into raw.bank_balances values ('2026-01-01', 1, 1, 'B01', 'A1', "
            "'110105198505051233', %s, 'D', 100, '2026-01-01')",
            (key.hex(),),
        )
        conn.execute("create schema if not exists staging")
        conn.execute("create view staging.old_balances as select person_key from raw.bank_balances")
        conn.execute("delete from audit.schema_version")  # an older set-up ran last
    warehouse.ensure_schema(stack.url)
    assert stack.query(
        "select format_type(atttypid, null) from pg_attribute where attrelid = "
        "'raw.bank_balances'::regclass and attname = 'person_key'"
    ) == [("bytea",)]
    assert stack.query("select person_key from raw.bank_balances") == [(key,)]
    assert stack.query("select to_regclass('staging.old_balances')::text") == [(None,)]


def test_a_quoted_line_break_in_an_address_is_one_row(sample_stack: Stack) -> None:
    """Contract section 2: `"` quoting, `rows` counts data rows. A quoted address that
    holds a line break is one row (the manifest's count, not the file's line ends);
    the records after it keep their physical line numbers."""
    import hashlib
    import json

    folder = sample_stack.landing / "civil_affairs/2026-10-01"
    path = folder / "households.csv"
    lines = path.read_bytes().decode("gb18030").split("\r\n")
    lines[1] = lines[1].replace("440113地址390号", '"440113地址\r\n390号, 东门"')
    path.write_bytes("\r\n".join(lines).encode("gb18030"))
    manifest = folder / "_manifest.json"
    document = json.loads(manifest.read_text(encoding="utf-8"))
    entry = next(f for f in document["files"] if f["name"] == "households.csv")
    entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()  # rows stay 80
    manifest.write_text(json.dumps(document), encoding="utf-8")

    results = load_day(sample_stack)
    assert (results["households.csv"].loaded, results["households.csv"].rejected) == (80, 0)
    rows = sample_stack.query(
        "select household_id, address, line_no from raw.civil_affairs_households "
        "where household_id in ('44011300000001', '13082700000001') order by line_no"
    )
    assert rows == [
        ("44011300000001", "440113地址\r\n390号, 东门", 2),
        ("13082700000001", "130827地址941号", 4),  # physical line 4: the break took one
    ]
