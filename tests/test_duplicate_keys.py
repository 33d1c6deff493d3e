"""Repeated keys inside one file, loaded for real (contract v2 section 2).

Rows identical in every field count once (first kept, the repeats rejected as
exact duplicates); rows sharing a key but differing anywhere else are all
rejected, the first one too, although the streaming load had already sent it:
the loader deletes it inside the load transaction and audits it like any reject.
Keys are compared after id normalisation, and these rejects count toward the 1%.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from conftest import Stack

from safetynet.ingest import loader
from safetynet.ingest.manifest import DeliveryError
from safetynet_dev.synth import damage

pytestmark = pytest.mark.integration

DAY = date(2026, 10, 1)
PERSONS = "persons.csv"


def persons_file(stack: Stack) -> Path:
    return damage.folder(stack.landing, "civil_affairs", DAY) / PERSONS


def append(stack: Stack, rows: list[list[str]]) -> int:
    """Append rows to persons.csv (manifest rewritten); the line of the first one."""
    header, records = damage.read_records(persons_file(stack))
    first_line = len(records) + 2
    damage.write_records(persons_file(stack), header, records + rows)
    damage.rewrite_manifest(persons_file(stack).parent)
    return first_line


def audit(stack: Stack, first_line: int) -> dict[int, str]:
    return dict(
        stack.query(
            "select line_no, reason from audit.rejected_rows "
            "where file_name = %s and line_no >= %s order by line_no",
            (PERSONS, first_line),
        )
    )


def test_conflicting_rows_are_all_rejected_and_exact_repeats_count_once(landed: Stack) -> None:
    _, records = damage.read_records(persons_file(landed))
    household, id_number = records[0][0], records[0][1]
    person = [household, "110105198505051233", "吉𠮷", "男", "1985-05-05", "其他", "0"]
    legacy = [household, "110105850505123", "吉𠮷", "男", "1985-05-05", "其他", "0"]
    conflicting = [household, id_number, "张三", "女", "1990-01-01", "子女", "0"]
    first = append(landed, [person, legacy, conflicting])

    results = {
        r.file_name: r
        for r in loader.load_source(landed.url, landed.landing, "civil_affairs", DAY, landed.key)
    }
    persons = results[PERSONS]
    assert persons.loaded + persons.rejected == persons.rows

    # The legacy spelling is the same person: an exact repeat, counted once.
    kept = landed.query(
        "select line_no from raw.civil_affairs_persons where id_number = %s",
        ("110105198505051233",),
    )
    assert kept == [(first,)]
    # records[0] (line 2) and its conflicting twin: both gone from raw, both audited.
    assert landed.query(
        "select count(*) from raw.civil_affairs_persons where household_id = %s and id_number = %s",
        (household, id_number),
    ) == [(0,)]
    reasons = audit(landed, 2)
    assert reasons[first + 1] == f"exact duplicate of line {first}"
    assert reasons[2].startswith("duplicate key (household_id, id_number) repeated with")
    assert reasons[first + 2] == (
        "duplicate key (household_id, id_number) of line 2 with different values"
    )
    assert persons.rejected == 3
    assert landed.query(
        "select rejected_rows, loaded_rows from audit.load_batches "
        "where file_name = %s and status = 'loaded'",
        (PERSONS,),
    ) == [(3, persons.rows - 3)]


def test_conflicting_keys_count_toward_the_one_percent(landed: Stack) -> None:
    _, records = damage.read_records(persons_file(landed))
    count = int(len(records) * 0.008)  # 0.8% of rows: under 1% if only twins went
    twins = [[*r[:2], "改" + r[2], *r[3:]] for r in records[:count]]
    append(landed, twins)  # each twin rejects itself and its first row: 1.6%
    with pytest.raises(DeliveryError) as error:
        loader.load_source(landed.url, landed.landing, "civil_affairs", DAY, landed.key)
    assert error.value.check == "reject_ratio"
    assert landed.query("select count(*) from raw.civil_affairs_persons") == [(0,)]
