"""Damaged deliveries at the load stage: each ends loaded, rejected with a reason,
or blocked with a named check, and nothing is lost (loaded + rejected = rows)."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import Stack

from safetynet.ingest import loader
from safetynet.ingest.manifest import DeliveryError
from safetynet_dev.synth import damage

pytestmark = pytest.mark.integration

DAY = date(2026, 10, 1)
PERSONS = "persons.csv"


def load(stack: Stack, source: str) -> list[loader.FileResult]:
    return loader.load_source(stack.url, stack.landing, source, DAY, stack.key)


def blocked_check(stack: Stack, source: str) -> DeliveryError:
    with pytest.raises(DeliveryError) as error:
        load(stack, source)
    return error.value


def rows_in(stack: Stack, source: str, name: str) -> int:
    path = damage.folder(stack.landing, source, DAY) / name
    return sum(1 for _ in open(path, "rb")) - (0 if source == "bank" else 1)


def test_truncated_file_blocks_with_row_count(landed: Stack) -> None:
    path = damage.folder(landed.landing, "health", DAY) / "medical_claims.csv"
    damage.truncate_file(path, 0.5)
    error = blocked_check(landed, "health")
    assert error.check == "row_count" and "medical_claims.csv" in error.message
    assert "manifest says" in error.message
    assert landed.query("select count(*) from raw.health_medical_claims") == [(0,)]


def test_flipped_byte_blocks_with_checksum(landed: Stack) -> None:
    damage.flip_byte(damage.folder(landed.landing, "bank", DAY) / "balances_20261001.txt")
    error = blocked_check(landed, "bank")
    assert error.check == "checksum" and "balances_20261001.txt" in error.message


def test_dropped_column_blocks_with_schema_drift(landed: Stack) -> None:
    damage.drop_column(landed.landing, "civil_affairs", DAY, PERSONS, "gender")
    error = blocked_check(landed, "civil_affairs")
    assert error.check == "schema_drift" and "gender" in error.message
    status = landed.query("select status, message from audit.load_batches")
    assert status[-1][0] == "failed" and "gender" in status[-1][1]


def test_missing_source_folder_blocks(landed: Stack) -> None:
    damage.remove_source(landed.landing, "housing", DAY)
    assert blocked_check(landed, "housing").check == "manifest_missing"


@pytest.mark.parametrize("ratio", [0.005, 0.03])
def test_invalid_ids_are_rejected_or_block_over_one_percent(landed: Stack, ratio: float) -> None:
    bad = damage.invalidate_ids(landed.landing, "civil_affairs", DAY, PERSONS, ratio, seed=3)
    total = rows_in(landed, "civil_affairs", PERSONS)
    if bad / total <= 0.01:
        results = {r.file_name: r for r in load(landed, "civil_affairs")}
        assert results[PERSONS].rejected == bad
        assert results[PERSONS].loaded + results[PERSONS].rejected == total
        loaded = landed.query("select count(*) from raw.civil_affairs_persons")[0][0]
        assert loaded == total - bad
    else:
        error = blocked_check(landed, "civil_affairs")
        assert error.check == "reject_ratio" and PERSONS in error.message
        assert landed.query("select count(*) from raw.civil_affairs_persons") == [(0,)]
    reasons = landed.query(
        "select reason, raw_line, line_no from audit.rejected_rows "
        "join raw.rejected_lines using (reject_id)"
    )
    assert len(reasons) == bad
    assert all(r[0] == "invalid id_number" and r[1] and r[2] >= 2 for r in reasons)


def _append_person(stack: Stack, spelled_id: str, name: str = "吉𠮷") -> str:
    header, records = damage.read_records(
        damage.folder(stack.landing, "civil_affairs", DAY) / PERSONS
    )
    household = records[0][0]
    records.append([household, spelled_id, name, "男", "1985-05-05", "其他", "0"])
    damage.write_records(
        damage.folder(stack.landing, "civil_affairs", DAY) / PERSONS, header, records
    )
    damage.rewrite_manifest(damage.folder(stack.landing, "civil_affairs", DAY))
    return household


@pytest.mark.parametrize(
    ("spelled", "normalised"),
    [
        ("110105850505123", "110105198505051233"),  # legacy 15-digit, upgraded
        ("１１０１０５１９８５０５０５１２３３", "110105198505051233"),  # full-width digits
        ("11010519850505002x", "11010519850505002X"),  # lower-case x
        ("\u3000110105198505051233 ", "110105198505051233"),  # ideographic space
    ],
)
def test_accepted_id_spellings_are_normalised(landed: Stack, spelled: str, normalised: str) -> None:
    from safetynet.identity import is_valid_id, person_key

    assert is_valid_id(normalised)
    _append_person(landed, spelled)
    results = {r.file_name: r for r in load(landed, "civil_affairs")}
    assert results[PERSONS].rejected == 0
    row = landed.query(
        "select id_number, encode(person_key, 'hex'), name "
        "from raw.civil_affairs_persons where id_number = %s",
        (normalised,),
    )
    assert row == [(normalised, person_key(normalised, landed.key), "吉𠮷")]
