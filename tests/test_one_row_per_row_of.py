"""The ``one_row_per_row_of`` generic dbt test (issue 23): a model of the run's date D
has exactly one row per row of its source on D. Real dbt against a real database: a
model that fans out (a join to a relation with a repeated key) fails with both counts,
one that loses a row fails, a one-to-one model passes, and the source's other dates
are not counted."""

from __future__ import annotations

from pathlib import Path

import dbt_probe
import pytest

from safetynet import warehouse
from tests.conftest import ROOT, Stack

pytestmark = pytest.mark.integration

GENERIC = ROOT / "dbt_project" / "tests" / "generic" / "one_row_per_row_of.sql"
MACROS = ROOT / "dbt_project" / "macros" / "run_parameters.sql"

# the source: 3 rows on D (2026-10-02), 2 on the day before
SOURCE = """select * from (values
    (date '2026-10-02', 1), (date '2026-10-02', 2), (date '2026-10-02', 3),
    (date '2026-10-01', 1), (date '2026-10-01', 2)
) as t(extract_date, k)"""
MODELS = {
    "source_rows": SOURCE,
    # k = 2 twice in the joined relation: 4 rows for 3
    "fanned_out": """select s.k, j.v from {{ ref('source_rows') }} s
        left join (values (1, 'a'), (2, 'b'), (2, 'c')) as j(k, v) on s.k = j.k
        where s.extract_date = date '2026-10-02'""",
    "one_lost": "select k from {{ ref('source_rows') }}"
    " where extract_date = date '2026-10-02' and k < 3",
    "one_each": """select s.k, j.v from {{ ref('source_rows') }} s
        left join (values (1, 'a'), (2, 'b')) as j(k, v) on s.k = j.k
        where s.extract_date = date '2026-10-02'""",
}
SCHEMA = "version: 2\nmodels:\n" + "".join(
    f"""  - name: {name}
    data_tests:
      - one_row_per_row_of:
          name: {name}__one_row_per_source_row
          arguments:
            source: ref('source_rows')
            date_column: extract_date
"""
    for name in ("fanned_out", "one_lost", "one_each")
)


def test_one_row_per_row_of_fails_on_fan_out_and_loss(stack: Stack, tmp_path: Path) -> None:
    project = dbt_probe.write_project(
        tmp_path / "probe",
        stack.url,
        "one_row_probe",
        MODELS,
        SCHEMA,
        generic_tests=[GENERIC],
        macros=[MACROS],
    )
    returncode, out = dbt_probe.build(project, "--vars", "{as_of_date: '2026-10-02'}")
    assert returncode == 1, out
    assert "Failure in test fanned_out__one_row_per_source_row" in out, out
    assert "Failure in test one_lost__one_row_per_source_row" in out, out
    assert "PASS one_each__one_row_per_source_row" in out, out
    with warehouse.connect(stack.url) as conn:
        for name, want in (("fanned_out", (4, 3)), ("one_lost", (2, 3))):
            rows = conn.execute(
                "select model_rows, source_rows"
                f" from probe_dbt_test__audit.{name}__one_row_per_source_row"
            ).fetchall()
            assert rows == [want], name
