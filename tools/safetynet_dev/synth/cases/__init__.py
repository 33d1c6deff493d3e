"""The scripted boundary households and what the rules must give for them.

The one home of the boundary cases outside the runtime: the generator writes
them (``scripted_cases(...).lines``), the tests read their expectations
(``Case.expected``).
"""

from safetynet_dev.synth.cases.catalogue import (
    DEFAULT_DIRTY_RATIO,
    scripted_cases,
    scripted_household_count,
)
from safetynet_dev.synth.cases.outcomes import EXPECTATION_HORIZON, Case, Expectation
from safetynet_dev.synth.cases.script import Script

__all__ = [
    "DEFAULT_DIRTY_RATIO",
    "EXPECTATION_HORIZON",
    "Case",
    "Expectation",
    "Script",
    "scripted_cases",
    "scripted_household_count",
]
