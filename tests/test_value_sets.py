"""Checks read their lists of values from one home (quality/value_sets.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from safetynet.config import checks_dir
from safetynet.quality import gate, value_sets

pytestmark = pytest.mark.unit


def _checks() -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in sorted(checks_dir().rglob("*.yml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        found += [(path, check) for check in spec.get("checks") or []]
    return found


def _homes() -> list[list[str]]:
    references = [c["value_set_of"] for _, c in _checks() if "value_set_of" in c]
    return [value_sets.resolve(r) for r in references]


def test_every_reference_resolves_to_a_list() -> None:
    homes = _homes()
    assert len(homes) >= 10 and all(homes)


def test_no_check_copies_a_list_that_has_a_home() -> None:
    """A literal value_set equal (as a set) to a list with a home is a second copy."""
    homes = [set(h) for h in _homes()] + [set(value_sets.resolve("dbt.low_income_categories"))]
    copies = [
        f"{path.name}: {check['value_set']}"
        for path, check in _checks()
        if isinstance(check.get("value_set"), list) and set(check["value_set"]) in homes
    ]
    assert not copies


def test_the_expectation_gets_the_values_of_the_home() -> None:
    check = {
        "expect": "expect_column_values_to_be_in_set",
        "column": "gender",
        "value_set_of": "raw.civil_affairs_persons.gender",
        "severity": "critical",
    }
    expectation = gate.build_expectation(check, {})
    assert list(expectation.value_set) == ["男", "女"]


@pytest.mark.parametrize("reference", ["raw.civil_affairs_persons.name", "dbt.k_assets", "x"])
def test_a_reference_to_no_list_is_a_clear_error(reference: str) -> None:
    with pytest.raises(ValueError, match="value_set_of"):
        value_sets.resolve(reference)
