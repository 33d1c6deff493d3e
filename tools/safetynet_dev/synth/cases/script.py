"""The builder of the scripted households: their rows in every file, day by day.

Scripted households have a household serial starting with ``99`` (ids with
sequence slots above the random population's, ``ids.RANDOM_SLOTS``), so they
never collide with random ones. Every row is ``(first day, last day or None,
line)``; ``Script.lines`` gives a file's lines of one day.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from safetynet import identity
from safetynet_dev.synth import ids
from safetynet_dev.synth.cases.outcomes import Case, Expectation
from safetynet_dev.synth.formats import (
    BALANCES,
    CLAIMS,
    DEATHS,
    ENROLLMENTS,
    FORMATS,
    HOUSEHOLDS,
    PERSONS,
    PROPERTIES,
    claim_line,
    csv_field,
    iso,
    money,
)
from safetynet_dev.synth.ids import CANONICAL
from safetynet_dev.synth.vocabulary import RARE_CHARACTERS, cert_no, masked_account, person_name


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
        return iso(self.start.toordinal() + k)

    def next(self, counter: str) -> int:
        self._counters[counter] += 1
        return self._counters[counter]

    def spelled(self, person: CasePerson, style: int) -> str:
        return ids.spell_id(person.id18, style) if self.dirty else person.id18

    # -- building blocks ------------------------------------------------------

    def case(self, code: str, title: str) -> Case:
        case = Case(code, title)
        self.cases.append(case)
        return case

    def person(self, region: str, year: int, male: bool) -> CasePerson:
        ordinal = self._people.get(region, 0)
        self._people[region] = ordinal + 1
        day_of_year = (ordinal // 10) % 365
        seq = 2 * (ids.RANDOM_SLOTS + ordinal % 10) + (1 if male else 0)
        first17 = f"{region}{year}{ids.MONTH_DAY[day_of_year]}{seq:03d}"
        rnd = self._rng.random
        name = person_name(rnd, rnd() < 0.15)
        made = sum(self._people.values()) - 1
        if made < len(RARE_CHARACTERS):  # every rare character at least once
            name = name[:-1] + RARE_CHARACTERS[made]
        return CasePerson(
            first17 + identity.check_char(first17),
            name,
            "男" if male else "女",
            f"{year}{ids.MONTH_DAY_ISO[day_of_year]}",
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
        cert = cert or cert_no(region, 9_000_000 + self.next("cert"), add)
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
        account = account or masked_account(90_000_000 + self.next("account"), add)
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
