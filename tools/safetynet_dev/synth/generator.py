"""Seeded synthetic landing extracts, written exactly as the data contract says.

``generate(out_dir, households, start, days, seed)`` writes, for every day,
``<out>/<source>/<YYYY-MM-DD>/<files>`` for the four sources and, last in
each folder, ``_manifest.json`` (data rows and sha256 of the file bytes).

Formats (contract section 2): civil_affairs GB18030 + CRLF; health UTF-8 +
LF; housing UTF-8 with BOM + LF; bank pipe-delimited, no header, fen.

How the data is made
--------------------
* Random households are produced in chunks of ``CHUNK_HOUSEHOLDS``; every
  chunk has its own ``random.Random`` streams seeded from (seed, chunk), so
  the bytes do not depend on the number of worker processes. Each day the
  base population is regenerated from the same streams (nothing large is
  kept in memory) and the day's changes are applied on top.
* Day-to-day changes (income re-assessments, enrollments starting, ending
  and suspended, properties added and cancelled, deaths, new claims) are
  sparse events drawn per day from ``Random(f"{seed}:events:{day}")``;
  balances drift per day; claim corrections re-send earlier claims.
* Identifiers are unique by construction: a person's birth month/day and
  sequence digits come from a bijection of (region, household, member), so
  no two people share an id_number unless the generator means it.
* A small share (``dirty_ratio`` per person, default 0.3%) of people are
  spelled in an accepted non-canonical form (legacy 15 digits, full-width
  digits, lower-case x, surrounding spaces or U+3000) in some files.
* Scripted households (household serial starting with ``99``, see
  ``scripted_cases``) sit exactly on every boundary of the rules of section
  5; each carries the category and alerts the rules must give.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import random
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from multiprocessing import get_context
from pathlib import Path
from typing import Any, BinaryIO

from safetynet import config

# The deployment's reference data (dbt seeds), so generated households fall in known cities.
SEEDS_DIR = config.dbt_project_dir() / "seeds"
DEFAULT_REGIONS_CSV = SEEDS_DIR / "regions.csv"
DEFAULT_STANDARDS_CSV = SEEDS_DIR / "dibao_standards.csv"
DEFAULT_DIRTY_RATIO = 0.003
CHUNK_HOUSEHOLDS = 4000
MAX_RANDOM_HOUSEHOLDS = 700_000  # serial spaces of certificates and accounts
MANIFEST = "_manifest.json"

# ---------------------------------------------------------------- file formats


@dataclass(frozen=True)
class FileFormat:
    """One delivered file of the contract (section 2)."""

    source: str
    pattern: str  # '{yyyymmdd}' is replaced by the extract date
    columns: tuple[str, ...]
    encoding: str  # Python codec name
    newline: str
    bom: bool = False
    header: bool = True
    delimiter: str = ","
    id_column: str | None = "id_number"

    def file_name(self, day: date) -> str:
        return self.pattern.format(yyyymmdd=day.strftime("%Y%m%d"))

    def matches(self, file_name: str) -> bool:
        head, _, tail = self.pattern.partition("{yyyymmdd}")
        if not tail:
            return file_name == self.pattern
        middle = file_name[len(head) : len(file_name) - len(tail)]
        return (
            file_name.startswith(head)
            and file_name.endswith(tail)
            and len(middle) == 8
            and middle.isdigit()
        )

    def header_bytes(self) -> bytes:
        text = self.delimiter.join(self.columns) + self.newline if self.header else ""
        return (b"\xef\xbb\xbf" if self.bom else b"") + text.encode(self.encoding)


HOUSEHOLDS, PERSONS, ENROLLMENTS, CLAIMS, DEATHS, PROPERTIES, BALANCES = range(7)
CIVIL = {"source": "civil_affairs", "encoding": "gb18030", "newline": "\r\n"}
FORMATS: tuple[FileFormat, ...] = (
    FileFormat(
        **CIVIL,
        pattern="households.csv",
        id_column="head_id_number",
        columns=(
            "household_id",
            "region_code",
            "urban_rural",
            "address",
            "head_id_number",
            "assessed_monthly_income",
            "income_assessed_date",
        ),
    ),
    FileFormat(
        **CIVIL,
        pattern="persons.csv",
        columns=(
            "household_id",
            "id_number",
            "name",
            "gender",
            "birth_date",
            "relation",
            "disability_grade",
        ),
    ),
    FileFormat(
        **CIVIL,
        pattern="enrollments.csv",
        id_column=None,
        columns=(
            "enrollment_id",
            "household_id",
            "program",
            "status",
            "start_date",
            "end_date",
            "monthly_amount",
        ),
    ),
    FileFormat(
        "health",
        "medical_claims.csv",
        (
            "claim_id",
            "version",
            "id_number",
            "hospital_code",
            "admission_date",
            "settlement_date",
            "diagnosis_code",
            "total_cost",
            "fund_paid",
            "out_of_pocket",
        ),
        "utf-8",
        "\n",
    ),
    FileFormat(
        "health", "deaths.csv", ("id_number", "death_date", "registered_date"), "utf-8", "\n"
    ),
    FileFormat(
        "housing",
        "properties.csv",
        (
            "cert_no",
            "owner_id_number",
            "property_type",
            "floor_area",
            "region_code",
            "registered_date",
            "cancelled_date",
        ),
        "utf-8",
        "\n",
        bom=True,
        id_column="owner_id_number",
    ),
    FileFormat(
        "bank",
        "balances_{yyyymmdd}.txt",
        ("bank_code", "account_no", "id_number", "account_type", "balance_fen", "as_of_date"),
        "utf-8",
        "\n",
        header=False,
        delimiter="|",
    ),
)
SOURCES = ("civil_affairs", "health", "housing", "bank")


def file_format(source: str, file_name: str) -> FileFormat:
    for spec in FORMATS:
        if spec.source == source and spec.matches(file_name):
            return spec
    raise KeyError(f"no file {file_name!r} in source {source!r}")


def source_formats(source: str) -> list[tuple[int, FileFormat]]:
    return [(index, spec) for index, spec in enumerate(FORMATS) if spec.source == source]


def csv_field(text: str) -> str:
    """Quote a field when it holds the delimiter, a quote or a line break."""
    if "," in text or '"' in text or "\n" in text or "\r" in text or "|" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def count_rows(data: bytes, spec: FileFormat) -> int:
    """Data rows of a file's bytes: lines (a final unterminated one counts) minus header."""
    lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    return max(0, lines - (1 if spec.header else 0))


# ---------------------------------------------------------------- identity (GB 11643)

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
CANONICAL, LEGACY15, FULL_WIDTH, LOWER_X, PADDED, IDEOGRAPHIC = range(6)
STYLE_NAMES = ("canonical", "legacy15", "full_width", "lower_x", "padded", "ideographic")
_TO_FULL = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def check_char(first17: str) -> str:
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def spell_id(id18: str, style: int) -> str:
    """An accepted spelling of a valid 18-character id (contract section 3)."""
    if style == LEGACY15 and id18[6:8] == "19":
        return id18[:6] + id18[8:17]
    if style == FULL_WIDTH:
        return id18.translate(_TO_FULL)
    if style == LOWER_X and id18.endswith("X"):
        return id18[:17] + "x"
    if style == PADDED:
        return " " + id18 + " "
    if style == IDEOGRAPHIC:
        return "\u3000" + id18.translate(_TO_FULL) + "\u3000"
    return id18


def _digit_sums(text: str, weights: Sequence[int]) -> int:
    return sum(int(d) * w for d, w in zip(text, weights, strict=True))


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_MD: list[str] = [f"{m + 1:02d}{d + 1:02d}" for m, n in enumerate(_MONTH_DAYS) for d in range(n)]
_MD_ISO = [f"-{md[:2]}-{md[2:]}" for md in _MD]
_MD_SUM = [_digit_sums(md, WEIGHTS[10:14]) for md in _MD]
_SEQ_TEXT = [f"{s:03d}" for s in range(1000)]
_SEQ_SUM = [_digit_sums(text, WEIGHTS[14:17]) for text in _SEQ_TEXT]
_YEAR_SUM = {y: _digit_sums(str(y), WEIGHTS[6:10]) for y in range(1880, 2100)}
# Sequence digits: 2*s + (1 male / 0 female); s < 490 random people, 490..499 scripted.
_RANDOM_SLOTS = 490
_ID_CAPACITY = 365 * _RANDOM_SLOTS  # distinct (birth month/day, s) per region and year
_ID_MULT, _ID_ADD = 104_729, 7_919


# ---------------------------------------------------------------- reference data


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    city: str


def load_regions(path: Path) -> list[Region]:
    lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:] if line]
    return [Region(r["region_code"], r["region_name"], r["region_code"][:4] + "00") for r in rows]


@dataclass(frozen=True)
class Standard:
    city: str
    urban_rural: str
    effective: date
    dibao: Decimal


class Standards:
    """DIBAO standards; the one in force on D has the latest effective_date <= D."""

    def __init__(self, rows: Iterable[Standard]) -> None:
        self.rows = sorted(rows, key=lambda s: (s.city, s.urban_rural, s.effective))

    @classmethod
    def load(cls, path: Path) -> Standards:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return cls(
                Standard(
                    r["city_code"],
                    r["urban_rural"],
                    date.fromisoformat(r["effective_date"]),
                    Decimal(r["dibao_monthly"]),
                )
                for r in csv.DictReader(handle)
                if r["dibao_monthly"]
            )

    def dibao(self, city: str, urban_rural: str, day: date) -> Decimal | None:
        found = None
        for s in self.rows:
            if s.city == city and s.urban_rural == urban_rural and s.effective <= day:
                found = s.dibao
        return found

    def changes(self, city: str, urban_rural: str, first: date, last: date) -> list[date]:
        return [
            s.effective
            for s in self.rows
            if s.city == city and s.urban_rural == urban_rural and first <= s.effective <= last
        ]


# ---------------------------------------------------------------- small helpers

URBAN, RURAL = "城镇", "农村"
_ISO_CACHE: dict[int, str] = {}


def _iso(ordinal: int) -> str:
    text = _ISO_CACHE.get(ordinal)
    if text is None:
        text = _ISO_CACHE[ordinal] = date.fromordinal(ordinal).isoformat()
    return text


def money(fen: int) -> str:
    """CNY with 2 decimals from an integer amount of fen (>= 0)."""
    return f"{fen // 100}.{fen % 100:02d}"


def _fen(amount: Decimal) -> int:
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"standard {amount} is not a whole number of fen")
    return int(fen)


def _coprime_multiplier(modulus: int, fraction: float = 0.6180339887) -> int:
    if modulus <= 2:
        return 1
    candidate = max(1, int(modulus * fraction)) | 1
    while math.gcd(candidate, modulus) != 1:
        candidate += 2
    return candidate


_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史黎贺顾毛郝龚邵万钱覃武戴孔汤庞樊兰殷施陶洪翟安颜倪严牛温芦季俞章鲁葛伍申尤毕"
    "聂柴焦向柳邢岳齐沿梅莫庄辛管祝左涂谷祁时舒耿牟卜路詹关苗凌费纪靳盛童欧甄项曲成游"
    "阳裴席卫查屈鲍位覃霍翁隋植甘景薄单包司柏宁柯阮"
)
_GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬芳燕彩春菊兰凤"
    "洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎"
    "锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿"
    "聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔建国志明文斌海波宏亮鹏飞俊峰浩然振华晨辉"
)
RARE_CHARACTERS = "𠮷䶮㛃𪚥㵘䲜"
_STREETS = (
    "人民路",
    "解放路",
    "建设街",
    "和平里",
    "新华路",
    "幸福小区",
    "朝阳街",
    "胜利路",
    "光明巷",
    "团结村",
    "中山路",
    "长江路",
    "东风街",
    "跃进里",
    "向阳村",
)
_BANKS = ("ICBC", "CCB", "ABC", "BOC", "PSBC", "RCC", "BOCOM", "CMB")
_DIAGNOSES = (
    "I10",
    "E11.9",
    "J18.9",
    "I63.9",
    "I21.9",
    "C34.9",
    "N18.5",
    "K29.7",
    "M54.5",
    "J44.9",
    "I50.9",
    "C16.9",
    "S72.0",
    "K80.2",
    "I25.1",
    "C22.0",
)
_PROPERTY_TYPES = ("住宅", "商业", "车位", "其他")
_AREA_RANGES = ((3500, 10500), (1500, 10500), (1000, 600), (500, 3500))  # (min, span) fen*m2
_ACCOUNT_MULT, _CERT_MULT = 48_271, 1_234_577


def _name(rnd: Any, rare: bool) -> str:
    """Chinese name; ``rare`` puts one character outside GBK into it."""
    surname = _SURNAMES[int(rnd() * len(_SURNAMES))]
    given = _GIVEN[int(rnd() * len(_GIVEN))]
    if rnd() < 0.55:
        given += _GIVEN[int(rnd() * len(_GIVEN))]
    if rare:
        given = given[:-1] + RARE_CHARACTERS[int(rnd() * len(RARE_CHARACTERS))]
    return surname + given


def _masked_account(serial: int, add: int) -> str:
    digits = f"{(_ACCOUNT_MULT * serial + add) % 100_000_000:08d}"
    return digits[:4] + "********" + digits[4:]


def _cert_no(region: str, serial: int, add: int) -> str:
    return f"{region[:2]}不动产权第{(_CERT_MULT * serial + add) % 10_000_000:07d}号"


# ---------------------------------------------------------------- plan shared with workers


@dataclass(frozen=True)
class Plan:
    """Everything a worker needs; small and picklable."""

    seed: int
    start: date
    n_random: int
    dirty_ratio: float
    regions: tuple[Region, ...]
    s_fen: tuple[tuple[int, int], ...]  # per region: (urban, rural) DIBAO standard at start
    region_sums: tuple[int, ...]
    mult: int
    add: int

    @property
    def chunks(self) -> int:
        return -(-self.n_random // CHUNK_HOUSEHOLDS)

    def salt(self, label: str) -> int:
        digest = hashlib.sha256(f"{self.seed}:{label}".encode()).digest()
        return int.from_bytes(digest[:8], "big")


def make_plan(
    n_random: int,
    start: date,
    seed: int,
    dirty_ratio: float,
    regions: Sequence[Region],
    standards: Standards,
) -> Plan:
    s_fen = []
    for region in regions:
        pair = []
        for ur in (URBAN, RURAL):
            standard = standards.dibao(region.city, ur, start)
            pair.append(_fen(standard) if standard is not None else 60000)
        s_fen.append((pair[0], pair[1]))
    limit = min(MAX_RANDOM_HOUSEHOLDS, _ID_CAPACITY // 8 * len(regions))
    if n_random > limit:
        raise ValueError(
            f"at most {limit} households with {len(regions)} regions "
            "(unique id, account and certificate numbers)"
        )
    return Plan(
        seed,
        start,
        n_random,
        dirty_ratio,
        tuple(regions),
        tuple(s_fen),
        tuple(_digit_sums(r.code, WEIGHTS[:6]) for r in regions),
        _coprime_multiplier(n_random),
        seed * 7_919 % max(n_random, 1),
    )


# ---------------------------------------------------------------- events (day-to-day changes)

INCOME, ENROL_END, ENROL_NEW, PROP_ADD, PROP_CANCEL, DEATH, CLAIM = range(7)
_PROGRAMS = ("DIBAO", "TEKUN", "LINSHI")


def _count(rng: random.Random, expected: float) -> int:
    whole = int(expected)
    return whole + (1 if rng.random() < expected - whole else 0)


def day_events(plan: Plan, day: int) -> list[tuple[int, tuple]]:
    """Sparse changes of day ``day`` (index from start): [(household, event)]."""
    rng = random.Random(f"{plan.seed}:events:{day}")
    n, rnd = plan.n_random, rng.random
    events: list[tuple[int, tuple]] = []
    seen_deaths: set[tuple[int, int]] = set()
    for _ in range(_count(rng, n / 15000)):
        k, member = rng.randrange(n), int(rnd() * 8)
        v = rnd()
        delay = 0 if v < 0.5 else 1 + int(rnd() * 3) if v < 0.9 else 10 + int(rnd() * 80)
        if (k, member) not in seen_deaths:
            seen_deaths.add((k, member))
            events.append((k, (day, DEATH, member, delay)))
    if day == 0:
        return events
    for _ in range(_count(rng, n * 0.001)):
        events.append((rng.randrange(n), (day, INCOME, 600 + int(rnd() * 1000))))
    for _ in range(_count(rng, n * 0.0004)):
        events.append((rng.randrange(n), (day, ENROL_END, int(rnd() * 3), 1 + int(rnd() * 20))))
    for number in range(min(9999, _count(rng, n * 0.0004))):
        program = 0 if rnd() < 0.7 else 1 if rnd() < 0.3 else 2
        events.append((rng.randrange(n), (day, ENROL_NEW, program, number, int(rnd() * 3))))
    for number in range(min(499, _count(rng, n * 0.0003))):
        kind = 0 if rnd() < 0.7 else 1 + int(rnd() * 3)
        low, span = _AREA_RANGES[kind]
        events.append((rng.randrange(n), (day, PROP_ADD, kind, number, low + int(rnd() * span))))
    for _ in range(_count(rng, n * 0.0003)):
        events.append((rng.randrange(n), (day, PROP_CANCEL, int(rnd() * 8))))
    for number in range(min(999_999, _count(rng, n * 0.0022))):
        v = rnd()
        lag = 0 if v < 0.5 else 1 + int(rnd() * 7) if v < 0.85 else 8 + int(rnd() * 40)
        total = int(20000 * math.exp(rnd() * 5.7))
        fund = int(total * (0.3 + 0.55 * rnd()))
        events.append(
            (
                rng.randrange(n),
                (
                    day,
                    CLAIM,
                    int(rnd() * 8),
                    number,
                    lag,
                    int(rnd() ** 2 * 20),
                    int(rnd() * len(_DIAGNOSES)),
                    1 + int(rnd() * 400),
                    total,
                    fund,
                ),
            )
        )
    return events


# ---------------------------------------------------------------- random households


class _House:
    """One household while it is being written (regenerated every day)."""

    __slots__ = (
        "accounts",
        "address",
        "assessed",
        "enrols",
        "hid",
        "income",
        "index",
        "people",
        "props",
        "region",
        "s",
        "urban",
    )

    def __init__(self) -> None:
        self.people: list[list] = []
        self.accounts: list[list] = []
        self.props: list[list] = []
        self.enrols: list[list] = []


@dataclass
class ChunkOutput:
    data: list[bytes]
    rows: list[int]
    pool: list[list] = field(default_factory=list)  # claims that may be corrected later


class ChunkWriter:
    """Rows of the random households of one chunk for one day."""

    def __init__(self, plan: Plan, chunk: int) -> None:
        self.plan = plan
        self.chunk = chunk
        self.d0 = plan.start.toordinal()
        self.year0 = plan.start.year
        self.account_add = plan.salt("accounts") % 100_000_000
        self.cert_add = plan.salt("certs") % 10_000_000
        self.id_add = (plan.salt("ids") + _ID_ADD) % _ID_CAPACITY
        self._prefixes: dict[tuple[int, int], tuple[str, int, str]] = {}

    # -- base population ------------------------------------------------------

    def households(self) -> Iterator[_House]:
        plan = self.plan
        rng = random.Random(f"{plan.seed}:base:{self.chunk}")
        first = self.chunk * CHUNK_HOUSEHOLDS
        previous: _House | None = None
        for index in range(first, min(first + CHUNK_HOUSEHOLDS, plan.n_random)):
            house = self._household(rng.random, index, previous)
            previous = house
            yield house

    def _household(self, rnd: Any, index: int, previous: _House | None) -> _House:
        plan = self.plan
        spread = (plan.mult * index + plan.add) % plan.n_random
        region_index, serial = spread % len(plan.regions), spread // len(plan.regions)
        region = plan.regions[region_index]
        house = _House()
        house.index = index
        house.hid = f"{region.code}{serial + 1:08d}"
        house.region = region_index
        house.urban = rnd() < 0.58
        house.s = plan.s_fen[region_index][0 if house.urban else 1]
        house.address = self._address(rnd, region)
        v = rnd()
        program = "TEKUN" if v < 0.05 else "DIBAO" if v < 0.32 else "LINSHI" if v < 0.35 else ""
        size = self._size(rnd, program)
        house.people = self._people(rnd, region_index, serial, size, program == "TEKUN")
        if previous is not None and rnd() < 0.003:
            borrowed = list(previous.people[0])
            borrowed[4], borrowed[9] = "其他", True
            house.people.append(borrowed)
        house.income = int(size * house.s * self._income_factor(rnd, program))
        house.assessed = _iso(self.d0 - 10 - int(rnd() * 700))
        house.enrols = self._enrolments(rnd, index, program, house.s, size, house.income)
        house.accounts = self._accounts(rnd, index, house.people, size)
        house.props = self._properties(rnd, index, region, size)
        return house

    @staticmethod
    def _address(rnd: Any, region: Region) -> str:
        street = _STREETS[int(rnd() * len(_STREETS))]
        number = 1 + int(rnd() * 980)
        v = rnd()
        if v < 0.03:
            return f"{region.name}{street}{number}号,{1 + int(v * 200)}单元"
        if v < 0.035:
            return f'{region.name}"{street}"{number}号'
        return f"{region.name}{street}{number}号"

    @staticmethod
    def _size(rnd: Any, program: str) -> int:
        v = rnd()
        if program == "TEKUN":
            return 1 if v < 0.75 else 2
        for size, limit in enumerate((0.27, 0.52, 0.73, 0.88, 0.96), start=1):
            if v < limit:
                return size
        return 6

    @staticmethod
    def _income_factor(rnd: Any, program: str) -> float:
        v = rnd()
        if program == "TEKUN":
            return 0.6 * v
        if program == "DIBAO":
            return 0.05 + 0.95 * rnd() if v < 0.95 else 1.0 + 0.3 * rnd()
        if v < 0.09:
            return 0.2 + 0.8 * rnd()
        if v < 0.32:
            return 1.0 + 0.5 * rnd()
        return 1.5 + 2.0 * rnd()

    def _people(
        self, rnd: Any, region_index: int, serial: int, size: int, tekun: bool
    ) -> list[list]:
        """[id18, name, gender, birth_iso, relation, disability, style, mask, year, borrowed]."""
        head_age = 60 + int(rnd() * 30) if tekun else 22 + int(rnd() * 60)
        head_male = rnd() < 0.55
        people = []
        for member in range(size):
            relation, age, male = self._relation(rnd, member, head_age, head_male)
            people.append(self._person(rnd, region_index, serial * 8 + member, age, male, relation))
        return people

    @staticmethod
    def _relation(rnd: Any, member: int, head_age: int, head_male: bool) -> tuple[str, int, bool]:
        if member == 0:
            return "户主", head_age, head_male
        v = rnd()
        if member == 1 and v < 0.8:
            return "配偶", max(18, head_age - 4 + int(rnd() * 9)), not head_male
        if v < 0.65 and head_age >= 38:
            return "子女", max(0, head_age - 20 - int(rnd() * 18)), rnd() < 0.5
        if v < 0.85 and head_age <= 62:
            return "父母", head_age + 22 + int(rnd() * 12), rnd() < 0.5
        return "其他", 3 + int(rnd() * 75), rnd() < 0.5

    def _person(
        self, rnd: Any, region_index: int, ordinal: int, age: int, male: bool, relation: str
    ) -> list:
        year = max(1900, self.year0 - 1 - age)
        prefix = self._prefixes.get((region_index, year))
        if prefix is None:
            prefix = self._prefixes[(region_index, year)] = (
                f"{self.plan.regions[region_index].code}{year}",
                self.plan.region_sums[region_index] + _YEAR_SUM[year],
                str(year),
            )
        day_of_year, s = divmod((_ID_MULT * ordinal + self.id_add) % _ID_CAPACITY, _RANDOM_SLOTS)
        seq = 2 * s + 1 if male else 2 * s
        id18 = (
            prefix[0]
            + _MD[day_of_year]
            + _SEQ_TEXT[seq]
            + CHECK_CHARS[(prefix[1] + _MD_SUM[day_of_year] + _SEQ_SUM[seq]) % 11]
        )
        name = _name(rnd, rnd() < 0.01)
        disability = 0 if rnd() < 0.92 else 1 + int(rnd() * 4)
        style, mask = CANONICAL, 0
        u = rnd()
        ratio = self.plan.dirty_ratio
        if u < ratio:
            v = u / ratio * 5
            style = 1 + int(v)
            mask = 1 + int((v - int(v)) * 63)
            if style == LEGACY15 and year >= 2000:
                style = FULL_WIDTH
            if style == LOWER_X and not id18.endswith("X"):
                style = PADDED
        return [
            id18,
            name,
            "男" if male else "女",
            prefix[2] + _MD_ISO[day_of_year],
            relation,
            disability,
            style,
            mask,
            year,
            False,
        ]

    def _enrolments(
        self, rnd: Any, index: int, program: str, s: int, size: int, income: int
    ) -> list[list]:
        """[enrollment_id, program, status, start_iso, end_iso, amount]."""
        rows: list[list] = []
        number = index * 4 + 1
        if rnd() < 0.12:
            begin = self.d0 - 800 - int(rnd() * 900)
            rows.append(
                [
                    f"E{number:09d}",
                    "DIBAO" if rnd() < 0.6 else "LINSHI",
                    "terminated",
                    _iso(begin),
                    _iso(begin + 60 + int(rnd() * 600)),
                    money(s),
                ]
            )
        if not program:
            return rows
        begin = self.d0 - 20 - int(rnd() * 1500)
        status = "active" if rnd() < 0.96 else "suspended"
        if program == "LINSHI":
            end = _iso(self.d0 + 10 + int(rnd() * 80))
            return [
                *rows,
                [
                    f"E{number + 1:09d}",
                    program,
                    status,
                    _iso(self.d0 - 30),
                    end,
                    money(50000 + int(rnd() * 150000)),
                ],
            ]
        amount = max(s * size - income, s // 10) if program == "DIBAO" else s
        return [*rows, [f"E{number + 1:09d}", program, status, _iso(begin), "", money(amount)]]

    def _accounts(self, rnd: Any, index: int, people: list[list], size: int) -> list[list]:
        """[bank, account_no, member, type, balance_fen]."""
        scale = 10 if rnd() < 0.05 else 1  # a few well-off households
        accounts = []
        add, banks = self.account_add, _BANKS
        for member in range(size):
            v = rnd()
            count = 0 if v < 0.14 else 1 if v < 0.58 else 2 if v < 0.83 else 3 if v < 0.95 else 4
            for j in range(count):
                w = rnd()
                if w < 0.6:
                    kind, fen = "D", 5000 + int(rnd() ** 2 * 600_000 * scale)
                elif w < 0.87:
                    kind, fen = "T", 100_000 + int(rnd() * (1_000_000 * 8 ** (scale > 1)))
                else:
                    kind, fen = "W", 500_000 + int(rnd() * 1_500_000 * scale)
                serial = (index * 8 + member) * 8 + j
                digits = f"{(_ACCOUNT_MULT * serial + add) % 100_000_000:08d}"
                accounts.append(
                    [banks[int(rnd() * 8)], digits[:4] + "********" + digits[4:], member, kind, fen]
                )
        return accounts

    def _properties(self, rnd: Any, index: int, region: Region, size: int) -> list[list]:
        """[cert_no, owners, type, area_str, region_code, registered_iso, cancelled_iso]."""
        v = rnd()
        count = 0 if v < 0.4 else 1 if v < 0.88 else 2 if v < 0.97 else 3
        props = []
        for j in range(count):
            w = rnd() if j == 0 else 0.5 + rnd() / 2  # further ones mostly not 住宅
            kind = 0 if w < 0.72 else 2 if w < 0.84 else 1 if w < 0.92 else 3
            low, span = _AREA_RANGES[kind]
            owners = [0, 1] if kind == 0 and size >= 2 and rnd() < 0.3 else [0]
            registered = self.d0 - 200 - int(rnd() * 8000)
            cancelled = ""
            if rnd() < 0.07:
                cancelled = _iso(registered + int((self.d0 - 1 - registered) * rnd()))
            props.append(
                [
                    _cert_no(region.code, index * 8 + j, self.cert_add),
                    owners,
                    _PROPERTY_TYPES[kind],
                    money(low + int(rnd() * span)),
                    region.code,
                    _iso(registered),
                    cancelled,
                ]
            )
        return props

    # -- one day ---------------------------------------------------------------

    def run(self, day: int, events: dict[int, list[tuple]]) -> ChunkOutput:
        plan = self.plan
        lists: list[list[str]] = [[] for _ in FORMATS]
        rows = [0] * len(FORMATS)
        pool: list[list] = []
        drift = random.Random(f"{plan.seed}:drift:{day}:{self.chunk}").random if day else None
        claims_rng = random.Random(f"{plan.seed}:claims:{self.chunk}") if day == 0 else None
        as_of = date.fromordinal(self.d0 + day).strftime("%Y%m%d")
        for house in self.households():
            self._apply(house, events.get(house.index, ()), day, lists, pool)
            self._emit(house, lists, drift, as_of)
            if claims_rng is not None:
                self._history(house, claims_rng.random, lists[CLAIMS], pool)
        data = []
        for index, spec in enumerate(FORMATS):
            rows[index] = len(lists[index])
            data.append("".join(lists[index]).encode(spec.encoding))
        return ChunkOutput(data, rows, pool)

    def _apply(
        self,
        house: _House,
        events: Iterable[tuple],
        day: int,
        lists: list[list[str]],
        pool: list[list],
    ) -> None:
        """Apply the household's events up to ``day``; write the deaths and claims of ``day``."""
        dead: set[int] = set()
        own = [m for m, p in enumerate(house.people) if not p[9]]
        for event in events:
            when, kind = event[0], event[1]
            if when > day:
                break
            at = self.d0 + when
            if kind == INCOME:
                house.income = house.income * event[2] // 1000
                house.assessed = _iso(at)
            elif kind == ENROL_END:
                self._end_enrolment(house, event[2], at, event[3])
            elif kind == ENROL_NEW:
                program = _PROGRAMS[event[2]]
                amount = house.s if program != "LINSHI" else 80000
                house.enrols.append(
                    [
                        f"E{800_000_000 + when * 10_000 + event[3]:09d}",
                        program,
                        "active",
                        _iso(at + event[4]),
                        "",
                        money(amount),
                    ]
                )
            elif kind == PROP_ADD:
                region = self.plan.regions[house.region]
                cert = _cert_no(region.code, 6_000_000 + when * 500 + event[3], self.cert_add)
                house.props.append(
                    [
                        cert,
                        [0],
                        _PROPERTY_TYPES[event[2]],
                        money(event[4]),
                        region.code,
                        _iso(at),
                        "",
                    ]
                )
            elif kind == PROP_CANCEL:
                held = [p for p in house.props if not p[6]]
                if held:
                    held[event[2] % len(held)][6] = _iso(at)
            elif kind == DEATH:
                member = own[event[2] % len(own)]
                if member not in dead:
                    dead.add(member)
                    if when == day:
                        person = house.people[member]
                        lists[DEATHS].append(
                            f"{self._spell(person, DEATHS)},{_iso(at - event[3])},{_iso(at)}\n"
                        )
            elif kind == CLAIM and when == day:
                member = own[event[2] % len(own)]
                if member not in dead:
                    self._new_claim(house.people[member], event, lists[CLAIMS], pool)

    @staticmethod
    def _end_enrolment(house: _House, mode: int, at: int, ahead: int) -> None:
        for row in house.enrols:
            if row[2] == "active" and row[1] != "LINSHI" and not row[4]:
                if mode == 0:
                    row[2], row[4] = "terminated", _iso(at)
                elif mode == 1:
                    row[2] = "suspended"
                else:
                    row[4] = _iso(at + ahead)

    def _new_claim(self, person: list, event: tuple, out: list[str], pool: list[list]) -> None:
        (when, _, _, number, lag, stay, diagnosis, hospital, total, fund) = event
        settled = self.d0 + when - lag
        row = [
            f"C{9_000_000_000 + when * 1_000_000 + number:010d}",
            1,
            self._spell(person, CLAIMS),
            f"H{hospital:04d}",
            _iso(settled - stay),
            _iso(settled),
            _DIAGNOSES[diagnosis],
            total,
            fund,
        ]
        out.append(claim_line(row))
        pool.append(row)

    @staticmethod
    def _spell(person: list, file_index: int) -> str:
        if person[7] and person[7] >> _MASK_BITS[file_index] & 1:
            return spell_id(person[0], person[6])
        return person[0]

    def _emit(self, house: _House, lists: list[list[str]], drift: Any, as_of: str) -> None:
        hid, people, spell = house.hid, house.people, self._spell
        region = self.plan.regions[house.region].code
        lists[HOUSEHOLDS].append(
            f"{hid},{region},{URBAN if house.urban else RURAL},{csv_field(house.address)},"
            f"{spell(people[0], HOUSEHOLDS)},{money(house.income)},{house.assessed}\r\n"
        )
        out = lists[PERSONS]
        for p in people:
            pid = spell(p, PERSONS) if p[7] else p[0]
            out.append(f"{hid},{pid},{p[1]},{p[2]},{p[3]},{p[4]},{p[5]}\r\n")
        out = lists[ENROLLMENTS]
        for e in house.enrols:
            out.append(f"{e[0]},{hid},{e[1]},{e[2]},{e[3]},{e[4]},{e[5]}\r\n")
        out = lists[PROPERTIES]
        for cert, owners, kind, area, code, registered, cancelled in house.props:
            for owner in owners:
                out.append(
                    f"{cert},{spell(people[owner], PROPERTIES)},{kind},{area},{code},"
                    f"{registered},{cancelled}\n"
                )
        out = lists[BALANCES]
        for bank, account, member, kind, delivered_fen in house.accounts:
            fen = delivered_fen
            if drift is not None and drift() < 0.05:
                fen = int(fen * (0.6 + 0.8 * drift()))
            p = people[member]
            pid = spell(p, BALANCES) if p[7] else p[0]
            out.append(f"{bank}|{account}|{pid}|{kind}|{fen}|{as_of}\n")

    def _history(self, house: _House, rnd: Any, out: list[str], pool: list[list]) -> None:
        """The first extract's 365 days of claims (settled in (D-365, D])."""
        for member, person in enumerate(house.people):
            v = rnd()
            count = 0 if v < 0.8 else 1 if v < 0.93 else 2 if v < 0.98 else 3
            if person[9]:
                continue
            for j in range(count):
                settled = self.d0 - int(rnd() * 365)
                total = int(20000 * math.exp(rnd() * 5.7))
                fund = int(total * (0.3 + 0.55 * rnd()))
                number = ((house.index * 8 + member) * 4 + j) + 1
                row = [
                    f"C{number:010d}",
                    1,
                    self._spell(person, CLAIMS),
                    f"H{1 + int(rnd() * 400):04d}",
                    _iso(settled - int(rnd() ** 2 * 20)),
                    _iso(settled),
                    _DIAGNOSES[int(rnd() * len(_DIAGNOSES))],
                    total,
                    fund,
                ]
                out.append(claim_line(row))
                if number % 53 == 0:
                    pool.append(row)


# bit of each file in a dirty person's mask (enrollments carry no id)
_MASK_BITS = (0, 1, 6, 2, 3, 4, 5)


def claim_line(row: Sequence[Any]) -> str:
    """[claim_id, version, id, hospital, admission, settlement, diagnosis, total, fund]."""
    total, fund = row[7], row[8]
    return (
        f"{row[0]},{row[1]},{row[2]},{row[3]},{row[4]},{row[5]},{row[6]},"
        f"{money(total)},{money(fund)},{money(total - fund)}\n"
    )


def _run_chunk(job: tuple[Plan, int, int, dict[int, list[tuple]]]) -> ChunkOutput:
    plan, chunk, day, events = job
    return ChunkWriter(plan, chunk).run(day, events)


# ---------------------------------------------------------------- scripted boundary cases


# Claims of the cases settle from D0-200 on: expectations hold for the first 160 days.
EXPECTATION_HORIZON = 160


@dataclass(frozen=True)
class Expectation:
    """What section 5 must give for one scripted household on days first..last."""

    household_id: str
    first_day: int
    last_day: int | None
    category: str | None  # None = not in the population
    alerts: frozenset[tuple[str, str]]  # (rule, normalised id_number or '' for household rules)


@dataclass
class Case:
    code: str
    title: str
    household_ids: list[str] = field(default_factory=list)
    expectations: list[Expectation] = field(default_factory=list)

    def expected(self, household_id: str, day: int) -> tuple[str | None, frozenset] | None:
        """(category, alerts) on day index ``day``; None past ``EXPECTATION_HORIZON``."""
        if day >= EXPECTATION_HORIZON:
            return None
        for e in self.expectations:
            if (
                e.household_id == household_id
                and e.first_day <= day
                and (e.last_day is None or day <= e.last_day)
            ):
                return e.category, e.alerts
        return None


@dataclass(frozen=True)
class Combo:
    region: str
    urban_rural: str
    s: int  # DIBAO standard in fen at the start date


@dataclass
class CasePerson:
    id18: str
    name: str
    gender: str
    birth: str


@dataclass
class CaseHouse:
    hid: str
    combo: Combo
    members: list[CasePerson]

    @property
    def s(self) -> int:
        return self.combo.s


Timed = tuple[int, int | None, str]  # (first day, last day or None, line without as_of)


class Script:
    """Builds the scripted households and their expectations (day k = start + k)."""

    def __init__(self, start: date, combos: list[Combo], dirty: bool, seed: int) -> None:
        self.start = start
        self.combos = combos
        self.dirty = dirty
        self.rows: list[list[Timed]] = [[] for _ in FORMATS]
        self.cases: list[Case] = []
        self._rng = random.Random(f"{seed}:script")
        self._people: dict[str, int] = {}
        self._counters = {"account": 0, "cert": 0, "claim": 0, "enrol": 0}
        self._add = (
            hashlib.sha256(f"{seed}:accounts".encode()).digest(),
            hashlib.sha256(f"{seed}:certs".encode()).digest(),
        )

    def day(self, k: int) -> str:
        return _iso(self.start.toordinal() + k)

    def next(self, counter: str) -> int:
        self._counters[counter] += 1
        return self._counters[counter]

    def spelled(self, person: CasePerson, style: int) -> str:
        return spell_id(person.id18, style) if self.dirty else person.id18

    # -- building blocks ------------------------------------------------------

    def case(self, code: str, title: str) -> Case:
        case = Case(code, title)
        self.cases.append(case)
        return case

    def person(self, region: str, year: int, male: bool) -> CasePerson:
        ordinal = self._people.get(region, 0)
        self._people[region] = ordinal + 1
        day_of_year = (ordinal // 10) % 365
        seq = 2 * (_RANDOM_SLOTS + ordinal % 10) + (1 if male else 0)
        first17 = f"{region}{year}{_MD[day_of_year]}{seq:03d}"
        rnd = self._rng.random
        name = _name(rnd, rnd() < 0.15)
        made = sum(self._people.values()) - 1
        if made < len(RARE_CHARACTERS):  # every rare character at least once
            name = name[:-1] + RARE_CHARACTERS[made]
        return CasePerson(
            first17 + check_char(first17),
            name,
            "男" if male else "女",
            f"{year}{_MD_ISO[day_of_year]}",
        )

    def house(
        self,
        case: Case,
        combo: Combo,
        size: int = 0,
        income: int = 0,
        members: Sequence[CasePerson] = (),
        spellings: dict[int, int] | None = None,
    ) -> CaseHouse:
        """A household of ``members`` plus ``size`` new adults; income in fen from day 0."""
        variant = len(case.household_ids)
        hid = f"{combo.region}99{int(case.code[1:]):03d}{variant:03d}"
        people = list(members) + [
            self.person(combo.region, 1958 + 3 * i + variant, i % 2 == 0) for i in range(size)
        ]
        house = CaseHouse(hid, combo, people)
        case.household_ids.append(hid)
        relations = ("户主", "配偶", "子女", "父母", "其他")
        for m, p in enumerate(people):
            pid = self.spelled(p, (spellings or {}).get(m, CANONICAL))
            line = f"{hid},{pid},{p.name},{p.gender},{p.birth},{relations[min(m, 4)]},0\r\n"
            self.rows[PERSONS].append((0, None, line))
        self.income(house, income)
        return house

    def income(self, house: CaseHouse, fen: int, first: int = 0, assessed: int = -90) -> None:
        rows = self.rows[HOUSEHOLDS]
        for i, (start, end, line) in enumerate(rows):
            if line.startswith(house.hid + ",") and end is None and start < first:
                rows[i] = (start, first - 1, line)
        head = house.members[0].id18
        address = csv_field(f"{house.combo.region}测试路{house.hid[-6:]}号")
        rows.append(
            (
                first,
                None,
                f"{house.hid},{house.combo.region},{house.combo.urban_rural},"
                f"{address},{head},{money(fen)},{self.day(assessed)}\r\n",
            )
        )

    def enrol(
        self,
        house: CaseHouse,
        program: str,
        status: str = "active",
        begin: int = -400,
        end: int | None = None,
        first: int = 0,
    ) -> None:
        eid = f"E{900_000_000 + self.next('enrol'):09d}"
        finish = self.day(end) if end is not None else ""
        line = (
            f"{eid},{house.hid},{program},{status},{self.day(begin)},{finish},{money(house.s)}\r\n"
        )
        self.rows[ENROLLMENTS].append((first, None, line))

    def prop(
        self,
        owners: Sequence[tuple[CasePerson, int]],
        kind: str = "住宅",
        registered: int = -2000,
        cancelled: int | None = None,
        first: int = 0,
        last: int | None = None,
        region: str = "210202",
        cert: str | None = None,
    ) -> str:
        """owners: (person, spelling style); one row per owner."""
        add = int.from_bytes(self._add[1][:8], "big") % 10_000_000
        cert = cert or _cert_no(region, 9_000_000 + self.next("cert"), add)
        gone = self.day(cancelled) if cancelled is not None else ""
        for person, style in owners:
            line = (
                f"{cert},{self.spelled(person, style)},{kind},88.50,{region},"
                f"{self.day(registered)},{gone}\n"
            )
            self.rows[PROPERTIES].append((first, last, line))
        return cert

    def account(
        self,
        person: CasePerson,
        fen: int,
        kind: str = "D",
        first: int = 0,
        last: int | None = None,
        style: int = CANONICAL,
        account: str | None = None,
    ) -> str:
        add = int.from_bytes(self._add[0][:8], "big") % 100_000_000
        account = account or _masked_account(90_000_000 + self.next("account"), add)
        line = f"ICBC|{account}|{self.spelled(person, style)}|{kind}|{fen}|"
        self.rows[BALANCES].append((first, last, line))
        return account

    def claim(
        self,
        person: CasePerson,
        settled: int,
        oop: int,
        day: int = 0,
        version: int = 1,
        claim_id: str | None = None,
        style: int = CANONICAL,
    ) -> str:
        claim_id = claim_id or f"C{8_000_000_000 + self.next('claim'):010d}"
        fund = 50000
        row = [
            claim_id,
            version,
            self.spelled(person, style),
            "H0999",
            self.day(settled - 3),
            self.day(settled),
            "I63.9",
            oop + fund,
            fund,
        ]
        self.rows[CLAIMS].append((day, day, claim_line(row)))
        return claim_id

    def death(self, person: CasePerson, died: int, day: int) -> None:
        line = f"{person.id18},{self.day(died)},{self.day(day)}\n"
        self.rows[DEATHS].append((day, day, line))

    @staticmethod
    def expect(
        case: Case,
        house: CaseHouse,
        category: str | None,
        alerts: Iterable[tuple[str, str]] = (),
        first: int = 0,
        last: int | None = None,
    ) -> None:
        case.expectations.append(Expectation(house.hid, first, last, category, frozenset(alerts)))

    def lines(self, file_index: int, day: int) -> list[str]:
        return [
            line
            for first, last, line in self.rows[file_index]
            if first <= day and (last is None or day <= last)
        ]


def _alert(rule: str, person: CasePerson | None = None) -> tuple[str, str]:
    return (rule, person.id18 if person else "")


def _income_cases(sc: Script, combo: Any) -> None:
    c = sc.case("C01", "PCI == S exactly (size 3, income 3S): A03, MARGINAL")
    h = sc.house(c, combo(), 3, 3 * combo().s)
    sc.expect(c, h, "MARGINAL", [_alert("A03")])
    c = sc.case("C02", "PCI = S + 1/3 fen (income 3S + 0.01): MARGINAL, no A03")
    h = sc.house(c, combo(), 3, 3 * combo().s + 1)
    sc.expect(c, h, "MARGINAL")
    c = sc.case("C03", "PCI == 1.5 S exactly (size 2, income 3S): MARGINAL")
    h = sc.house(c, combo(), 2, 3 * combo().s)
    sc.expect(c, h, "MARGINAL")
    c = sc.case("C04", "PCI = 1.5 S + 0.005 (income 3S + 0.01): no category")
    h = sc.house(c, combo(), 2, 3 * combo().s + 1)
    sc.expect(c, h, None)
    c = sc.case("C05", "APCI == S exactly (income 2S+200, OOP_365 2400.00): A04, MARGINAL")
    h = sc.house(c, combo(), 2, 2 * combo().s + 20000)
    sc.claim(h.members[0], -200, 100000)
    sc.claim(h.members[1], -100, 140000, style=IDEOGRAPHIC)
    sc.expect(c, h, "MARGINAL", [_alert("A04")])
    c = sc.case("C06", "APCI = S + 0.01 (OOP_365 2399.76): MARGINAL, no A04")
    h = sc.house(c, combo(), 2, 2 * combo().s + 20000)
    sc.claim(h.members[0], -200, 100000)
    sc.claim(h.members[1], -100, 139976)
    sc.expect(c, h, "MARGINAL")
    c = sc.case("C07", "APCI == 1.5 S exactly, PCI = 1.5 S + 50 (OOP_365 1200.00): RIGID_EXPENSE")
    h = sc.house(c, combo(), 2, 3 * combo().s + 10000)
    sc.claim(h.members[0], -150, 120000)
    sc.expect(c, h, "RIGID_EXPENSE")
    c = sc.case("C08", "APCI = 1.5 S + 0.01 (OOP_365 1199.76): no category")
    h = sc.house(c, combo(), 2, 3 * combo().s + 10000)
    sc.claim(h.members[0], -150, 119976)
    sc.expect(c, h, None)


def _asset_cases(sc: Script, combo: Any) -> None:
    c = sc.case("C09", "FA / size == 24 S exactly (FA = 48 S, one id full-width): A03")
    h = sc.house(c, combo(), 2, 2 * combo().s)
    total = 48 * h.s
    sc.account(h.members[0], total // 3, "D")
    sc.account(h.members[1], total - total // 3, "T", style=FULL_WIDTH)
    sc.expect(c, h, "MARGINAL", [_alert("A03")])
    c = sc.case("C10", "FA / size = 24 S + 0.005 (FA = 48 S + 1 fen): asset test fails")
    h = sc.house(c, combo(), 2, 2 * combo().s)
    sc.account(h.members[0], total // 3, "D")
    sc.account(h.members[1], total - total // 3 + 1, "W")
    sc.expect(c, h, None)
    c = sc.case("C11", "RP == 1: co-owned 住宅 + 商业 + 车位 + 其他 + cancelled 住宅: A03")
    h = sc.house(c, combo(), 2, 2 * combo().s)
    a, b = h.members
    sc.prop([(a, CANONICAL), (b, PADDED)], region=h.combo.region)
    sc.prop([(a, CANONICAL)], "商业", region=h.combo.region)
    sc.prop([(b, PADDED)], "车位", region=h.combo.region)
    sc.prop([(a, CANONICAL)], "其他", region=h.combo.region)
    sc.prop([(a, CANONICAL)], registered=-3000, cancelled=-400, region=h.combo.region)
    sc.expect(c, h, "MARGINAL", [_alert("A03")])
    c = sc.case("C12", "RP == 2 (two distinct 住宅): asset test fails")
    h = sc.house(c, combo(), 2, 2 * combo().s)
    sc.prop([(h.members[0], CANONICAL)], region=h.combo.region)
    sc.prop([(h.members[1], CANONICAL)], region=h.combo.region)
    sc.expect(c, h, None)
    c = sc.case("C13", "住宅 co-owned across two households; first also owns another: RP 2 / 1")
    first = sc.house(c, combo(), 2, 2 * combo().s)
    second = sc.house(c, combo(), 2, 2 * combo().s)
    sc.prop(
        [(first.members[0], CANONICAL), (second.members[0], CANONICAL)], region=first.combo.region
    )
    sc.prop([(first.members[1], CANONICAL)], region=first.combo.region)
    sc.expect(c, first, None)
    sc.expect(c, second, "MARGINAL", [_alert("A03")])
    c = sc.case("C14", "DIBAO with FA == 24 S x size exactly: no A02")
    h = sc.house(c, combo(), 2, combo().s)
    sc.enrol(h, "DIBAO")
    sc.account(h.members[0], 48 * h.s, "T")
    sc.expect(c, h, "DIBAO")
    c = sc.case("C15", "DIBAO with FA = 24 S x size + 0.01: A02")
    h = sc.house(c, combo(), 2, combo().s)
    sc.enrol(h, "DIBAO")
    sc.account(h.members[0], 48 * h.s + 1, "T")
    sc.expect(c, h, "DIBAO", [_alert("A02")])
    c = sc.case("C16", "TEKUN with RP == 2: A02")
    h = sc.house(c, combo(), 1, 0)
    sc.enrol(h, "TEKUN")
    sc.prop([(h.members[0], CANONICAL)], region=h.combo.region)
    sc.prop([(h.members[0], CANONICAL)], registered=-100, region=h.combo.region)
    sc.expect(c, h, "TEKUN", [_alert("A02")])


def _enrolment_cases(sc: Script, combo: Any) -> None:
    c = sc.case("C17", "DIBAO end_date == D0 (active on D0); from D0+1 not enrolled: A03")
    h = sc.house(c, combo(), 2, 2 * combo().s)
    sc.enrol(h, "DIBAO", begin=-400, end=0)
    sc.expect(c, h, "DIBAO", last=0)
    sc.expect(c, h, "MARGINAL", [_alert("A03")], first=1)
    c = sc.case("C18", "DIBAO start_date == D0 (+ an older terminated row): DIBAO")
    h = sc.house(c, combo(), 2, 2 * combo().s)
    sc.enrol(h, "DIBAO", "terminated", begin=-900, end=-1)
    sc.enrol(h, "DIBAO", begin=0)
    sc.expect(c, h, "DIBAO")
    c = sc.case("C19", "DIBAO start_date == D0+1: A03 on D0, DIBAO from D0+1")
    h = sc.house(c, combo(), 2, 2 * combo().s)
    sc.enrol(h, "DIBAO", begin=1)
    sc.expect(c, h, "MARGINAL", [_alert("A03")], last=0)
    sc.expect(c, h, "DIBAO", first=1)
    for code, status, title in (
        ("C20", "suspended", "suspended DIBAO is not enrolled: A03"),
        ("C21", "terminated", "terminated DIBAO, no end_date: A03"),
    ):
        c = sc.case(code, title)
        h = sc.house(c, combo(), 2, 2 * combo().s)
        sc.enrol(h, "DIBAO", status, begin=-300)
        sc.expect(c, h, "MARGINAL", [_alert("A03")])
    c = sc.case("C22", "LINSHI only is not enrolled: A03")
    h = sc.house(c, combo(), 2, 2 * combo().s)
    sc.enrol(h, "LINSHI", begin=-20)
    sc.expect(c, h, "MARGINAL", [_alert("A03")])
    c = sc.case("C23", "active TEKUN and DIBAO: category TEKUN")
    h = sc.house(c, combo(), 1, 0)
    sc.enrol(h, "DIBAO", begin=-700)
    sc.enrol(h, "TEKUN", begin=-200)
    sc.expect(c, h, "TEKUN")


def _people_cases(sc: Script, combo: Any) -> None:
    c = sc.case("C24", "person in a DIBAO and a TEKUN household (legacy 15-digit id in one): A05")
    cb = combo()
    p = sc.person(cb.region, 1965, True)
    first = sc.house(c, cb, 1, cb.s, members=[p])
    second = sc.house(c, combo(), 0, 0, members=[p], spellings={0: LEGACY15})
    sc.enrol(first, "DIBAO")
    sc.enrol(second, "TEKUN")
    sc.expect(c, first, "DIBAO", [_alert("A05", p)])
    sc.expect(c, second, "TEKUN", [_alert("A05", p)])
    c = sc.case("C25", "person in a DIBAO and a LINSHI-only household: no A05")
    cb = combo()
    q = sc.person(cb.region, 1970, False)
    first = sc.house(c, cb, 1, cb.s, members=[q])
    second = sc.house(c, combo(), 1, 4 * combo().s, members=[q])
    sc.enrol(first, "DIBAO")
    sc.enrol(second, "LINSHI", begin=-20)
    sc.expect(c, first, "DIBAO")
    sc.expect(c, second, None)
    c = sc.case("C26", "dead person in a DIBAO and a TEKUN household: A01 for both, no A05")
    cb = combo()
    r = sc.person(cb.region, 1940, True)
    first = sc.house(c, cb, 1, cb.s, members=[r])
    second = sc.house(c, combo(), 1, 0, members=[r])
    sc.enrol(first, "DIBAO")
    sc.enrol(second, "TEKUN")
    sc.death(r, -3, 0)
    sc.expect(c, first, "DIBAO", [_alert("A01", r)])
    sc.expect(c, second, "TEKUN", [_alert("A01", r)])
    c = sc.case("C27", "deceased member of a DIBAO household (died and registered D0): A01")
    h = sc.house(c, combo(), 3, combo().s)
    sc.enrol(h, "DIBAO")
    sc.death(h.members[2], 0, 0)
    sc.expect(c, h, "DIBAO", [_alert("A01", h.members[2])])
    c = sc.case("C28", "TEKUN household whose members are all dead (size 0, rich): only A01")
    h = sc.house(c, combo(), 2, 0)
    sc.enrol(h, "TEKUN")
    sc.account(h.members[0], 100 * h.s * 100, "W")
    sc.death(h.members[0], -1, 0)
    sc.death(h.members[1], 0, 0)
    sc.expect(c, h, None, [_alert("A01", h.members[0]), _alert("A01", h.members[1])])
    c = sc.case("C29", "DIBAO member died D0-20, registered late on D0+1: A01 from D0+1")
    h = sc.house(c, combo(), 2, combo().s)
    sc.enrol(h, "DIBAO")
    sc.death(h.members[1], -20, 1)
    sc.expect(c, h, "DIBAO", last=0)
    sc.expect(c, h, "DIBAO", [_alert("A01", h.members[1])], first=1)
    c = sc.case("C30", "owner of one of two 住宅 dies on D0+1: RP 2 -> 1, size 3 -> 2: A03")
    h = sc.house(c, combo(), 3, 2 * combo().s)
    sc.prop([(h.members[2], CANONICAL)], region=h.combo.region)
    sc.prop([(h.members[1], CANONICAL)], region=h.combo.region)
    sc.death(h.members[2], 1, 1)
    sc.expect(c, h, None, last=0)
    sc.expect(c, h, "MARGINAL", [_alert("A03")], first=1)


def _claim_cases(sc: Script, combo: Any) -> None:
    c = sc.case("C31", "DIBAO with OOP_30 == 6 S exactly (settled D0-10): A06")
    h = sc.house(c, combo(), 2, combo().s)
    sc.enrol(h, "DIBAO")
    sc.claim(h.members[0], -10, 6 * h.s)
    sc.expect(c, h, "DIBAO", [_alert("A06")], last=19)
    sc.expect(c, h, "DIBAO", first=20)
    c = sc.case("C32", "TEKUN with OOP_30 = 6 S - 0.01: no A06")
    h = sc.house(c, combo(), 1, 0)
    sc.enrol(h, "TEKUN")
    sc.claim(h.members[0], -10, 6 * h.s - 1)
    sc.expect(c, h, "TEKUN")
    c = sc.case("C33", "RIGID_EXPENSE (APCI == 1.5 S) with OOP_30 == 6 S: no A06")
    h = sc.house(c, combo(), 1, 2 * combo().s)
    sc.claim(h.members[0], -5, 6 * h.s)
    sc.expect(c, h, "RIGID_EXPENSE")
    c = sc.case("C34", "claim 6 S settled D0-29: A06 on D0; on D0+1 it is D-30, outside")
    h = sc.house(c, combo(), 2, 3 * combo().s)
    sc.claim(h.members[0], -29, 6 * h.s)
    sc.expect(c, h, "MARGINAL", [_alert("A06")], last=0)
    sc.expect(c, h, "MARGINAL", first=1)
    c = sc.case("C35", "claim 6 S settled exactly D0-30: outside (D-30, D], no A06")
    h = sc.house(c, combo(), 2, 3 * combo().s)
    sc.claim(h.members[0], -30, 6 * h.s)
    sc.expect(c, h, "MARGINAL")
    c = sc.case("C36", "claim settled D0-364 gives APCI == S on D0 (A04); D-365 on D0+1")
    h = sc.house(c, combo(), 1, combo().s + 10000)
    sc.claim(h.members[0], -364, 120000)
    sc.expect(c, h, "MARGINAL", [_alert("A04")], last=0)
    sc.expect(c, h, "MARGINAL", first=1)
    c = sc.case("C37", "claim settled exactly D0-365 (sent with the history): outside, no A04")
    h = sc.house(c, combo(), 1, combo().s + 10000)
    sc.claim(h.members[0], -365, 120000)
    sc.expect(c, h, "MARGINAL")
    c = sc.case("C38", "claim 6 S settled on D0 itself: A06")
    h = sc.house(c, combo(), 2, 3 * combo().s)
    sc.claim(h.members[0], 0, 6 * h.s)
    sc.expect(c, h, "MARGINAL", [_alert("A06")], last=29)
    sc.expect(c, h, "MARGINAL", first=30)
    c = sc.case("C39", "claim 6 S settled on D0+1, sent on D0+1: A06 from D0+1")
    h = sc.house(c, combo(), 2, 3 * combo().s)
    sc.claim(h.members[0], 1, 6 * h.s, day=1)
    sc.expect(c, h, "MARGINAL", last=0)
    sc.expect(c, h, "MARGINAL", [_alert("A06")], first=1, last=30)
    sc.expect(c, h, "MARGINAL", first=31)
    c = sc.case("C40", "correction on D0+1 raises OOP to 6 S exactly (v2, same settlement)")
    h = sc.house(c, combo(), 2, 3 * combo().s)
    claim = sc.claim(h.members[0], -10, 6 * h.s - 10000)
    sc.claim(h.members[0], -10, 6 * h.s, day=1, version=2, claim_id=claim)
    sc.expect(c, h, "MARGINAL", last=0)
    sc.expect(c, h, "MARGINAL", [_alert("A06")], first=1, last=19)
    sc.expect(c, h, "MARGINAL", first=20)
    c = sc.case("C41", "correction on D0+1 lowers OOP from 6 S to 6 S - 0.01: A06 ends")
    h = sc.house(c, combo(), 2, 3 * combo().s)
    claim = sc.claim(h.members[0], -10, 6 * h.s)
    sc.claim(h.members[0], -10, 6 * h.s - 1, day=1, version=2, claim_id=claim)
    sc.expect(c, h, "MARGINAL", [_alert("A06")], last=0)
    sc.expect(c, h, "MARGINAL", first=1)


def _change_cases(sc: Script, combo: Any) -> None:
    c = sc.case("C42", "income re-assessed on D0+1 from PCI 1.5 S + 250 to PCI == S: A03")
    h = sc.house(c, combo(), 2, 3 * combo().s + 50000)
    sc.income(h, 2 * h.s, first=1, assessed=1)
    sc.expect(c, h, None, last=0)
    sc.expect(c, h, "MARGINAL", [_alert("A03")], first=1)
    c = sc.case("C43", "DIBAO balance 48 S, +1 fen on D0+1, back on D0+2: A02 on D0+1 only")
    h = sc.house(c, combo(), 2, combo().s)
    sc.enrol(h, "DIBAO")
    account = sc.account(h.members[0], 48 * h.s, "D", last=0)
    sc.account(h.members[0], 48 * h.s + 1, "D", first=1, last=1, account=account)
    sc.account(h.members[0], 48 * h.s, "D", first=2, account=account)
    sc.expect(c, h, "DIBAO", last=0)
    sc.expect(c, h, "DIBAO", [_alert("A02")], first=1, last=1)
    sc.expect(c, h, "DIBAO", first=2)
    c = sc.case("C44", "second 住宅 cancelled with cancelled_date == D0+1: RP 2 -> 1, A03")
    h = sc.house(c, combo(), 2, 2 * combo().s)
    region = h.combo.region
    sc.prop([(h.members[0], CANONICAL)], region=region)
    cert = sc.prop([(h.members[1], CANONICAL)], registered=-500, last=0, region=region)
    sc.prop(
        [(h.members[1], CANONICAL)], registered=-500, cancelled=1, first=1, cert=cert, region=region
    )
    sc.expect(c, h, None, last=0)
    sc.expect(c, h, "MARGINAL", [_alert("A03")], first=1)
    c = sc.case("C45", "DIBAO gains a second 住宅 registered D0+1: A02 from D0+1")
    h = sc.house(c, combo(), 1, 0)
    sc.enrol(h, "DIBAO")
    sc.prop([(h.members[0], CANONICAL)], region=h.combo.region)
    sc.prop([(h.members[0], CANONICAL)], registered=1, first=1, region=h.combo.region)
    sc.expect(c, h, "DIBAO", last=0)
    sc.expect(c, h, "DIBAO", [_alert("A02")], first=1)


def _standard_cases(sc: Script, changing: list[tuple[Combo, int, int, int, int | None]]) -> None:
    """A new standard effective on D_k (k >= 0): PCI == new S from that day."""
    for number, (combo, k, old, new, until) in enumerate(changing):
        c = sc.case(
            f"C{46 + number}",
            f"standard of {combo.region[:4]}00 {combo.urban_rural} "
            f"changes to {money(new)} on D0+{k}: PCI == new S",
        )
        h = sc.house(c, combo, 1, new)
        before: tuple[str | None, list] = (None, [])
        if old and new <= old:
            before = ("MARGINAL", [_alert("A03")])
        elif old and 2 * new <= 3 * old:
            before = ("MARGINAL", [])
        if k > 0:
            sc.expect(c, h, before[0], before[1], last=k - 1)
        sc.expect(c, h, "MARGINAL", [_alert("A03")], first=k, last=until)


def _combos(
    regions: Sequence[Region],
    standards: Standards,
    start: date,
    last: date,
) -> tuple[list[Combo], list[tuple[Combo, int, int, int, int | None]]]:
    """Stable (city, urban_rural) combos for the cases, and those whose standard changes."""
    stable, changing, seen = [], [], set()
    for region in regions:
        for ur in (URBAN, RURAL):
            if (region.city, ur) in seen:
                continue
            seen.add((region.city, ur))
            standard = standards.dibao(region.city, ur, start)
            changes = standards.changes(region.city, ur, start, last)
            if changes:
                k = (changes[0] - start).days
                until = (changes[1] - start).days - 1 if len(changes) > 1 else None
                old = standards.dibao(region.city, ur, changes[0] - timedelta(days=1))
                new = standards.dibao(region.city, ur, changes[0])
                if new is not None:
                    changing.append(
                        (
                            Combo(region.code, ur, _fen(new)),
                            k,
                            _fen(old) if old is not None else 0,
                            _fen(new),
                            until,
                        )
                    )
            elif standard is not None and standard >= 200:
                stable.append(Combo(region.code, ur, _fen(standard)))
    if not stable:
        raise ValueError("no (city, urban_rural) with a stable DIBAO standard for the cases")
    return stable, changing


def scripted_cases(
    start: date,
    days: int,
    seed: int = 7,
    dirty_ratio: float = DEFAULT_DIRTY_RATIO,
    regions_csv: Path = DEFAULT_REGIONS_CSV,
    standards_csv: Path = DEFAULT_STANDARDS_CSV,
) -> Script:
    """The scripted boundary households (also written by ``generate``)."""
    regions = load_regions(regions_csv)
    standards = Standards.load(standards_csv)
    stable, changing = _combos(regions, standards, start, start + timedelta(days=days - 1))
    sc = Script(start, stable, dirty_ratio > 0, seed)

    def combo() -> Combo:  # the same for every call within one case
        return stable[(len(sc.cases) - 1) % len(stable)]

    for build in (
        _income_cases,
        _asset_cases,
        _enrolment_cases,
        _people_cases,
        _claim_cases,
        _change_cases,
    ):
        build(sc, combo)
    _standard_cases(sc, changing)
    return sc


def scripted_household_count(script: Script) -> int:
    return len({hid for case in script.cases for hid in case.household_ids})


# ---------------------------------------------------------------- writing


class _Sink:
    """One data file being written: bytes, sha256 and row count."""

    def __init__(self, path: Path, spec: FileFormat) -> None:
        self.path = path
        self.handle: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed by close()
        self.sha = hashlib.sha256()
        self.rows = 0
        self.write(spec.header_bytes(), 0)

    def write(self, data: bytes, rows: int) -> None:
        if data:
            self.handle.write(data)
            self.sha.update(data)
        self.rows += rows

    def close(self) -> dict[str, Any]:
        self.handle.close()
        return {"name": self.path.name, "rows": self.rows, "sha256": self.sha.hexdigest()}


def write_manifest(
    folder: Path, source: str, extract_date: str, files: list[dict[str, Any]]
) -> Path:
    document = {"source": source, "extract_date": extract_date, "files": files}
    path = folder / MANIFEST
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(document), encoding="utf-8")
    tmp.replace(path)
    return path


class _Day:
    """All seven files of one extract date, open for writing."""

    def __init__(self, out_dir: Path, day: date) -> None:
        self.day = day
        self.folders: dict[str, Path] = {}
        self.sinks: list[_Sink] = []
        for source in SOURCES:
            folder = Path(out_dir) / source / day.isoformat()
            folder.mkdir(parents=True, exist_ok=True)
            (folder / MANIFEST).unlink(missing_ok=True)
            self.folders[source] = folder
        for spec in FORMATS:
            self.sinks.append(_Sink(self.folders[spec.source] / spec.file_name(day), spec))

    def write_chunk(self, output: ChunkOutput) -> None:
        for index, sink in enumerate(self.sinks):
            sink.write(output.data[index], output.rows[index])

    def write_lines(self, index: int, lines: list[str]) -> None:
        text = "".join(lines)
        self.sinks[index].write(text.encode(FORMATS[index].encoding), len(lines))

    def finish(self) -> dict[str, int]:
        files = [sink.close() for sink in self.sinks]
        for source in SOURCES:
            listed = [f for f, spec in zip(files, FORMATS, strict=True) if spec.source == source]
            write_manifest(self.folders[source], source, self.day.isoformat(), listed)
        return {f["name"]: f["rows"] for f in files}


def _corrections(plan: Plan, day: int, pool: list[list], new_claims: int) -> list[str]:
    """Re-sent claims: same claim_id and settlement_date, version + 1, new amounts."""
    if not pool or day == 0:
        return []
    rng = random.Random(f"{plan.seed}:corrections:{day}")
    lines = []
    for _ in range(max(1, new_claims // 10)):
        row = pool[rng.randrange(len(pool))]
        row[1] += 1
        row[7] = max(row[8], int(row[7] * (0.9 + 0.2 * rng.random())))
        lines.append(claim_line(row))
    return lines


class _Events:
    """Day events by chunk and household: changes accumulate, new claims last one day."""

    def __init__(self) -> None:
        self.lasting: dict[int, dict[int, list[tuple]]] = {}
        self.today: dict[int, dict[int, list[tuple]]] = {}

    def add(self, events: list[tuple[int, tuple]]) -> None:
        self.today = {}
        for household, event in events:
            store = self.today if event[1] == CLAIM else self.lasting
            chunk = store.setdefault(household // CHUNK_HOUSEHOLDS, {})
            chunk.setdefault(household, []).append(event)

    def of(self, chunk: int) -> dict[int, list[tuple]]:
        """The chunk's events in day order (today's claims after today's deaths)."""
        merged = dict(self.lasting.get(chunk, {}))
        for household, claims in self.today.get(chunk, {}).items():
            merged[household] = merged.get(household, []) + claims
        return merged


def _chunk_outputs(plan: Plan, day: int, events: _Events, pool_map: Any) -> Iterator[ChunkOutput]:
    jobs = ((plan, chunk, day, events.of(chunk)) for chunk in range(plan.chunks))
    yield from pool_map(_run_chunk, jobs)


def _write_day(
    out_dir: Path,
    plan: Plan,
    script: Script,
    day: int,
    events: _Events,
    claims_pool: list[list],
    pool_map: Any,
) -> dict[str, int]:
    extract = _Day(out_dir, plan.start + timedelta(days=day))
    new_claims: list[list] = []
    for output in _chunk_outputs(plan, day, events, pool_map):
        extract.write_chunk(output)
        (claims_pool if day == 0 else new_claims).extend(output.pool)
    extract.write_lines(CLAIMS, _corrections(plan, day, claims_pool, len(new_claims)))
    claims_pool.extend(new_claims)
    as_of = extract.day.strftime("%Y%m%d")
    for index in range(len(FORMATS)):
        lines = script.lines(index, day)
        if index == BALANCES:
            lines = [line + as_of + "\n" for line in lines]
        extract.write_lines(index, lines)
    return extract.finish()


def generate(
    out_dir: Path,
    households: int,
    start: date,
    days: int,
    seed: int = 7,
    *,
    dirty_ratio: float = DEFAULT_DIRTY_RATIO,
    regions_csv: Path = DEFAULT_REGIONS_CSV,
    standards_csv: Path = DEFAULT_STANDARDS_CSV,
    workers: int | None = None,
) -> dict[str, Any]:
    """Write ``days`` extract dates from ``start`` for ``households`` households.

    ``households`` includes the scripted boundary households. Returns
    {"households", "scripted_households", "days": {date: {file: rows}}}.
    """
    if days < 1:
        raise ValueError("days must be >= 1")
    if not 0 <= dirty_ratio <= 1:
        raise ValueError("dirty_ratio must be within [0, 1]")
    script = scripted_cases(start, days, seed, dirty_ratio, regions_csv, standards_csv)
    scripted = scripted_household_count(script)
    if households < scripted:
        raise ValueError(f"need at least {scripted} households (the scripted cases)")
    standards = Standards.load(standards_csv)
    cities = {s.city for s in standards.rows}
    regions = [r for r in load_regions(regions_csv) if r.city in cities]
    plan = make_plan(households - scripted, start, seed, dirty_ratio, regions, standards)
    summary: dict[str, Any] = {
        "households": households,
        "scripted_households": scripted,
        "days": {},
    }
    events, claims_pool = _Events(), []
    workers = min(workers or min(2, os.cpu_count() or 1), max(1, plan.chunks))
    context = get_context("fork") if workers > 1 else None
    pool = context.Pool(workers) if context else None
    try:
        pool_map = pool.imap if pool else map
        for day in range(days):
            events.add(day_events(plan, day))
            rows = _write_day(out_dir, plan, script, day, events, claims_pool, pool_map)
            summary["days"][(start + timedelta(days=day)).isoformat()] = rows
    finally:
        if pool:
            pool.close()
            pool.join()
    return summary


# ---------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m safetynet_dev.synth.generator",
        description="Write seeded synthetic landing extracts.",
    )
    parser.add_argument("--out", type=Path, required=True, help="landing directory")
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument("--start", type=date.fromisoformat, required=True)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--dirty-ratio",
        type=float,
        default=DEFAULT_DIRTY_RATIO,
        help="share of people spelled in accepted non-canonical forms (0 = none)",
    )
    parser.add_argument("--regions", type=Path, default=DEFAULT_REGIONS_CSV)
    parser.add_argument("--standards", type=Path, default=DEFAULT_STANDARDS_CSV)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument(
        "--list-cases", action="store_true", help="print the scripted boundary households and exit"
    )
    args = parser.parse_args(argv)
    if args.list_cases:
        script = scripted_cases(
            args.start, args.days, args.seed, args.dirty_ratio, args.regions, args.standards
        )
        for case in script.cases:
            print(f"{case.code}  {' '.join(case.household_ids)}  {case.title}")
        return 0
    summary = generate(
        args.out,
        args.households,
        args.start,
        args.days,
        args.seed,
        dirty_ratio=args.dirty_ratio,
        regions_csv=args.regions,
        standards_csv=args.standards,
        workers=args.workers,
    )
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
