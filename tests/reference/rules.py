"""Independent reference implementation of the Safetynet contract, section 5.

Plain Python (standard library only) re-derivation of the population and
alert rules, used by tests to cross-check the dbt/PostgreSQL warehouse. It
shares no code with plugins/ or dbt_project/ on purpose.

Public API
----------
``compute(landing_dir, dates, pseudonym_key, standards_csv=..., k_assets=24,
k_marginal=1.5, k_shock=6) -> Result`` with

* ``Result.population``: {(as_of_date, household_id, person_key, category)}
* ``Result.alerts``: {(alert_date, rule_code, household_id, person_key or '',
  is_new 'true'/'false')}, strings exactly as samples/expected prints them;
* ``Result.households``: {(date, household_id): figures} (size, living,
  deceased, programs, income, s, fa, rp, oop_30, oop_365, pci, apci,
  asset_test, category, ...) for debugging;
* ``Result.rejected``: every row that failed validation (source, extract
  date, file, line number, raw text, reason).

Lower-level helpers (``normalize_id``, ``is_valid_id``, ``clean_id``,
``person_key``, ``parse_file``) are public for unit tests.

Interpretation decisions
------------------------
Reading the landing zone

R1. Only extract folders holding ``_manifest.json`` exist; the data files
    are the names listed in the manifest. Row counts and sha256 are NOT
    checked here (corruption handling is the pipeline's job). A missing
    civil_affairs/housing/bank snapshot for D raises FileNotFoundError.
R2. Encodings per section 2: civil_affairs GB18030, health UTF-8, housing
    UTF-8 (a leading BOM is stripped; its absence is tolerated), bank UTF-8
    pipe-delimited without header. Lines are split on LF and a trailing CR
    is dropped, so the CRLF/LF convention is not enforced. Each physical
    line is decoded on its own: an undecodable line is rejected, the rest
    of the file is kept.
R3. A header that differs from the contract's column list is a file-level
    error (ValueError), not a row rejection.
R4. Every field is trimmed (Unicode white space incl. U+3000) before
    parsing; empty after trimming = null.

Row validation (a rejected row does not exist for the rules)

V1. Rejected when: wrong number of fields; any id column that is non-empty
    and invalid after section 3 normalisation (persons.id_number,
    households.head_id_number, claims/deaths/bank id_number,
    properties.owner_id_number); an enumeration value outside section 2
    (exact, case-sensitive); a date that is not a real YYYY-MM-DD date
    (bank as_of_date: YYYYMMDD); a CNY amount that is not
    ``digits[.d|.dd]`` (no sign, no separators, at most 2 decimals);
    balance_fen not a non-negative integer; version not an integer >= 1;
    disability_grade not 0-4; region_code not 6 digits; floor_area not a
    non-negative decimal.
V2. Required (non-null): the key columns, region_code, urban_rural,
    assessed_monthly_income, program, status, start_date, settlement_date,
    out_of_pocket, death_date, property_type, account_type, balance_fen,
    bank as_of_date. Every other column may be null (end_date and
    cancelled_date null = open / still held).
V3. Not checked: birth_date against the id, gender against the id, bank
    as_of_date against the folder date, household_id against region_code,
    referential integrity across files.
V4. Duplicate key inside one file (after id normalisation): rows that are
    identical in every parsed field count once (the repeats are listed in
    ``rejected`` as "exact duplicate ... (counted once)"); rows sharing a
    key but differing elsewhere are ALL rejected. A person may still be a
    member of two households (different key) - that is A05, not an error.
    The sample has no duplicates, so it does not pin this choice.
V5. persons/enrollments whose household_id has no households row are
    ignored by the rules (no region, income or standard to evaluate).
    Not exercised by the sample.

Rules

B1. Deceased on D = a deaths row in a health extract whose FOLDER date is
    <= D and whose death_date <= D. Receipt (folder date) is what counts,
    not registered_date (they coincide in the sample). Not retroactive: a
    death received on D+1 never changes D's results. Pinned by the sample:
    440118200010296544 died 2026-09-30, received 2026-10-02 -> A01 for
    44011800000004 from 10-02 (new) only; counting it on 10-01 breaks the
    expected files. Several death records for one id: any qualifying
    record suffices.
B2. Claims: per claim_id the highest version among extracts dated <= D
    (same version re-sent: the later extract wins). Claims received after
    D never count for D.
B3. OOP_n windows are half-open (D-n days, D]. Pinned by the sample:
    C0000000001/C0000000006 (settled 2025-10-02) drop out of OOP_365 on
    2026-10-02, ending A04 for 13080200000001 and 21021200000002;
    C0000000011 (settled 2026-09-02) is outside OOP_30 on 2026-10-02 (no
    A06 for 13082200000002); C0000000010 (settled 2026-09-03) gives A06
    for 21021300000001 on 10-02 but not on 10-03. OOP uses claims of all
    members, living or not.
B4. Members are distinct normalised ids per household (an identical
    duplicated persons row counts once). size = members not deceased. FA
    and RP use living members only; RP counts cert_no with cancelled_date
    null or > D (cancelled on D itself = not held).
B5. Active enrollment: status == 'active' AND start_date <= D AND
    (end_date null or end_date >= D). A 'terminated'/'suspended' row is
    never active whatever its dates. A household with both TEKUN and DIBAO
    is category TEKUN (and counts once for A05).
B6. Size-0 households have no category (not in the population) and only
    A01 can fire for them: A01 depends on enrollment, not size. Pinned by
    the sample: 21021200000003 (TEKUN, sole member 210212194406304009 died
    2026-10-02) has A01 on 10-02 (new) and 10-03 (not new) and no
    population rows.
B7. All thresholds compare exactly, cross-multiplied by size (no rounding
    of PCI/APCI): FA <= K_ASSETS*S*size; income <= K*S*size for PCI;
    12*income - OOP_365 <= 12*K*S*size for APCI; OOP_30 >= K_SHOCK*S.
    Pinned by the sample: 21021200000002 on 10-01 has APCI == S exactly
    and must get A04; 44011500000001 has APCI == 1.5*S exactly and must be
    RIGID_EXPENSE.
B8. A03 = not enrolled, asset test passes, PCI <= S; A04 = not enrolled,
    asset test passes, PCI > S, APCI <= S (A04 households can be MARGINAL
    or RIGID_EXPENSE). A02 = enrolled and asset test fails. A06 = category
    TEKUN/DIBAO/MARGINAL (not RIGID_EXPENSE) and OOP_30 >= K_SHOCK*S.
B9. A01: one row per (DIBAO/TEKUN household, deceased member), person_key
    of the deceased. A05: one row per (living person, DIBAO/TEKUN
    household) for persons living in 2+ such households; person rows
    carry person_key, household rules carry ''.
B10. No DIBAO standard in force (unknown city, or every effective_date >
    D): S is None, the category comes from enrollment only (TEKUN/DIBAO),
    and A02/A03/A04/A06 are not evaluated. Not exercised by the sample.
B11. is_new: dates are deduplicated and processed in calendar order. An
    alert is new unless the same (rule, household, person_key) held on
    D-1 *as computed in the same call*. On the first date, and on any D
    whose D-1 is not among the processed dates (a gap), every alert is
    new - the pipeline has no state for D-1.
B12. person_key = HMAC-SHA256 over the normalised 18-character id, so
    lower-case x, full-width and 15-digit spellings of one person share a
    key.

Findings on the sample landing (2026-10-01..03)
-----------------------------------------------
* No row fails validation: 80 households, 240 persons, 45 enrollments,
  83 properties and 332 balances per day; claims 7/5/5, deaths 0/4/3.
* Five ids are spelled with a lower-case x in every source
  (21021219961113665x, 21021219611116719x, 44010319860312345x,
  21028119880329823x, 44010519931203928x; the last two are also
  head_id_number). Normalising x -> X is required: rejecting them changes
  6 alerts and 27 population rows.
* Four deaths (130821194101015846, 210283194801015501,
  440112199401017545, 440106199501017895) are of ids on no roster.
* The sample does NOT distinguish: FA/OOP over living vs all members, RP
  cancelled_date > D vs >= D, A06 >= vs >, A05 counting deceased persons,
  receipt date vs registered_date for deaths, duplicate-key handling.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

CONTRACT_DIR = Path(
    os.environ.get("SAFETYNET_CONTRACT_DIR", "") or Path(__file__).resolve().parents[2] / "contract"
)
DEFAULT_STANDARDS_CSV = CONTRACT_DIR / "reference" / "dibao_standards.csv"

K_ASSETS = Decimal("24")
K_MARGINAL = Decimal("1.5")
K_SHOCK = Decimal("6")

RULE_NAMES = {
    "A01": "DECEASED_BENEFICIARY",
    "A02": "ASSET_TEST_FAILED",
    "A03": "UNCOVERED_LOW_INCOME",
    "A04": "EXPENDITURE_POVERTY",
    "A05": "DUPLICATE_ENROLLMENT",
    "A06": "MEDICAL_SHOCK",
}

Row = dict[str, Any]
Parser = Callable[[str], Any]

# --------------------------------------------------------------------------
# Identity (contract section 3)
# --------------------------------------------------------------------------

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_ID18 = re.compile(r"[0-9]{17}[0-9X]")
_ID15 = re.compile(r"[0-9]{15}")


def to_half_width(text: str) -> str:
    """Map full-width ASCII variants (U+FF01..U+FF5E) and U+3000 to ASCII."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch == "\u3000":
            out.append(" ")
        elif 0xFF01 <= code <= 0xFF5E:
            out.append(chr(code - 0xFEE0))
        else:
            out.append(ch)
    return "".join(out)


def check_char(first17: str) -> str:
    """GB 11643 check character of the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def normalize_id(raw: str) -> str:
    """Normalise an id_number; the result is not necessarily valid."""
    text = to_half_width(raw).strip().replace("x", "X")
    if _ID15.fullmatch(text):
        first17 = text[:6] + "19" + text[6:]
        text = first17 + check_char(first17)
    return text


def _real_date(yyyymmdd: str) -> bool:
    try:
        date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return True


def is_valid_id(normalised: str) -> bool:
    """17 digits + GB 11643 check char, and a real birth date."""
    if not _ID18.fullmatch(normalised):
        return False
    if normalised[17] != check_char(normalised[:17]):
        return False
    return _real_date(normalised[6:14])


def clean_id(raw: str) -> str | None:
    """Normalised 18-character id, or None when it is invalid."""
    normalised = normalize_id(raw)
    return normalised if is_valid_id(normalised) else None


def person_key(id_number: str, pseudonym_key: str) -> str:
    """Lower-case hex HMAC-SHA256 of the normalised id."""
    return hmac.new(
        pseudonym_key.encode("utf-8"), id_number.encode("utf-8"), hashlib.sha256
    ).hexdigest()


# --------------------------------------------------------------------------
# Field parsers (contract section 2); each raises ValueError with a reason
# --------------------------------------------------------------------------

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_COMPACT_DATE = re.compile(r"[0-9]{8}")
_AMOUNT = re.compile(r"[0-9]+(\.[0-9]{1,2})?")
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
_INT = re.compile(r"[0-9]+")


def p_text(value: str) -> str:
    return value


def p_id(value: str) -> str:
    normalised = clean_id(value)
    if normalised is None:
        raise ValueError(f"invalid id_number {value!r}")
    return normalised


def p_enum(*allowed: str) -> Parser:
    def parse(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"{value!r} not in {allowed}")
        return value

    return parse


def p_date(value: str) -> date:
    if not _ISO_DATE.fullmatch(value):
        raise ValueError(f"bad date {value!r}")
    return date.fromisoformat(value)  # ValueError on impossible dates


def p_compact_date(value: str) -> date:
    if not _COMPACT_DATE.fullmatch(value) or not _real_date(value):
        raise ValueError(f"bad YYYYMMDD date {value!r}")
    return date(int(value[:4]), int(value[4:6]), int(value[6:8]))


def p_amount(value: str) -> Decimal:
    """Non-negative CNY amount with at most 2 decimals."""
    if not _AMOUNT.fullmatch(value):
        raise ValueError(f"bad amount {value!r}")
    return Decimal(value)


def p_decimal(value: str) -> Decimal:
    if not _DECIMAL.fullmatch(value):
        raise ValueError(f"bad number {value!r}")
    return Decimal(value)


def p_fen(value: str) -> int:
    if not _INT.fullmatch(value):
        raise ValueError(f"bad fen amount {value!r}")
    return int(value)


def p_int_range(low: int, high: int) -> Parser:
    def parse(value: str) -> int:
        if not _INT.fullmatch(value) or not low <= int(value) <= high:
            raise ValueError(f"{value!r} not an integer in [{low}, {high}]")
        return int(value)

    return parse


def p_region(value: str) -> str:
    if not re.fullmatch(r"[0-9]{6}", value):
        raise ValueError(f"bad region_code {value!r}")
    return value


def req(parser: Parser) -> Parser:
    def parse(value: str) -> Any:
        if value == "":
            raise ValueError("required field is empty")
        return parser(value)

    return parse


def opt(parser: Parser) -> Parser:
    def parse(value: str) -> Any:
        return None if value == "" else parser(value)

    return parse


# --------------------------------------------------------------------------
# File specifications
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class FileSpec:
    kind: str
    encoding: str
    columns: tuple[tuple[str, Parser], ...]
    key: tuple[str, ...]
    header: bool = True
    delimiter: str = ","
    bom: bool = False

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.columns]


HOUSEHOLDS = FileSpec(
    "households",
    "gb18030",
    (
        ("household_id", req(p_text)),
        ("region_code", req(p_region)),
        ("urban_rural", req(p_enum("城镇", "农村"))),
        ("address", opt(p_text)),
        ("head_id_number", opt(p_id)),
        ("assessed_monthly_income", req(p_amount)),
        ("income_assessed_date", opt(p_date)),
    ),
    ("household_id",),
)
PERSONS = FileSpec(
    "persons",
    "gb18030",
    (
        ("household_id", req(p_text)),
        ("id_number", req(p_id)),
        ("name", opt(p_text)),
        ("gender", opt(p_enum("男", "女"))),
        ("birth_date", opt(p_date)),
        ("relation", opt(p_enum("户主", "配偶", "子女", "父母", "其他"))),
        ("disability_grade", opt(p_int_range(0, 4))),
    ),
    ("household_id", "id_number"),
)
ENROLLMENTS = FileSpec(
    "enrollments",
    "gb18030",
    (
        ("enrollment_id", req(p_text)),
        ("household_id", req(p_text)),
        ("program", req(p_enum("DIBAO", "TEKUN", "LINSHI"))),
        ("status", req(p_enum("active", "suspended", "terminated"))),
        ("start_date", req(p_date)),
        ("end_date", opt(p_date)),
        ("monthly_amount", opt(p_amount)),
    ),
    ("enrollment_id",),
)
CLAIMS = FileSpec(
    "medical_claims",
    "utf-8",
    (
        ("claim_id", req(p_text)),
        ("version", req(p_int_range(1, 10**9))),
        ("id_number", req(p_id)),
        ("hospital_code", opt(p_text)),
        ("admission_date", opt(p_date)),
        ("settlement_date", req(p_date)),
        ("diagnosis_code", opt(p_text)),
        ("total_cost", opt(p_amount)),
        ("fund_paid", opt(p_amount)),
        ("out_of_pocket", req(p_amount)),
    ),
    ("claim_id", "version"),
)
DEATHS = FileSpec(
    "deaths",
    "utf-8",
    (
        ("id_number", req(p_id)),
        ("death_date", req(p_date)),
        ("registered_date", opt(p_date)),
    ),
    ("id_number",),
)
PROPERTIES = FileSpec(
    "properties",
    "utf-8",
    (
        ("cert_no", req(p_text)),
        ("owner_id_number", req(p_id)),
        ("property_type", req(p_enum("住宅", "商业", "车位", "其他"))),
        ("floor_area", opt(p_decimal)),
        ("region_code", opt(p_region)),
        ("registered_date", opt(p_date)),
        ("cancelled_date", opt(p_date)),
    ),
    ("cert_no", "owner_id_number"),
    bom=True,
)
BALANCES = FileSpec(
    "balances",
    "utf-8",
    (
        ("bank_code", req(p_text)),
        ("account_no", req(p_text)),
        ("id_number", req(p_id)),
        ("account_type", req(p_enum("D", "T", "W"))),
        ("balance_fen", req(p_fen)),
        ("as_of_date", req(p_compact_date)),
    ),
    ("bank_code", "account_no"),
    header=False,
    delimiter="|",
)

SOURCE_FILES: dict[str, list[tuple[re.Pattern[str], FileSpec]]] = {
    "civil_affairs": [
        (re.compile(r"households\.csv"), HOUSEHOLDS),
        (re.compile(r"persons\.csv"), PERSONS),
        (re.compile(r"enrollments\.csv"), ENROLLMENTS),
    ],
    "health": [
        (re.compile(r"medical_claims\.csv"), CLAIMS),
        (re.compile(r"deaths\.csv"), DEATHS),
    ],
    "housing": [(re.compile(r"properties\.csv"), PROPERTIES)],
    "bank": [(re.compile(r"balances_[0-9]{8}\.txt"), BALANCES)],
}


# --------------------------------------------------------------------------
# Reading and validating one file
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Rejected:
    source: str
    extract_date: date
    file: str
    line_no: int
    raw: str
    reason: str


@dataclass
class ParsedFile:
    rows: list[Row] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def _decoded_lines(
    data: bytes, spec: FileSpec, reject: Callable[[int, str, str], None]
) -> Iterator[tuple[int, str]]:
    """Physical lines as (1-based line number, text + '\\n'); CR stripped."""
    if spec.bom and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    physical = data.split(b"\n")
    if physical and physical[-1] == b"":
        physical.pop()
    for number, line in enumerate(physical, start=1):
        raw = line.removesuffix(b"\r")
        try:
            yield number, raw.decode(spec.encoding) + "\n"
        except UnicodeDecodeError as exc:
            reject(number, raw.decode(spec.encoding, "replace"), f"undecodable: {exc}")


def _records(
    data: bytes, spec: FileSpec, reject: Callable[[int, str, str], None]
) -> Iterator[tuple[int, str, list[str]]]:
    """CSV records as (first line number, raw text, fields)."""
    lines = list(_decoded_lines(data, spec, reject))
    texts = [text for _, text in lines]
    reader = csv.reader(texts, delimiter=spec.delimiter, quotechar='"')
    consumed = 0
    for fields in reader:
        start, consumed = consumed, reader.line_num
        raw = "".join(texts[start:consumed]).rstrip("\n")
        yield lines[start][0], raw, fields


def _parse_fields(fields: list[str], spec: FileSpec) -> Row:
    if len(fields) != len(spec.columns):
        raise ValueError(f"expected {len(spec.columns)} fields, got {len(fields)}")
    row: Row = {}
    for (name, parser), value in zip(spec.columns, fields, strict=True):
        try:
            row[name] = parser(value.strip())
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    return row


def parse_file(path: Path, spec: FileSpec, source: str, extract_date: date) -> ParsedFile:
    """Parse and validate one file; invalid rows go to `rejected`."""
    result = ParsedFile()

    def reject(line_no: int, raw: str, reason: str) -> None:
        result.rejected.append(Rejected(source, extract_date, path.name, line_no, raw, reason))

    candidates: list[tuple[int, str, Row]] = []
    header_seen = not spec.header
    for line_no, raw, fields in _records(path.read_bytes(), spec, reject):
        if not header_seen:
            header_seen = True
            if [f.strip() for f in fields] != spec.names:
                raise ValueError(f"{path}: unexpected header {fields}")
            continue
        if not fields or fields == [""]:
            reject(line_no, raw, "blank line")
            continue
        try:
            candidates.append((line_no, raw, _parse_fields(fields, spec)))
        except ValueError as exc:
            reject(line_no, raw, str(exc))
    result.rows = _dedupe(candidates, spec, reject)
    return result


def _dedupe(
    candidates: list[tuple[int, str, Row]],
    spec: FileSpec,
    reject: Callable[[int, str, str], None],
) -> list[Row]:
    """Identical duplicates count once; conflicting duplicates all go."""
    groups: dict[tuple[Any, ...], list[tuple[int, str, Row]]] = defaultdict(list)
    for candidate in candidates:
        groups[tuple(candidate[2][k] for k in spec.key)].append(candidate)
    kept: list[Row] = []
    for group in groups.values():
        first_line, _, first_row = group[0]
        if all(row == first_row for _, _, row in group):
            kept.append(first_row)
            for line_no, raw, _ in group[1:]:
                reject(line_no, raw, f"exact duplicate of line {first_line} (counted once)")
        else:
            lines = [line_no for line_no, _, _ in group]
            for line_no, raw, _ in group:
                reject(
                    line_no,
                    raw,
                    f"conflicting duplicate key {spec.key} on lines {lines}",
                )
    return kept


# --------------------------------------------------------------------------
# Landing zone
# --------------------------------------------------------------------------


class Landing:
    """Read-only view of <landing>/<source>/<YYYY-MM-DD>/ with manifests."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.rejected: list[Rejected] = []
        self._cache: dict[tuple[str, date], dict[str, list[Row]]] = {}

    def extract_dates(self, source: str) -> list[date]:
        """Dates of complete (manifest present) extracts of a source."""
        found = []
        for folder in sorted((self.root / source).glob("*")):
            if (folder / "_manifest.json").is_file():
                try:
                    found.append(date.fromisoformat(folder.name))
                except ValueError:
                    continue
        return found

    def load(self, source: str, extract_date: date) -> dict[str, list[Row]]:
        """Valid rows of every file of one extract, by file kind."""
        key = (source, extract_date)
        if key not in self._cache:
            self._cache[key] = self._load(source, extract_date)
        return self._cache[key]

    def _load(self, source: str, extract_date: date) -> dict[str, list[Row]]:
        folder = self.root / source / extract_date.isoformat()
        manifest_path = folder / "_manifest.json"
        if not manifest_path.is_file():
            raise FileNotFoundError(f"no complete {source} extract for {extract_date}")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        tables: dict[str, list[Row]] = {spec.kind: [] for _, spec in SOURCE_FILES[source]}
        for entry in manifest["files"]:
            spec = _spec_for(source, entry["name"])
            parsed = parse_file(folder / entry["name"], spec, source, extract_date)
            tables[spec.kind].extend(parsed.rows)
            self.rejected.extend(parsed.rejected)
        return tables


def _spec_for(source: str, name: str) -> FileSpec:
    for pattern, spec in SOURCE_FILES[source]:
        if pattern.fullmatch(name):
            return spec
    raise ValueError(f"unknown {source} file {name!r}")


# --------------------------------------------------------------------------
# Reference data (contract section 4)
# --------------------------------------------------------------------------


class Standards:
    """DIBAO monthly standard by (city_code, urban_rural) and effective date."""

    def __init__(self, path: Path) -> None:
        self._rows: dict[tuple[str, str], list[tuple[date, Decimal]]] = defaultdict(list)
        with open(path, encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                key = (row["city_code"].strip(), row["urban_rural"].strip())
                effective = date.fromisoformat(row["effective_date"].strip())
                self._rows[key].append((effective, Decimal(row["dibao_monthly"].strip())))
        for rows in self._rows.values():
            rows.sort()

    def dibao(self, region_code: str, urban_rural: str, on: date) -> Decimal | None:
        """Standard in force on `on` (latest effective_date <= on), or None."""
        city = region_code[:4] + "00"
        in_force = [s for eff, s in self._rows.get((city, urban_rural), []) if eff <= on]
        return in_force[-1] if in_force else None


# --------------------------------------------------------------------------
# Business rules (contract section 5)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Params:
    k_assets: Decimal
    k_marginal: Decimal
    k_shock: Decimal


@dataclass
class Day:
    """Inputs of one extract date D, restricted to what D may see."""

    on: date
    households: dict[str, Row]
    members: dict[str, set[str]]
    enrollments: list[Row]
    properties_by_owner: dict[str, list[Row]]
    balances_by_id: dict[str, list[Row]]
    deceased: set[str]
    claims_by_id: dict[str, list[Row]]


def _index(rows: Iterable[Row], column: str) -> dict[str, list[Row]]:
    index: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        index[row[column]].append(row)
    return dict(index)


def _health_as_of(landing: Landing, on: date) -> tuple[set[str], list[Row]]:
    """Deceased ids and current claim versions from increments dated <= on."""
    deceased: set[str] = set()
    claims: dict[str, Row] = {}
    for extract in landing.extract_dates("health"):
        if extract > on:
            continue
        tables = landing.load("health", extract)
        deceased.update(r["id_number"] for r in tables["deaths"] if r["death_date"] <= on)
        for row in tables["medical_claims"]:
            current = claims.get(row["claim_id"])
            if current is None or row["version"] >= current["version"]:
                claims[row["claim_id"]] = row
    return deceased, list(claims.values())


def load_day(landing: Landing, on: date) -> Day:
    """Snapshots of `on` plus every health increment dated <= `on`."""
    civil = landing.load("civil_affairs", on)
    members: dict[str, set[str]] = defaultdict(set)
    for person in civil["persons"]:
        members[person["household_id"]].add(person["id_number"])
    deceased, claims = _health_as_of(landing, on)
    return Day(
        on=on,
        households={h["household_id"]: h for h in civil["households"]},
        members=dict(members),
        enrollments=civil["enrollments"],
        properties_by_owner=_index(landing.load("housing", on)["properties"], "owner_id_number"),
        balances_by_id=_index(landing.load("bank", on)["balances"], "id_number"),
        deceased=deceased,
        claims_by_id=_index(claims, "id_number"),
    )


def _active_programs(day: Day) -> dict[str, set[str]]:
    programs: dict[str, set[str]] = defaultdict(set)
    for e in day.enrollments:
        ended = e["end_date"] is not None and e["end_date"] < day.on
        if e["status"] == "active" and e["start_date"] <= day.on and not ended:
            programs[e["household_id"]].add(e["program"])
    return programs


def _financial_assets(day: Day, living: set[str]) -> Decimal:
    """FA: balances (fen -> CNY) of accounts of living members."""
    fen = sum(b["balance_fen"] for i in living for b in day.balances_by_id.get(i, []))
    return Decimal(fen) / 100


def _residential_properties(day: Day, living: set[str]) -> int:
    """RP: distinct held 住宅 cert_no with a living member among owners."""
    certs = {
        p["cert_no"]
        for i in living
        for p in day.properties_by_owner.get(i, [])
        if p["property_type"] == "住宅"
        and (p["cancelled_date"] is None or p["cancelled_date"] > day.on)
    }
    return len(certs)


def _out_of_pocket(day: Day, ids: set[str], days: int) -> Decimal:
    """OOP_n: out_of_pocket of members' claims settled in (D-n, D]."""
    start = day.on - timedelta(days=days)
    amounts = [
        c["out_of_pocket"]
        for i in ids
        for c in day.claims_by_id.get(i, [])
        if start < c["settlement_date"] <= day.on
    ]
    return sum(amounts, Decimal(0))


def household_figures(
    day: Day,
    household_id: str,
    programs: set[str],
    standards: Standards,
    params: Params,
) -> dict[str, Any]:
    """All section 5 figures of one household on day.on."""
    household = day.households[household_id]
    ids = day.members.get(household_id, set())
    living = ids - day.deceased
    size = len(living)
    income: Decimal = household["assessed_monthly_income"]
    s = standards.dibao(household["region_code"], household["urban_rural"], day.on)
    fa = _financial_assets(day, living)
    rp = _residential_properties(day, living)
    oop_30 = _out_of_pocket(day, ids, 30)
    oop_365 = _out_of_pocket(day, ids, 365)
    figures: dict[str, Any] = {
        "members": sorted(ids),
        "living": sorted(living),
        "deceased": sorted(ids & day.deceased),
        "size": size,
        "programs": sorted(programs),
        "is_tekun": "TEKUN" in programs,
        "is_dibao": "DIBAO" in programs,
        "income": income,
        "s": s,
        "fa": fa,
        "rp": rp,
        "oop_30": oop_30,
        "oop_365": oop_365,
        "pci": income / size if size else None,
        "apci": (income - oop_365 / 12) / size if size else None,
    }
    figures.update(_predicates(figures, params))
    return figures


def _predicates(f: dict[str, Any], params: Params) -> dict[str, Any]:
    """Category and rule predicates, compared exactly (cross-multiplied)."""
    size, s, income = f["size"], f["s"], f["income"]
    enrolled = f["is_tekun"] or f["is_dibao"]
    out: dict[str, Any] = {"enrolled": enrolled, "asset_test": None, "category": None}
    if size == 0 or s is None:
        if size and enrolled:
            out["category"] = "TEKUN" if f["is_tekun"] else "DIBAO"
        return out
    asset = f["fa"] <= params.k_assets * s * size and f["rp"] <= 1
    twelve_net = 12 * income - f["oop_365"]  # 12 x size x APCI
    pci_le = income <= params.k_marginal * s * size
    apci_le = twelve_net <= 12 * params.k_marginal * s * size
    out["asset_test"] = asset
    out["category"] = _category(f, enrolled, asset, pci_le, apci_le)
    out["pci_le_s"] = income <= s * size
    out["apci_le_s"] = twelve_net <= 12 * s * size
    out["shock"] = f["oop_30"] >= params.k_shock * s
    return out


def _category(
    f: dict[str, Any], enrolled: bool, asset: bool, pci_le: bool, apci_le: bool
) -> str | None:
    if f["is_tekun"]:
        return "TEKUN"
    if f["is_dibao"]:
        return "DIBAO"
    if enrolled or not asset:
        return None
    if pci_le:
        return "MARGINAL"
    return "RIGID_EXPENSE" if apci_le else None


def _household_alerts(
    household_id: str, f: dict[str, Any], pk: Callable[[str], str]
) -> set[tuple[str, str, str]]:
    """(rule, household, person_key) held by one household; A05 excluded."""
    held: set[tuple[str, str, str]] = set()
    if f["enrolled"]:
        held |= {("A01", household_id, pk(i)) for i in f["deceased"]}
    if f["size"] == 0 or f["s"] is None:
        return held
    if f["enrolled"] and not f["asset_test"]:
        held.add(("A02", household_id, ""))
    if not f["enrolled"] and f["asset_test"]:
        if f["pci_le_s"]:
            held.add(("A03", household_id, ""))
        elif f["apci_le_s"]:
            held.add(("A04", household_id, ""))
    if f["category"] in ("TEKUN", "DIBAO", "MARGINAL") and f["shock"]:
        held.add(("A06", household_id, ""))
    return held


def _duplicate_enrollments(
    figures: dict[str, dict[str, Any]], pk: Callable[[str], str]
) -> set[tuple[str, str, str]]:
    """A05: living person in 2+ distinct DIBAO/TEKUN households."""
    homes: dict[str, set[str]] = defaultdict(set)
    for household_id, f in figures.items():
        if f["enrolled"]:
            for id_number in f["living"]:
                homes[id_number].add(household_id)
    return {
        ("A05", household_id, pk(id_number))
        for id_number, households in homes.items()
        if len(households) >= 2
        for household_id in households
    }


@dataclass
class DayOutcome:
    figures: dict[str, dict[str, Any]]
    population: set[tuple[str, str, str, str]]
    held: set[tuple[str, str, str]]


def evaluate_day(
    day: Day, standards: Standards, params: Params, pk: Callable[[str], str]
) -> DayOutcome:
    programs = _active_programs(day)
    figures = {
        h: household_figures(day, h, programs.get(h, set()), standards, params)
        for h in sorted(day.households)
    }
    iso = day.on.isoformat()
    population = {
        (iso, h, pk(i), f["category"])
        for h, f in figures.items()
        if f["category"] is not None
        for i in f["living"]
    }
    held: set[tuple[str, str, str]] = set()
    for h, f in figures.items():
        held |= _household_alerts(h, f, pk)
    held |= _duplicate_enrollments(figures, pk)
    return DayOutcome(figures, population, held)


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


@dataclass
class Result:
    population: set[tuple[str, str, str, str]] = field(default_factory=set)
    alerts: set[tuple[str, str, str, str, str]] = field(default_factory=set)
    households: dict[tuple[date, str], dict[str, Any]] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)


def _as_decimal(value: Decimal | int | float | str) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def compute(
    landing_dir: Path,
    dates: Iterable[date],
    pseudonym_key: str,
    standards_csv: Path = DEFAULT_STANDARDS_CSV,
    k_assets: Decimal | int | float | str = K_ASSETS,
    k_marginal: Decimal | int | float | str = K_MARGINAL,
    k_shock: Decimal | int | float | str = K_SHOCK,
) -> Result:
    """Population and alerts for each date, processed in calendar order."""
    landing = Landing(Path(landing_dir))
    standards = Standards(Path(standards_csv))
    params = Params(_as_decimal(k_assets), _as_decimal(k_marginal), _as_decimal(k_shock))
    keys: dict[str, str] = {}

    def pk(id_number: str) -> str:
        if id_number not in keys:
            keys[id_number] = person_key(id_number, pseudonym_key)
        return keys[id_number]

    result = Result()
    held_by_date: dict[date, set[tuple[str, str, str]]] = {}
    for on in sorted(set(dates)):
        outcome = evaluate_day(load_day(landing, on), standards, params, pk)
        previous = held_by_date.get(on - timedelta(days=1), set())
        held_by_date[on] = outcome.held
        result.population |= outcome.population
        result.alerts |= {
            (
                on.isoformat(),
                rule,
                h,
                person,
                "false" if (rule, h, person) in previous else "true",
            )
            for rule, h, person in outcome.held
        }
        result.households.update({(on, h): f for h, f in outcome.figures.items()})
    result.rejected = landing.rejected
    return result
