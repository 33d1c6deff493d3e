"""The whole DAG on generated data agrees with the independent reference.

Several thousand households over three days, including the generator's
cases placed exactly on every boundary of contract section 5, run through
Airflow; the warehouse must equal tests/reference/rules.py for every rule
and category, and every day must leave raw tables, marts and a feed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from conftest import Stack, isolated_stack
from reference import rules as reference

from safetynet_dev.synth.cases import scripted_cases
from safetynet_dev.synth.generator import generate

pytestmark = pytest.mark.e2e

START = date(2026, 10, 1)
DAYS = [START + timedelta(days=i) for i in range(3)]


@pytest.fixture(scope="module")
def generated(local_stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("generated")
    with isolated_stack(local_stack, root, "t_generated", key="generated-key") as stack:
        generate(stack.landing, 3000, START, len(DAYS), seed=23)
        for day in DAYS:
            run = stack.run_dag(day.isoformat())
            assert run.returncode == 0, f"{day} failed:\n{run.stdout[-4000:]}"
        yield stack


@pytest.fixture(scope="module")
def expected(generated: Stack) -> reference.Result:
    return reference.compute(generated.landing, DAYS, generated.key)


def test_every_day_leaves_raw_tables_marts_and_feed(generated: Stack) -> None:
    for day in DAYS:
        raw = generated.query(
            "select count(*) from raw.bank_balances where extract_date = %s", (day,)
        )
        marts = generated.query(
            "select count(*) from marts.low_income_population where as_of_date = %s", (day,)
        )
        assert raw[0][0] > 0 and marts[0][0] > 0
        assert (generated.feed / day.isoformat() / "alerts.csv").exists()


def test_alerts_agree_with_the_reference(generated: Stack, expected: reference.Result) -> None:
    rows = set(
        generated.query(
            """select alert_date::text, rule_code, household_id, coalesce(person_key, ''),
                  case when is_new then 'true' else 'false' end from marts.monitoring_alerts"""
        )
    )
    assert rows == expected.alerts
    rules = Counter(rule for _, rule, *_ in rows)
    assert set(rules) == {"A01", "A02", "A03", "A04", "A05", "A06"}, rules


def test_population_agrees_with_the_reference(generated: Stack, expected: reference.Result) -> None:
    rows = set(
        generated.query(
            "select as_of_date::text, household_id, person_key, category "
            "from marts.low_income_population"
        )
    )
    assert rows == expected.population
    categories = Counter(row[3] for row in rows)
    assert set(categories) == {"TEKUN", "DIBAO", "MARGINAL", "RIGID_EXPENSE"}, categories


def test_boundary_cases_are_present(generated: Stack) -> None:
    script = scripted_cases(START, len(DAYS), seed=23)
    placed = {h for case in script.cases for h in case.household_ids}
    in_warehouse = {
        r[0]
        for r in generated.query("select distinct household_id from raw.civil_affairs_households")
    }
    assert placed and placed <= in_warehouse
