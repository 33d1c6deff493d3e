"""The independent reference rules reproduce the contract's worked example."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

try:
    from tests.reference import rules
except ImportError:  # tests/ itself is on sys.path (pytest prepend mode)
    from reference import rules  # type: ignore[no-redef]

pytestmark = pytest.mark.unit

SAMPLES = rules.CONTRACT_DIR / "samples"
SAMPLE_DATES = [date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3)]
SAMPLE_KEY = "sample-key"

requires_samples = pytest.mark.skipif(
    not (SAMPLES / "landing").is_dir(),
    reason=f"contract samples not found under {SAMPLES} (set SAFETYNET_CONTRACT_DIR)",
)


def full_width(text: str) -> str:
    """ASCII -> full-width forms (U+FF01..U+FF5E)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _expected(name: str, columns: int | None = None) -> set[tuple[str, ...]]:
    """The expected rows, cut to their first ``columns`` columns (alerts.csv of v2 adds
    alert_id after the section 5 columns: section 9's reference checks it)."""
    with open(SAMPLES / "expected" / name, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return {tuple(row[:columns]) for row in rows[1:]}


@pytest.fixture(scope="module")
def sample_result() -> rules.Result:
    return rules.compute(SAMPLES / "landing", SAMPLE_DATES, SAMPLE_KEY)


# ---------------------------------------------------------------- worked example


@requires_samples
def test_sample_population_matches_expected(sample_result: rules.Result) -> None:
    expected = _expected("population.csv")
    assert sample_result.population - expected == set(), "unexpected population rows"
    assert expected - sample_result.population == set(), "missing population rows"


@requires_samples
def test_sample_alerts_match_expected(sample_result: rules.Result) -> None:
    expected = _expected("alerts.csv", columns=5)
    assert sample_result.alerts - expected == set(), "unexpected alerts"
    assert expected - sample_result.alerts == set(), "missing alerts"


@requires_samples
def test_sample_landing_has_no_rejected_rows(sample_result: rules.Result) -> None:
    assert sample_result.rejected == []


@requires_samples
def test_size_zero_household_keeps_a01_but_has_no_category(
    sample_result: rules.Result,
) -> None:
    figures = sample_result.households[(date(2026, 10, 2), "21021200000003")]
    assert figures["size"] == 0
    assert figures["category"] is None
    assert figures["deceased"] == ["210212194406304009"]


@requires_samples
def test_gap_in_processed_dates_makes_every_alert_new() -> None:
    result = rules.compute(SAMPLES / "landing", [date(2026, 10, 3), date(2026, 10, 1)], SAMPLE_KEY)
    assert {a[4] for a in result.alerts if a[0] == "2026-10-03"} == {"true"}


@requires_samples
def test_parameters_are_honoured() -> None:
    result = rules.compute(
        SAMPLES / "landing", SAMPLE_DATES, SAMPLE_KEY, k_shock=10**6, k_assets="0"
    )
    assert "A06" not in {a[1] for a in result.alerts}
    for alert_date, rule_code, household_id, _, _ in result.alerts:
        if rule_code in ("A03", "A04"):  # only households without any assets
            key = (date.fromisoformat(alert_date), household_id)
            assert result.households[key]["fa"] == 0
    assert any(a[1] == "A02" for a in result.alerts)


# ---------------------------------------------------------------- identity


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("130802197204159599", "130802197204159599"),
        ("130802720415959", "130802197204159599"),  # 15 -> 18
        (full_width("130802197204159599"), "130802197204159599"),
        ("44010319860312345x", "44010319860312345X"),  # lower-case x
        (full_width("44010319860312345x"), "44010319860312345X"),
        ("\u3000130802197204159599 \t", "130802197204159599"),  # U+3000 trim
        ("\u3000" + full_width("130802720415959") + "\u3000", "130802197204159599"),
    ],
)
def test_clean_id_normalises(raw: str, expected: str) -> None:
    assert rules.clean_id(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "130802197204159598",  # bad check digit
        "13080219900230" + "123" + rules.check_char("13080219900230123"),  # Feb 30
        "13080219901301" + "123" + rules.check_char("13080219901301123"),  # month 13
        "130802900230123",  # 15-digit with Feb 30
        "13080219720415959",  # 17 characters
        "1308021972041595999",  # 19 characters
        "1308021972 04159599",  # inner space
        "13080219720415959Y",
        "",
    ],
)
def test_clean_id_rejects(raw: str) -> None:
    assert rules.clean_id(raw) is None


def test_check_char_examples() -> None:
    assert rules.check_char("11010519491231002") == "X"
    assert rules.check_char("13080219720415959") == "9"


def test_person_key_matches_sample() -> None:
    key = rules.person_key("21020419850807197X", SAMPLE_KEY)
    assert key == "7363eb75ed192a931d3b1310db7ee8a513526c61bba0b3786678a148d7ca7806"
    assert rules.person_key(rules.normalize_id("21020419850807197x"), SAMPLE_KEY) == key


# ---------------------------------------------------------------- file parsing


def _write_persons(tmp_path: Path, lines: list[str]) -> Path:
    header = "household_id,id_number,name,gender,birth_date,relation,disability_grade"
    path = tmp_path / "persons.csv"
    path.write_bytes("\r\n".join([header, *lines, ""]).encode("gb18030"))
    return path


def test_parse_persons_rejects_and_dedupes(tmp_path: Path) -> None:
    path = _write_persons(
        tmp_path,
        [
            "H1,130802197204159599,张三,男,1972-04-15,户主,0",
            "H1,130802720415959,张三,男,1972-04-15,户主,0",  # same person, 15-digit
            "H1,44010319860312345x,何雪,男,1986-03-12,其他,0",
            "H1,44010319860312345X,何雪,女,1986-03-12,其他,0",  # conflicting dup
            "H2,130802197204159599,张三,X,1972-04-15,户主,0",  # bad gender
            "H2,130802197204159598,李四,男,1972-04-15,户主,0",  # bad check digit
            "H2,130802197204159599,张三,男,1972-02-30,户主,0",  # bad birth_date
            "H2,130802197204159599,张三,男,1972-04-15,户主,5",  # bad grade
            "H3,130802197204159599,𠀀二,男,1972-04-15,户主",  # missing field
        ],
    )
    parsed = rules.parse_file(path, rules.PERSONS, "civil_affairs", date(2026, 10, 1))
    assert [(r["household_id"], r["id_number"]) for r in parsed.rows] == [
        ("H1", "130802197204159599")
    ]
    reasons = {r.line_no: r.reason for r in parsed.rejected}
    assert reasons[3].startswith("exact duplicate of line 2")
    assert "conflicting duplicate" in reasons[4] and "conflicting duplicate" in reasons[5]
    assert reasons[6].startswith("gender")
    assert reasons[7].startswith("id_number: invalid")
    assert reasons[8].startswith("birth_date")
    assert reasons[9].startswith("disability_grade")
    assert reasons[10].startswith("expected 7 fields")


def test_parse_bank_and_bom_housing(tmp_path: Path) -> None:
    bank = tmp_path / "balances_20261001.txt"
    bank.write_text(
        "BOC|1234|130802197204159599|D|150|20261001\n"
        "BOC|9999|130802197204159599|Q|150|20261001\n"
        "BOC|8888|130802197204159599|D|1.50|20261001\n",
        encoding="utf-8",
    )
    parsed = rules.parse_file(bank, rules.BALANCES, "bank", date(2026, 10, 1))
    assert [r["balance_fen"] for r in parsed.rows] == [150]
    assert len(parsed.rejected) == 2

    housing = tmp_path / "properties.csv"
    housing.write_bytes(
        b"\xef\xbb\xbf"
        + "cert_no,owner_id_number,property_type,floor_area,region_code,"
        "registered_date,cancelled_date\n"
        "C1,130802197204159599,住宅,70.5,130802,2013-07-31,\n".encode()
    )
    parsed = rules.parse_file(housing, rules.PROPERTIES, "housing", date(2026, 10, 1))
    assert parsed.rows[0]["cancelled_date"] is None
    assert parsed.rejected == []
