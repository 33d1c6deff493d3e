"""One day of one chunk: its households with the day's events, as rows of the seven files.

``run_chunk`` is what a worker process does; its output is the chunk's bytes
per file (in the file's encoding), row counts, and the claims that later days
may correct (``corrections``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from safetynet_dev.synth import ids
from safetynet_dev.synth.formats import (
    BALANCES,
    CLAIMS,
    DEATHS,
    ENROLLMENTS,
    FORMATS,
    HOUSEHOLDS,
    PERSONS,
    PROPERTIES,
    RURAL,
    URBAN,
    claim_line,
    csv_field,
    iso,
    money,
)
from safetynet_dev.synth.population.events import (
    CLAIM,
    DEATH,
    ENROL_END,
    ENROL_NEW,
    INCOME,
    PROGRAMS,
    PROP_ADD,
    PROP_CANCEL,
    ByHousehold,
    Event,
)
from safetynet_dev.synth.population.households import House, Households, Row
from safetynet_dev.synth.population.plan import Plan
from safetynet_dev.synth.vocabulary import DIAGNOSES, PROPERTY_TYPES, cert_no

# bit of each file in a dirty person's mask (enrollments carry no id)
_MASK_BITS = (0, 1, 6, 2, 3, 4, 5)


@dataclass
class ChunkOutput:
    data: list[bytes]  # per file, encoded
    rows: list[int]
    pool: list[Row] = field(default_factory=list)  # claims that may be corrected later


def run_chunk(job: tuple[Plan, int, int, ByHousehold]) -> ChunkOutput:
    plan, chunk, day, events = job
    return ChunkWriter(plan, chunk).run(day, events)


def corrections(plan: Plan, day: int, pool: list[Row], new_claims: int) -> list[str]:
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


def _spell(person: Row, file_index: int) -> str:
    """The person's id as written in that file (a dirty person: some files only)."""
    if person[7] and person[7] >> _MASK_BITS[file_index] & 1:
        return ids.spell_id(person[0], person[6])
    return person[0]


class ChunkWriter:
    """Rows of the random households of one chunk for one day."""

    def __init__(self, plan: Plan, chunk: int) -> None:
        self.plan = plan
        self.chunk = chunk
        self.households = Households(plan, chunk)
        self.d0 = self.households.d0
        self._changes: dict[int, Callable[[House, Event, int], None]] = {
            INCOME: self._income,
            ENROL_END: self._enrolment_ends,
            ENROL_NEW: self._enrolment_starts,
            PROP_ADD: self._property_added,
            PROP_CANCEL: self._property_cancelled,
        }

    def run(self, day: int, events: ByHousehold) -> ChunkOutput:
        plan = self.plan
        lists: list[list[str]] = [[] for _ in FORMATS]
        pool: list[Row] = []
        drift = random.Random(f"{plan.seed}:drift:{day}:{self.chunk}").random if day else None
        claims_rng = random.Random(f"{plan.seed}:claims:{self.chunk}") if day == 0 else None
        as_of = date.fromordinal(self.d0 + day).strftime("%Y%m%d")
        for house in self.households:
            self._apply(house, events.get(house.index, ()), day, lists, pool)
            self._emit_civil_affairs(house, lists)
            self._emit_assets(house, lists, drift, as_of)
            if claims_rng is not None:
                self._history(house, claims_rng.random, lists[CLAIMS], pool)
        data = [
            "".join(lines).encode(spec.encoding) for lines, spec in zip(lists, FORMATS, strict=True)
        ]
        return ChunkOutput(data, [len(lines) for lines in lists], pool)

    # -- events ------------------------------------------------------------------

    def _apply(
        self,
        house: House,
        events: Iterable[Event],
        day: int,
        lists: list[list[str]],
        pool: list[Row],
    ) -> None:
        """Apply the household's events up to ``day``; write the deaths and claims of ``day``."""
        dead: set[int] = set()
        own = [m for m, p in enumerate(house.people) if not p[9]]
        for event in events:
            when, kind = event[0], event[1]
            if when > day:
                break
            if kind == DEATH:
                member = own[event[2] % len(own)]
                if member not in dead:
                    dead.add(member)
                    if when == day:
                        lists[DEATHS].append(self._death_line(house.people[member], event))
            elif kind == CLAIM:
                member = own[event[2] % len(own)]
                if when == day and member not in dead:
                    self._new_claim(house.people[member], event, lists[CLAIMS], pool)
            else:
                self._changes[kind](house, event, self.d0 + when)

    def _income(self, house: House, event: Event, at: int) -> None:
        house.income = house.income * event[2] // 1000
        house.assessed = iso(at)

    def _enrolment_ends(self, house: House, event: Event, at: int) -> None:
        """Mode 0: terminated today; 1: suspended; 2: an end date ``event[3]`` days ahead."""
        mode, ahead = event[2], event[3]
        for row in house.enrols:
            if row[2] == "active" and row[1] != "LINSHI" and not row[4]:
                if mode == 0:
                    row[2], row[4] = "terminated", iso(at)
                elif mode == 1:
                    row[2] = "suspended"
                else:
                    row[4] = iso(at + ahead)

    def _enrolment_starts(self, house: House, event: Event, at: int) -> None:
        when, _, program_index, number, delay = event
        program = PROGRAMS[program_index]
        amount = house.s if program != "LINSHI" else 80000
        enrollment_id = f"E{800_000_000 + when * 10_000 + number:09d}"
        house.enrols.append([enrollment_id, program, "active", iso(at + delay), "", money(amount)])

    def _property_added(self, house: House, event: Event, at: int) -> None:
        when, _, kind, number, area = event
        region = self.plan.regions[house.region]
        cert = cert_no(region.code, 6_000_000 + when * 500 + number, self.households.cert_add)
        house.props.append([cert, [0], PROPERTY_TYPES[kind], money(area), region.code, iso(at), ""])

    def _property_cancelled(self, house: House, event: Event, at: int) -> None:
        held = [p for p in house.props if not p[6]]
        if held:
            held[event[2] % len(held)][6] = iso(at)

    def _death_line(self, person: Row, event: Event) -> str:
        at = self.d0 + event[0]
        return f"{_spell(person, DEATHS)},{iso(at - event[3])},{iso(at)}\n"

    def _new_claim(self, person: Row, event: Event, out: list[str], pool: list[Row]) -> None:
        (when, _, _, number, lag, stay, diagnosis, hospital, total, fund) = event
        settled = self.d0 + when - lag
        row = [
            f"C{9_000_000_000 + when * 1_000_000 + number:010d}",
            1,
            _spell(person, CLAIMS),
            f"H{hospital:04d}",
            iso(settled - stay),
            iso(settled),
            DIAGNOSES[diagnosis],
            total,
            fund,
        ]
        out.append(claim_line(row))
        pool.append(row)

    # -- rows --------------------------------------------------------------------

    def _emit_civil_affairs(self, house: House, lists: list[list[str]]) -> None:
        hid, people = house.hid, house.people
        region = self.plan.regions[house.region].code
        lists[HOUSEHOLDS].append(
            f"{hid},{region},{URBAN if house.urban else RURAL},{csv_field(house.address)},"
            f"{_spell(people[0], HOUSEHOLDS)},{money(house.income)},{house.assessed}\r\n"
        )
        out = lists[PERSONS]
        for p in people:
            pid = _spell(p, PERSONS) if p[7] else p[0]
            out.append(f"{hid},{pid},{p[1]},{p[2]},{p[3]},{p[4]},{p[5]}\r\n")
        out = lists[ENROLLMENTS]
        for e in house.enrols:
            out.append(f"{e[0]},{hid},{e[1]},{e[2]},{e[3]},{e[4]},{e[5]}\r\n")

    def _emit_assets(self, house: House, lists: list[list[str]], drift: Any, as_of: str) -> None:
        """Properties (one row per owner) and balances (drifting from day to day)."""
        people = house.people
        out = lists[PROPERTIES]
        for cert, owners, kind, area, code, registered, cancelled in house.props:
            for owner in owners:
                out.append(
                    f"{cert},{_spell(people[owner], PROPERTIES)},{kind},{area},{code},"
                    f"{registered},{cancelled}\n"
                )
        out = lists[BALANCES]
        for bank, account, member, kind, delivered_fen in house.accounts:
            fen = delivered_fen
            if drift is not None and drift() < 0.05:
                fen = int(fen * (0.6 + 0.8 * drift()))
            p = people[member]
            pid = _spell(p, BALANCES) if p[7] else p[0]
            out.append(f"{bank}|{account}|{pid}|{kind}|{fen}|{as_of}\n")

    def _history(self, house: House, rnd: Any, out: list[str], pool: list[Row]) -> None:
        """The first extract's 365 days of claims (settled in (D-365, D])."""
        for member, person in enumerate(house.people):
            v = rnd()
            count = 0 if v < 0.8 else 1 if v < 0.93 else 2 if v < 0.98 else 3
            if person[9]:
                continue
            for j in range(count):
                number = ((house.index * 8 + member) * 4 + j) + 1
                row = self._past_claim(rnd, person, number)
                out.append(claim_line(row))
                if number % 53 == 0:
                    pool.append(row)

    def _past_claim(self, rnd: Any, person: Row, number: int) -> Row:
        settled = self.d0 - int(rnd() * 365)
        total = int(20000 * math.exp(rnd() * 5.7))
        fund = int(total * (0.3 + 0.55 * rnd()))
        hospital = f"H{1 + int(rnd() * 400):04d}"
        admitted = iso(settled - int(rnd() ** 2 * 20))
        diagnosis = DIAGNOSES[int(rnd() * len(DIAGNOSES))]
        claim_id = f"C{number:010d}"
        return [
            claim_id,
            1,
            _spell(person, CLAIMS),
            hospital,
            admitted,
            iso(settled),
            diagnosis,
            total,
            fund,
        ]
