"""The base population of one chunk: random households, regenerated every day.

Each day the chunk's households are made again from the same random streams
(nothing large is kept in memory) and the day's events are applied on top
(``population.day``).

Identifiers are unique by construction: a person's birth month/day and
sequence digits come from a bijection of (region, household, member) (birth
years by page beyond ``ids.ID_CAPACITY`` people a region: ``ids.birth_slot``),
so no two people share an id_number unless the generator means it (a person
borrowed into a second household). Account and certificate serials beyond the
first ``vocabulary.NARROW_HOUSEHOLDS`` households: ``vocabulary``. A small
share (``dirty_ratio``) of people are spelled in an accepted non-canonical form
in some files (``mask``: one bit per file).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from safetynet_dev.synth import ids
from safetynet_dev.synth.formats import iso, money
from safetynet_dev.synth.population.plan import Plan
from safetynet_dev.synth.reference import Region
from safetynet_dev.synth.vocabulary import (
    AREA_RANGES,
    BANKS,
    PROPERTY_TYPES,
    STREETS,
    account_serial,
    masked_account,
    person_name,
    property_cert,
)

Row = list[Any]


class House:
    """One household while it is being written.

    people:   [id18, name, gender, birth_iso, relation, disability, style, mask, year,
               borrowed]
    enrols:   [enrollment_id, program, status, start_iso, end_iso, amount]
    accounts: [bank, account_no, member, type, balance_fen]
    props:    [cert_no, owners (member indexes), type, area, region_code, registered_iso,
               cancelled_iso]
    """

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

    def __init__(self, index: int) -> None:
        self.index = index
        self.people: list[Row] = []
        self.accounts: list[Row] = []
        self.props: list[Row] = []
        self.enrols: list[Row] = []


class Households:
    """The random households of one chunk, as they are on the start date."""

    def __init__(self, plan: Plan, chunk: int) -> None:
        self.plan = plan
        self.chunk = chunk
        self.d0 = plan.start.toordinal()
        self.year0 = plan.start.year
        self.account_add = plan.salt("accounts") % 100_000_000
        self.cert_add = plan.salt("certs") % 10_000_000
        self.id_add = (plan.salt("ids") + ids.ID_ADD) % ids.ID_CAPACITY
        self._prefixes: dict[tuple[int, int], tuple[str, int, str]] = {}

    def __iter__(self) -> Iterator[House]:
        plan = self.plan
        rng = random.Random(f"{plan.seed}:base:{self.chunk}")
        first = self.chunk * plan.chunk_households
        previous: House | None = None
        for index in range(first, min(first + plan.chunk_households, plan.n_random)):
            house = self._household(rng.random, index, previous)
            previous = house
            yield house

    def _household(self, rnd: Any, index: int, previous: House | None) -> House:
        plan = self.plan
        spread = (plan.mult * index + plan.add) % plan.n_random
        region_index, serial = spread % len(plan.regions), spread // len(plan.regions)
        region = plan.regions[region_index]
        house = House(index)
        house.hid = f"{region.code}{serial + 1:08d}"
        house.region = region_index
        house.urban = rnd() < 0.58
        house.s = plan.s_fen[region_index][0 if house.urban else 1]
        house.address = _address(rnd, region)
        v = rnd()
        program = "TEKUN" if v < 0.05 else "DIBAO" if v < 0.32 else "LINSHI" if v < 0.35 else ""
        size = _size(rnd, program)
        house.people = self._people(rnd, region_index, serial, size, program == "TEKUN")
        if previous is not None and rnd() < 0.003:  # a person of the previous household too
            borrowed = list(previous.people[0])
            borrowed[4], borrowed[9] = "其他", True
            house.people.append(borrowed)
        house.income = int(size * house.s * _income_factor(rnd, program))
        house.assessed = iso(self.d0 - 10 - int(rnd() * 700))
        house.enrols = self._enrolments(rnd, index, program, house.s, size, house.income)
        house.accounts = self._accounts(rnd, index, size)
        house.props = self._properties(rnd, index, region, size)
        return house

    # -- people ----------------------------------------------------------------

    def _people(
        self, rnd: Any, region_index: int, serial: int, size: int, tekun: bool
    ) -> list[Row]:
        head_age = 60 + int(rnd() * 30) if tekun else 22 + int(rnd() * 60)
        head_male = rnd() < 0.55
        people = []
        for member in range(size):
            relation, age, male = _relation(rnd, member, head_age, head_male)
            people.append(self._person(rnd, region_index, serial * 8 + member, age, male, relation))
        return people

    def _person(
        self, rnd: Any, region_index: int, ordinal: int, age: int, male: bool, relation: str
    ) -> Row:
        page, day_of_year, s = ids.birth_slot(ordinal, self.id_add)
        year = max(ids.MIN_BIRTH_YEAR, self.year0 - 1 - age)
        year = ids.page_year(year, page, self.plan.id_pages)
        prefix, prefix_sum, year_text = self._prefix(region_index, year)
        id18 = ids.issue_id(prefix, prefix_sum, day_of_year, 2 * s + 1 if male else 2 * s)
        name = person_name(rnd, rnd() < 0.01)
        disability = 0 if rnd() < 0.92 else 1 + int(rnd() * 4)
        style, mask = self._spelling(rnd(), id18, year)
        birth = year_text + ids.MONTH_DAY_ISO[day_of_year]
        gender = "男" if male else "女"
        return [id18, name, gender, birth, relation, disability, style, mask, year, False]

    def _prefix(self, region_index: int, year: int) -> tuple[str, int, str]:
        """Region code + year, its weighted digit sum, the year's text (cached)."""
        key = (region_index, year)
        prefix = self._prefixes.get(key)
        if prefix is None:
            prefix = self._prefixes[key] = (
                f"{self.plan.regions[region_index].code}{year}",
                self.plan.region_sums[region_index] + ids.YEAR_SUM[year],
                str(year),
            )
        return prefix

    def _spelling(self, u: float, id18: str, year: int) -> tuple[int, int]:
        """(style, mask of the files spelled that way); canonical for most people."""
        ratio = self.plan.dirty_ratio
        if u >= ratio:
            return ids.CANONICAL, 0
        v = u / ratio * 5
        style = 1 + int(v)
        mask = 1 + int((v - int(v)) * 63)
        if style == ids.LEGACY15 and year >= 2000:
            style = ids.FULL_WIDTH
        if style == ids.LOWER_X and not id18.endswith("X"):
            style = ids.PADDED
        return style, mask

    # -- enrollments -------------------------------------------------------------

    def _enrolments(
        self, rnd: Any, index: int, program: str, s: int, size: int, income: int
    ) -> list[Row]:
        number = index * 4 + 1
        rows = [self._old_enrolment(rnd, number, s)] if rnd() < 0.12 else []
        if not program:
            return rows
        return [*rows, self._current_enrolment(rnd, number + 1, program, s, size, income)]

    def _old_enrolment(self, rnd: Any, number: int, s: int) -> Row:
        begin = self.d0 - 800 - int(rnd() * 900)
        program = "DIBAO" if rnd() < 0.6 else "LINSHI"
        end = iso(begin + 60 + int(rnd() * 600))
        return [f"E{number:09d}", program, "terminated", iso(begin), end, money(s)]

    def _current_enrolment(
        self, rnd: Any, number: int, program: str, s: int, size: int, income: int
    ) -> Row:
        begin = self.d0 - 20 - int(rnd() * 1500)
        status = "active" if rnd() < 0.96 else "suspended"
        if program == "LINSHI":
            end = iso(self.d0 + 10 + int(rnd() * 80))
            amount = money(50000 + int(rnd() * 150000))
            return [f"E{number:09d}", program, status, iso(self.d0 - 30), end, amount]
        amount_fen = max(s * size - income, s // 10) if program == "DIBAO" else s
        return [f"E{number:09d}", program, status, iso(begin), "", money(amount_fen)]

    # -- assets ------------------------------------------------------------------

    def _accounts(self, rnd: Any, index: int, size: int) -> list[Row]:
        scale = 10 if rnd() < 0.05 else 1  # a few well-off households
        accounts = []
        for member in range(size):
            v = rnd()
            count = 0 if v < 0.14 else 1 if v < 0.58 else 2 if v < 0.83 else 3 if v < 0.95 else 4
            for j in range(count):
                kind, fen = _balance(rnd, scale)
                account = masked_account(account_serial(index, member, j), self.account_add)
                accounts.append([BANKS[int(rnd() * 8)], account, member, kind, fen])
        return accounts

    def _properties(self, rnd: Any, index: int, region: Region, size: int) -> list[Row]:
        v = rnd()
        count = 0 if v < 0.4 else 1 if v < 0.88 else 2 if v < 0.97 else 3
        props = []
        for j in range(count):
            w = rnd() if j == 0 else 0.5 + rnd() / 2  # further ones mostly not 住宅
            kind = 0 if w < 0.72 else 2 if w < 0.84 else 1 if w < 0.92 else 3
            low, span = AREA_RANGES[kind]
            owners = [0, 1] if kind == 0 and size >= 2 and rnd() < 0.3 else [0]
            registered = self.d0 - 200 - int(rnd() * 8000)
            cancelled = ""
            if rnd() < 0.07:
                cancelled = iso(registered + int((self.d0 - 1 - registered) * rnd()))
            cert = property_cert(region.code, index, j, self.cert_add)
            area = money(low + int(rnd() * span))
            kind_name = PROPERTY_TYPES[kind]
            props.append([cert, owners, kind_name, area, region.code, iso(registered), cancelled])
        return props


def _address(rnd: Any, region: Region) -> str:
    """Some addresses hold a comma or quotes (the CSV must quote them)."""
    street = STREETS[int(rnd() * len(STREETS))]
    number = 1 + int(rnd() * 980)
    v = rnd()
    if v < 0.03:
        return f"{region.name}{street}{number}号,{1 + int(v * 200)}单元"
    if v < 0.035:
        return f'{region.name}"{street}"{number}号'
    return f"{region.name}{street}{number}号"


def _size(rnd: Any, program: str) -> int:
    v = rnd()
    if program == "TEKUN":
        return 1 if v < 0.75 else 2
    for size, limit in enumerate((0.27, 0.52, 0.73, 0.88, 0.96), start=1):
        if v < limit:
            return size
    return 6


def _income_factor(rnd: Any, program: str) -> float:
    """Household income as a multiple of size x the DIBAO standard."""
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


def _balance(rnd: Any, scale: int) -> tuple[str, int]:
    """(account type, balance in fen): demand, time or wealth-management."""
    w = rnd()
    if w < 0.6:
        return "D", 5000 + int(rnd() ** 2 * 600_000 * scale)
    if w < 0.87:
        return "T", 100_000 + int(rnd() * (1_000_000 * 8 ** (scale > 1)))
    return "W", 500_000 + int(rnd() * 1_500_000 * scale)
