"""What contract section 5 must give for the scripted households, day by day.

A ``Case`` is one boundary of the rules (e.g. "PCI == S exactly"): its
households and, for each, the category and alerts expected on a range of
days. ``tests/test_generator.py`` and ``tests/test_pipeline_generated.py``
hold the reference rules and the warehouse to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
