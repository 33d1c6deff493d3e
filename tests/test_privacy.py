"""The masking rule of contract v2 sections 3 and 6 (``safetynet.privacy``): ids and
names in rejected lines, check examples, error messages and notifications."""

from __future__ import annotations

import json

import pytest

from safetynet import privacy
from safetynet.ingest import manifest
from safetynet.ingest.sources import specs_for
from safetynet.publish.notify import failed_checks, failure_payload
from safetynet.quality.gate import CheckResult, QualityGateFailed

pytestmark = pytest.mark.unit

PERSONS = next(s for s in specs_for("civil_affairs") if s.table == "civil_affairs_persons")
HOUSEHOLDS = next(s for s in specs_for("civil_affairs") if s.table == "civil_affairs_households")
(BANK,) = specs_for("bank")
(CASEWORK,) = specs_for("casework")
ID = "440113196212299654"


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        (ID, "440113********9654"),
        ("44011319621229965X", "440113********965X"),
        ("440113621229965", "440113********9965"),  # legacy 15 digits
        (" 4401131962 ", "440113********1962"),  # 10 characters, trimmed
        ("440113196", "*"),  # shorter than 10
        ("", ""),
        (None, None),
        ("440113********9654", "440113********9654"),  # idempotent
    ],
)
def test_mask_id(value: str | None, masked: str | None) -> None:
    assert privacy.mask_id(value) == masked


def test_mask_name_and_free_text() -> None:
    assert privacy.mask_name("欧阳娜娜") == "欧***"
    assert privacy.mask_name("韩䶮") == "韩*"
    assert privacy.mask_name("") == "" and privacy.mask_name(None) is None
    note = f"户主{ID}已核实，旧证440113621229965，配偶44011319621229965x；电话13800138000"
    masked = privacy.mask_text(note)
    assert masked == (
        "户主440113********9654已核实，旧证440113********9965，"
        "配偶440113********965x；电话13800138000"
    )
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in ID)
    assert full_width not in (privacy.mask_text(f"证{full_width}号") or "")


def test_free_text_masks_runs_of_15_to_18_digits_only() -> None:
    """Contract section 6: 15 to 18 digits (last may be X); 14 or 19 are no id."""
    assert privacy.mask_text("a12345678901234b") == "a12345678901234b"  # 14
    assert privacy.mask_text("a1234567890123456789b") == "a1234567890123456789b"  # 19
    assert privacy.mask_text("卡6222021234567890123，") == "卡6222021234567890123，"
    assert privacy.mask_text("a123456789012345678Xb") == "a123456789012345678Xb"  # 19, X
    assert privacy.mask_text("a12345678901234567Xb") == "a123456********567Xb"  # 18, X
    assert privacy.mask_text("a123456789012345678b") == "a123456********5678b"  # 18
    assert privacy.mask_text("a123456789012345b") == "a123456********2345b"  # 15


def test_a_parsed_line_masks_by_column() -> None:
    line = f"44011300000001,{ID},欧阳娜娜,女,1962-12-29,户主,0"
    assert privacy.mask_line(PERSONS, line) == (
        "44011300000001,440113********9654,欧***,女,1962-12-29,户主,0"
    )
    address = f"44011300000001,440113,农村,住{ID}号,{ID},12.00,2025-02-22"
    masked = privacy.mask_line(HOUSEHOLDS, address) or ""
    assert ID not in masked and masked.count("440113********9654") == 2
    bank = f"BOC|3844********3041|{ID[:12]}|W|1549990|20261001"
    assert (
        privacy.mask_line(BANK, bank)
        == "BOC|3844********3041|440113********6212|W|1549990|20261001"
    )
    note = f'a1,CONFIRMED,2026-10-01,S01,"见{ID},\n""已核实"""'
    assert privacy.mask_line(CASEWORK, note) == (
        'a1,CONFIRMED,2026-10-01,S01,"见440113********9654,\n""已核实"""'
    )


def test_a_name_in_another_column_is_masked() -> None:
    swapped = f"44011300000001,{ID},女,欧阳娜娜,1962-12-29,户主,0"
    assert privacy.mask_line(PERSONS, swapped) == (
        "44011300000001,440113********9654,女,欧***,1962-12-29,户主,0"
    )


def test_a_line_that_does_not_parse_is_masked_conservatively() -> None:
    short = f"44011300000001,{ID},欧阳娜娜,女,1962-12-29,户主"  # 6 fields, not 7
    masked = privacy.mask_line(PERSONS, short) or ""
    assert ID not in masked and "欧阳娜娜" not in masked and "户主" in masked
    shifted = f"44011300000001,欧阳娜娜,{ID[:11]},女,1962-12-29,户主,0,extra"
    masked = privacy.mask_line(PERSONS, shifted) or ""
    assert "欧阳娜娜" not in masked and ID[:11] not in masked
    undecodable = f"44011300000001,{ID},欧\ufffd娜,女"
    assert ID not in (privacy.mask_line(PERSONS, undecodable) or "")
    broken = f'"{ID},open quote'
    assert ID not in (privacy.mask_line(BANK, broken) or "")


def test_check_examples_are_masked_by_column() -> None:
    result = {"partial_unexpected_list": [ID, "4401"], "unexpected_count": 2}
    assert privacy.mask_result(result, "id_number")["partial_unexpected_list"] == [
        "440113********9654",
        "*",
    ]
    assert privacy.mask_result(["欧阳娜娜"], "name") == ["欧***"]
    key_rows = [{"household_id": "H1", "id_number": ID[:-1] + "5", "copies": 2}]
    assert privacy.mask_result(key_rows) == [
        {"household_id": "H1", "id_number": "440113********9655", "copies": 2}
    ]


def test_header_drift_does_not_echo_a_data_row(tmp_path) -> None:
    (tmp_path / "persons.csv").write_bytes(
        f"44011300000001,{ID},欧阳娜娜,女,1962-12-29,户主,0\r\n".encode("gb18030")
    )
    with pytest.raises(manifest.DeliveryError) as error:
        manifest.check_header(tmp_path, PERSONS, "persons.csv")
    assert ID not in str(error.value) and "欧阳娜娜" not in str(error.value)
    assert "schema_drift" in str(error.value) and "missing" in str(error.value)


def test_notification_holds_check_names_and_counts_only() -> None:
    observed = json.dumps({"observed": 2, "examples": ["440113********9654", "欧***"]})
    failed = [
        CheckResult(
            "raw.civil_affairs_persons", "expect_x", "id_number", "critical", False, observed, ""
        ),
    ]
    error = QualityGateFailed(
        "data-quality gate failed for 2026-10-01: 1 critical check(s)\n"
        f"- raw.civil_affairs_persons: expect_x(id_number) observed {observed}",
        failed,
    )
    assert failed_checks(error) == ["raw.civil_affairs_persons: expect_x(id_number) observed 2"]
    plain = RuntimeError(str(error))  # as text only (wrapped by Airflow)
    assert failed_checks(plain) == ["raw.civil_affairs_persons: expect_x(id_number) observed 2"]
    payload = failure_payload({"ti": None, "ds": "2026-10-01", "exception": error})
    assert "examples" not in json.dumps(payload, ensure_ascii=False)
    assert "9654" not in json.dumps(payload, ensure_ascii=False)
    leaking = RuntimeError(f"[copy] persons.csv: bad value {ID} for 欧阳娜娜")
    text = json.dumps(failure_payload({"exception": leaking}), ensure_ascii=False)
    assert ID not in text
