"""The ``column_values`` generic dbt test (issue 23): one test node per model for
its not_null, unique, accepted_values, unique-combination and expression checks.
Real dbt against a real database: a model with a null, a duplicate, an unaccepted
value and a broken rule fails with one row per broken check (each naming its
column or rule and its check), a clean model passes, and the ``where`` config
limits the checked rows as for dbt's own tests."""

from __future__ import annotations

from pathlib import Path

import dbt_probe
import pytest

from safetynet import warehouse
from tests.conftest import ROOT, Stack

pytestmark = pytest.mark.integration

MACRO = ROOT / "dbt_project" / "tests" / "generic" / "column_values.sql"

MODELS = {
    # bad rows: k=2 twice (unique, also with batch), a null name (not_null),
    # kind 'x' (accepted_values), k=3 (rule k < 3)
    "people": """select * from (values
        (1, 'a', 'good', 1), (2, 'b', 'good', 1), (2, null, 'x', 1),
        (3, 'c', null, 1), (4, null, 'x', 9)
    ) as t(k, name, kind, batch)""",
    "clean": "select * from (values (1, 'a', 'good'), (2, 'b', 'bad')) as t(k, name, kind)",
}

SCHEMA = """version: 2
models:
  - name: people
    data_tests:
      - column_values:
          name: people__column_values
          arguments:
            not_null: [k, name]
            unique: [k]
            accepted_values:
              - column: kind
                values: ["good", "bad"]
            unique_combinations:
              - [k, batch]
            expressions:
              - name: people_k_positive
                expression: "k > 0"
              - name: people_k_below_3
                expression: "k < 3"
          config:
            where: "batch = 1"
  - name: clean
    data_tests:
      - column_values:
          name: clean__column_values
          arguments:
            not_null: [k, name, kind]
            unique: [k, name]
            accepted_values:
              - column: kind
                values: ["good", "bad"]
            unique_combinations:
              - [k, name]
            expressions:
              - name: clean_k_positive
                expression: "k > 0"
"""


def test_column_values_fails_per_broken_check_and_passes_clean(
    stack: Stack, tmp_path: Path
) -> None:
    returncode, out = dbt_probe.build(
        dbt_probe.write_project(
            tmp_path / "probe",
            stack.url,
            "column_values_probe",
            MODELS,
            SCHEMA,
            generic_tests=[MACRO],
        )
    )
    assert returncode == 1, out
    # batch 9 (a second null name, kind x, k=4) is outside the `where`: 5 rows, not 7
    assert "Failure in test people__column_values" in out, out
    assert "Got 5 results, configured to fail if != 0" in out, out
    assert "PASS clean__column_values" in out, out
    with warehouse.connect(stack.url) as conn:
        rows = conn.execute(
            "select column_name, check_name, value, n_records"
            " from probe_dbt_test__audit.people__column_values order by 1, 2, 3"
        ).fetchall()
    assert rows == [
        ("k", "unique", "2", 2),
        ("k, batch", "unique_combination", "2, 1", 2),
        ("kind", "accepted_values", "x", 1),
        ("name", "not_null", None, 1),
        ("people_k_below_3", "expression_is_true", None, 1),
    ]
