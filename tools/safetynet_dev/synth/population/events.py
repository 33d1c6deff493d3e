"""Day-to-day changes of the random households, and where they are kept.

Income re-assessments, enrollments ending, suspended and starting, properties
added and cancelled, deaths and new claims are sparse events drawn per day
from ``Random(f"{seed}:events:{day}")``. An event is a tuple
``(day, kind, ...)``; changes last from their day on, a claim is sent on its
day only.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from safetynet_dev.synth.population.plan import Plan
from safetynet_dev.synth.vocabulary import AREA_RANGES, DIAGNOSES

INCOME, ENROL_END, ENROL_NEW, PROP_ADD, PROP_CANCEL, DEATH, CLAIM = range(7)
PROGRAMS = ("DIBAO", "TEKUN", "LINSHI")
Event = tuple
Drawn = list[tuple[int, Event]]  # [(household index, event)]


def _count(rng: random.Random, expected: float) -> int:
    whole = int(expected)
    return whole + (1 if rng.random() < expected - whole else 0)


def day_events(plan: Plan, day: int) -> Drawn:
    """Sparse changes of day ``day`` (index from start): [(household, event)]."""
    rng = random.Random(f"{plan.seed}:events:{day}")
    events: Drawn = []
    _deaths(rng, plan.n_random, day, events)
    if day == 0:
        return events
    for draw in (
        _incomes,
        _enrolments_ending,
        _enrolments_new,
        _properties_added,
        _properties_cancelled,
        _claims,
    ):
        draw(rng, plan.n_random, day, events)
    return events


def _deaths(rng: random.Random, n: int, day: int, events: Drawn) -> None:
    """Registration delay: same day (half), 1-3 days, or 10-89 days (late)."""
    rnd = rng.random
    seen: set[tuple[int, int]] = set()
    for _ in range(_count(rng, n / 15000)):
        k, member = rng.randrange(n), int(rnd() * 8)
        v = rnd()
        delay = 0 if v < 0.5 else 1 + int(rnd() * 3) if v < 0.9 else 10 + int(rnd() * 80)
        if (k, member) not in seen:
            seen.add((k, member))
            events.append((k, (day, DEATH, member, delay)))


def _incomes(rng: random.Random, n: int, day: int, events: Drawn) -> None:
    rnd = rng.random
    for _ in range(_count(rng, n * 0.001)):
        events.append((rng.randrange(n), (day, INCOME, 600 + int(rnd() * 1000))))


def _enrolments_ending(rng: random.Random, n: int, day: int, events: Drawn) -> None:
    rnd = rng.random
    for _ in range(_count(rng, n * 0.0004)):
        events.append((rng.randrange(n), (day, ENROL_END, int(rnd() * 3), 1 + int(rnd() * 20))))


def _enrolments_new(rng: random.Random, n: int, day: int, events: Drawn) -> None:
    rnd = rng.random
    for number in range(min(9999, _count(rng, n * 0.0004))):
        program = 0 if rnd() < 0.7 else 1 if rnd() < 0.3 else 2
        events.append((rng.randrange(n), (day, ENROL_NEW, program, number, int(rnd() * 3))))


def _properties_added(rng: random.Random, n: int, day: int, events: Drawn) -> None:
    rnd = rng.random
    for number in range(min(499, _count(rng, n * 0.0003))):
        kind = 0 if rnd() < 0.7 else 1 + int(rnd() * 3)
        low, span = AREA_RANGES[kind]
        events.append((rng.randrange(n), (day, PROP_ADD, kind, number, low + int(rnd() * span))))


def _properties_cancelled(rng: random.Random, n: int, day: int, events: Drawn) -> None:
    rnd = rng.random
    for _ in range(_count(rng, n * 0.0003)):
        events.append((rng.randrange(n), (day, PROP_CANCEL, int(rnd() * 8))))


def _claims(rng: random.Random, n: int, day: int, events: Drawn) -> None:
    """New claims: settled 0-47 days before they are sent, costs log-uniform."""
    rnd = rng.random
    for number in range(min(999_999, _count(rng, n * 0.0022))):
        v = rnd()
        lag = 0 if v < 0.5 else 1 + int(rnd() * 7) if v < 0.85 else 8 + int(rnd() * 40)
        total = int(20000 * math.exp(rnd() * 5.7))
        fund = int(total * (0.3 + 0.55 * rnd()))
        household = rng.randrange(n)
        member, stay = int(rnd() * 8), int(rnd() ** 2 * 20)
        diagnosis, hospital = int(rnd() * len(DIAGNOSES)), 1 + int(rnd() * 400)
        claim = (day, CLAIM, member, number, lag, stay, diagnosis, hospital, total, fund)
        events.append((household, claim))


ByHousehold = dict[int, list[Event]]


class Events:
    """Day events by chunk and household: changes accumulate, new claims last one day."""

    def __init__(self, chunk_of: Callable[[int], int]) -> None:
        self.chunk_of = chunk_of
        self.lasting: dict[int, ByHousehold] = {}
        self.today: dict[int, ByHousehold] = {}

    def add(self, events: Drawn) -> None:
        self.today = {}
        for household, event in events:
            store = self.today if event[1] == CLAIM else self.lasting
            chunk = store.setdefault(self.chunk_of(household), {})
            chunk.setdefault(household, []).append(event)

    def of(self, chunk: int) -> ByHousehold:
        """The chunk's events in day order (today's claims after today's deaths)."""
        merged = dict(self.lasting.get(chunk, {}))
        for household, claims in self.today.get(chunk, {}).items():
            merged[household] = merged.get(household, []) + claims
        return merged
