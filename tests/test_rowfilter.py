"""The compiled row filter against the contract's rules (sections 2-3), no database.

The Python statement of section 3 (``safetynet.identity``) is the oracle for
id normalisation, validity and person_key; each column rule is exercised with
values on both sides of its boundary.
"""

from __future__ import annotations

import csv
import io
import os
import random
import struct
import subprocess
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from safetynet.identity import check_char, is_valid_id, normalise_id, person_key
from safetynet.ingest import rowfilter
from safetynet.ingest.sources import SPECS, FileSpec

pytestmark = pytest.mark.unit

KEY = "test-key"
PERSONS = next(s for s in SPECS if s.table == "civil_affairs_persons")
CLAIMS = next(s for s in SPECS if s.table == "health_medical_claims")
BANK = next(s for s in SPECS if s.table == "bank_balances")


# The raw tables' types (warehouse_setup.sql) as the filter's TYPES letters: the
# loader reads them from the catalog; here they follow the rule kinds.
KIND_TYPES = {"money": "n", "number": "n", "integer": "i", "fen": "b", "date": "d", "date8": "d"}


def types_for(spec: FileSpec) -> str:
    letters = ""
    for column in spec.columns:
        letters += "s" if column.name == "disability_grade" else KIND_TYPES.get(column.check, "t")
        letters += "x" if column.identity else ""
    return letters


def run_filter(
    tmp_path: Path, spec: FileSpec, lines: list[str], raw: bytes = b""
) -> tuple[list[list[object]], list[list[str]]]:
    """Filter a file made of ``lines`` (and ``raw`` bytes); return (valid rows, rejects)."""
    encoding = "gb18030" if spec.encoding == "GB18030" else "utf-8"
    end = "\r\n" if spec.encoding == "GB18030" else "\n"
    path, rejects = tmp_path / "in.csv", tmp_path / "rejects.csv"
    path.write_bytes(
        (b"\xef\xbb\xbf" if spec.bom else b"")
        + "".join(line + end for line in lines).encode(encoding)
        + raw
    )
    done = subprocess.run(
        rowfilter.arguments(path, spec, types_for(spec), rejects),
        capture_output=True,
        check=True,
        env={**os.environ, "SAFETYNET_PSEUDONYM_KEY": KEY},
    )
    valid = decode_copy(done.stdout, "i" + types_for(spec), encoding)
    rejected = list(csv.reader(io.StringIO(rejects.read_bytes().decode(encoding))))
    # Rows written, then withdrawn (their key conflicts): the loader deletes them.
    gone = set(withdrawn(rejects))
    valid = [row for row in valid if row[0] not in gone]
    assert done.stderr.decode().split()[:4] == [
        f"rows={len(valid) + len(rejected)}",
        f"loaded={len(valid)}",
        f"rejected={len(rejected)}",
        f"withdrawn={len(gone)}",
    ]
    return valid, rejected


def withdrawn(rejects: Path) -> list[int]:
    path = rowfilter.withdrawn_path(rejects)
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def decode_copy(data: bytes, types: str, encoding: str) -> list[list[object]]:
    """Rows of PostgreSQL's binary COPY format, each field decoded by its type letter."""
    assert data[:19] == b"PGCOPY\n\xff\r\n\x00" + bytes(8)
    rows, pos = [], 19
    while (fields := struct.unpack_from(">h", data, pos)[0]) != -1:
        assert fields == len(types)
        pos += 2
        row: list[object] = []
        for letter in types:
            size = struct.unpack_from(">i", data, pos)[0]
            pos += 4 + max(size, 0)
            row.append(None if size < 0 else decode_value(letter, data[pos - size : pos], encoding))
        rows.append(row)
    assert pos + 2 == len(data)
    return rows


def decode_value(letter: str, raw: bytes, encoding: str) -> object:
    if letter == "t":
        return raw.decode(encoding)
    if letter == "x":
        return raw.hex()
    if letter == "d":
        return date(2000, 1, 1) + timedelta(days=int.from_bytes(raw, "big", signed=True))
    if letter == "n":
        count, weight, sign, scale = struct.unpack_from(">hhHh", raw)
        digits = struct.unpack_from(f">{count}H", raw, 8)
        assert sign == 0 and all(d < 10000 for d in digits) and (not digits or digits[0])
        value = sum(Decimal(d) * Decimal(10000) ** (weight - k) for k, d in enumerate(digits))
        return Decimal(value).quantize(Decimal(1).scaleb(-scale))
    return int.from_bytes(raw, "big", signed=True)


def spellings(rng: random.Random) -> list[str]:
    """Id numbers as agencies type them: valid, legacy, full-width, x, spaces, broken."""
    out = []
    for _ in range(400):
        first17 = (
            f"{rng.randint(110000, 659999)}{rng.randint(1900, 2025)}"
            f"{rng.randint(1, 12):02d}{rng.randint(1, 31):02d}{rng.randint(0, 999):03d}"
        )
        good = first17 + check_char(first17)
        legacy = good[:6] + good[8:17]
        out += [
            good,
            good[:17] + rng.choice("0123456789X"),
            legacy,
            good.lower(),
            good.translate(str.maketrans("0123456789X", "０１２３４５６７８９ｘ")),
            f"\u3000{good} ",
            f"{good[:9]} {good[9:]}",
            good[:-1],
            good + "1",
            first17[:6] + "19990230" + first17[14:],
        ]
    return out


ID_FILES = {  # spec, a line carrying id number i, the column that tells rows apart
    "GB18030": (PERSONS, "R{i},{id},名,男,,户主,0", "household_id"),
    "UTF-8": (BANK, "B01|R{i}|{id}|D|100|20261001", "account_no"),
}


@pytest.mark.parametrize("encoding", ID_FILES)
def test_ids_normalised_checked_and_keyed_as_section_3_says(tmp_path: Path, encoding: str) -> None:
    spec, template, row_column = ID_FILES[encoding]
    ids = spellings(random.Random(7))
    lines = [",".join(spec.column_names)] if spec.header else []
    lines += [template.format(i=i, id=spelled) for i, spelled in enumerate(ids)]
    valid, rejected = run_filter(tmp_path, spec, lines)
    at = output_index(spec, "id_number")
    kept = {row[output_index(spec, row_column)]: (row[at], row[at + 1]) for row in valid}
    for i, spelled in enumerate(ids):
        normalised = normalise_id(spelled)
        if is_valid_id(normalised):
            assert kept[f"R{i}"] == (normalised, person_key(normalised, KEY)), spelled
        else:
            assert f"R{i}" not in kept, spelled
    assert {r[2] for r in rejected} == {"invalid id_number"}
    assert len(valid) + len(rejected) == len(ids)


def output_index(spec: FileSpec, column: str) -> int:
    """Where a column lands in the filter's row: after the line and key columns."""
    before = spec.columns[: spec.column_names.index(column)]
    return 1 + len(before) + sum(1 for c in before if c.identity)


def claim(**changes: str) -> str:
    values = {
        "claim_id": "C1",
        "version": "1",
        "id_number": "110105198505051233",
        "hospital_code": "",
        "admission_date": "",
        "settlement_date": "2026-09-30",
        "diagnosis_code": "",
        "total_cost": "",
        "fund_paid": "",
        "out_of_pocket": "10.5",
    }
    return ",".join({**values, **changes}.values())


AS_STORED = {"version": int, "settlement_date": date.fromisoformat, "out_of_pocket": Decimal}


@pytest.mark.parametrize(
    ("column", "good", "bad"),
    [
        ("version", ["1", "999999999"], ["0.5", "-1", "1234567890", "x"]),
        (
            "settlement_date",
            ["2024-02-29", "0001-01-01"],
            ["2023-02-29", "2026-13-01", "20260101", "2026-1-01"],
        ),
        (
            "out_of_pocket",
            ["0", "12.3", "999999999999.99", "0001.00"],
            ["1.234", "-1", "1e3", ".5", "5.", "NaN", "1000000000000"],
        ),
    ],
)
def test_column_rules_accept_and_reject_at_their_boundaries(
    tmp_path: Path, column: str, good: list[str], bad: list[str]
) -> None:
    lines = [",".join(CLAIMS.column_names)]
    lines += [claim(claim_id=f"C{i}", **{column: v}) for i, v in enumerate(good + bad)]
    valid, rejected = run_filter(tmp_path, CLAIMS, lines)
    stored = [row[output_index(CLAIMS, column)] for row in valid]
    assert [str(v) for v in stored] == [str(AS_STORED[column](v)) for v in good]
    assert [r[2] for r in rejected] == [f"invalid {column}"] * len(bad)


def test_empty_required_values_duplicates_and_broken_lines_are_rejected(tmp_path: Path) -> None:
    row = "B01|6222{}|110105198505051233|D|100|20261001"
    lines = [
        row.format(1),
        row.format(1),
        " |6222x|110105198505051233|Q|100|20261001",
        "B01|6222y|110105198505051233|D|100",
        row.format(2),
    ]
    valid, rejected = run_filter(tmp_path, BANK, lines, raw=b"B01|62\xff|1|D|1|20261001\n")
    assert [r[2] for r in valid] == ["62221", "62222"]
    assert [(r[0], r[2]) for r in rejected] == [
        ("2", "exact duplicate of line 1"),
        ("3", "bank_code is empty; invalid account_type"),
        ("4", "5 fields, expected 6"),
        ("6", "bytes not valid UTF8"),
    ]
    assert rejected[3][1] == "B01|62\ufffd|1|D|1|20261001"


def test_quoted_fields_and_rare_characters_survive(tmp_path: Path) -> None:
    lines = [
        ",".join(PERSONS.column_names),
        'H1,110105198505051233,"吉𠮷, ""䶮""",女,1985-05-05,户主,0',
    ]
    valid, rejected = run_filter(tmp_path, PERSONS, lines)
    assert rejected == [] and valid[0][4] == '吉𠮷, "䶮"'


def test_quoted_line_ends_are_kept_and_an_open_quote_loses_one_line(tmp_path: Path) -> None:
    header = ",".join(PERSONS.column_names)
    good = "H{},110105198505051233,{},男,1985-05-05,户主,0"
    lines = [header, good.format(1, '"两\r\n行"'), good.format(2, '"未闭合'), good.format(3, "王")]
    valid, rejected = run_filter(tmp_path, PERSONS, lines)
    assert [(r[0], r[1], r[4]) for r in valid] == [(2, "H1", "两\r\n行"), (5, "H3", "王")]
    assert [(r[0], r[2]) for r in rejected] == [("4", "unterminated quoted field")]


def test_amounts_and_dates_are_written_as_the_values_they_spell(tmp_path: Path) -> None:
    """Binary numeric (base-10000 digits, weight, scale) and date (days from 2000-01-01)."""
    rng = random.Random(11)
    amounts = [
        "0",
        "0.0",
        "0.00",
        "00",
        "0.01",
        "0.1",
        "1",
        "9999",
        "9999.99",
        "10000",
        "10000.5",
        "100000000",
        "999999999999.99",
        "000000000123.40",
        "5000.05",
    ]
    amounts += [
        f"{rng.randint(0, 10 ** rng.randint(1, 12) - 1)}"
        + rng.choice(["", f".{rng.randint(0, 9)}", f".{rng.randint(0, 99):02d}"])
        for _ in range(500)
    ]
    dates = [
        "0001-01-01",
        "1900-02-28",
        "1999-12-31",
        "2000-01-01",
        "2000-02-29",
        "2024-02-29",
        "9999-12-31",
    ]
    dates += [
        (date(1, 1, 1) + timedelta(days=rng.randint(0, 3_652_058))).isoformat() for _ in range(500)
    ]
    dates = (dates * 2)[: len(amounts)]
    lines = [",".join(CLAIMS.column_names)]
    lines += [
        claim(claim_id=f"C{i}", out_of_pocket=a, settlement_date=d)
        for i, (a, d) in enumerate(zip(amounts, dates, strict=True))
    ]
    valid, rejected = run_filter(tmp_path, CLAIMS, lines)
    assert rejected == []
    pay, settled = output_index(CLAIMS, "out_of_pocket"), output_index(CLAIMS, "settlement_date")
    assert [str(row[pay]) for row in valid] == [str(Decimal(a)) for a in amounts]
    assert [row[settled] for row in valid] == [date.fromisoformat(d) for d in dates]


# ------------------------------------------------------------ duplicate keys (contract v2)

BALANCE = "B01|62220|{id}|D|{fen}|20261001"
ID = "110105198505051233"


def test_exact_repeats_count_once_and_conflicting_keys_are_all_rejected(tmp_path: Path) -> None:
    lines = [
        BALANCE.format(id=ID, fen=100),  # 1: kept once
        BALANCE.format(id=ID, fen=100),  # 2: exact repeat of 1
        BALANCE.replace("62220", "62221").format(id=ID, fen=5),  # 3: key A, first
        BALANCE.replace("62220", "62221").format(id=ID, fen=6),  # 4: key A, other balance
        BALANCE.replace("62220", "62221").format(id=ID, fen=5),  # 5: key A again
        BALANCE.replace("62220", "62222").format(id=ID, fen=7),  # 6: another key
    ]
    valid, rejected = run_filter(tmp_path, BANK, lines)
    assert [(r[0], r[2], r[6]) for r in valid] == [(1, "62220", 100), (6, "62222", 7)]
    reasons = sorted((int(r[0]), r[2]) for r in rejected)
    assert reasons == [
        (2, "exact duplicate of line 1"),
        (3, "duplicate key (bank_code, account_no) repeated with different values on line 4"),
        (4, "duplicate key (bank_code, account_no) of line 3 with different values"),
        (5, "duplicate key (bank_code, account_no) of line 3 with different values"),
    ]
    # The withdrawn first row's raw line is the file's own line, as for any reject.
    assert next(r[1] for r in rejected if r[0] == "3") == lines[2]
    assert withdrawn(tmp_path / "rejects.csv") == [3]


@pytest.mark.parametrize(
    "spelled",
    ["110105850505123", "１１０１０５１９８５０５０５１２３３", "\u3000110105198505051233 "],
)
def test_two_spellings_of_one_id_are_one_key(tmp_path: Path, spelled: str) -> None:
    header = ",".join(PERSONS.column_names)
    row = "H1,{},王{},男,1985-05-05,户主,0"
    same = [header, row.format(ID, "五"), row.format(spelled, "五")]
    valid, rejected = run_filter(tmp_path, PERSONS, same)
    assert [r[0] for r in valid] == [2]
    assert [(r[0], r[2]) for r in rejected] == [("3", "exact duplicate of line 2")]

    other = [header, row.format(ID, "五"), row.format(spelled, "六")]
    valid, rejected = run_filter(tmp_path, PERSONS, other)
    assert valid == []
    assert sorted(r[0] for r in rejected) == ["2", "3"]


def test_a_source_without_key_rejects_exact_repeats_only(tmp_path: Path) -> None:
    casework = next(s for s in SPECS if s.source == "casework")
    valid, rejected = run_filter(tmp_path, casework, _casework_lines(casework))
    assert [r[0] for r in valid] == [2, 4]
    assert [(r[0], r[2]) for r in rejected] == [("3", "exact duplicate of line 2")]


def _casework_lines(spec: FileSpec) -> list[str]:
    """A header, a row, its exact repeat, and the row with one value changed."""
    values = {
        "text": "x",
        "alnum": "A1",
        "digits6": "110105",
        "id": ID,
        "money": "1.00",
        "number": "1.00",
        "integer": "1",
        "fen": "1",
        "date": "2026-10-01",
        "date8": "20261001",
    }
    row = [c.values[0] if c.check == "enum" else values[c.check] for c in spec.columns]
    changed = list(row)
    last = next(i for i, c in reversed(list(enumerate(spec.columns))) if c.check == "text")
    changed[last] = "y"
    return [",".join(spec.column_names), ",".join(row), ",".join(row), ",".join(changed)]


def test_a_record_longer_than_64_kib_is_rejected_and_reading_goes_on(tmp_path: Path) -> None:
    long_plain = "B01|6222" + "9" * 100_000 + "|110105198505051233|D|1|20261001"
    long_quoted = 'B01|"6223' + "9" * 100_000 + '"|110105198505051233|D|1|20261001'
    lines = [BALANCE.format(id=ID, fen=1), long_plain, long_quoted]
    lines += [BALANCE.replace("62220", "62229").format(id=ID, fen=2)]
    raw = b"B01|" + b"7" * (3 << 20)  # the last line: 3 MiB without a line end
    valid, rejected = run_filter(tmp_path, BANK, lines, raw=raw)
    assert [r[0] for r in valid] == [1, 4]
    assert [(r[0], r[2]) for r in rejected] == [
        (str(n), "record longer than 65536 bytes") for n in (2, 3, 5)
    ]
    assert all(len(r[1]) <= 1024 for r in rejected), "a prefix is kept for the audit"


def test_the_filter_hashes_the_bytes_it_reads(tmp_path: Path) -> None:
    import hashlib

    lines = [BALANCE.format(id=ID, fen=n) for n in range(3)]
    run_filter(tmp_path, BANK, lines)
    data = (tmp_path / "in.csv").read_bytes()
    done = subprocess.run(
        rowfilter.arguments(tmp_path / "in.csv", BANK, types_for(BANK), tmp_path / "r.csv"),
        capture_output=True,
        check=True,
        env={**os.environ, "SAFETYNET_PSEUDONYM_KEY": KEY},
    )
    assert f"sha256={hashlib.sha256(data).hexdigest()}" in done.stderr.decode().split()


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_the_filter_reads_regular_files_only(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "in.csv"
    if kind == "symlink":
        (tmp_path / "real.csv").write_text(BALANCE.format(id=ID, fen=1) + "\n")
        target.symlink_to(tmp_path / "real.csv")
    else:
        os.mkfifo(target)
    done = subprocess.run(
        rowfilter.arguments(target, BANK, types_for(BANK), tmp_path / "r.csv"),
        capture_output=True,
        timeout=20,
        check=False,
        env={**os.environ, "SAFETYNET_PSEUDONYM_KEY": KEY},
    )
    assert done.returncode == 2 and done.stdout == b""
    assert b"symbolic link" in done.stderr or b"not a regular file" in done.stderr
