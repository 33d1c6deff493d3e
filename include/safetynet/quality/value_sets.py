"""Lists of allowed values for the checks, read from their one home.

A check in ``expectations/`` says ``value_set_of: <reference>`` instead of copying
a list the contract fixes:

- ``raw.<table>.<column>``: the ``enum`` values of that column in the loader's
  source specs (``ingest/sources.py``, contract section 2);
- ``dbt.<var>``: a list in ``dbt_project.yml``'s vars (e.g. the low-income
  categories, contract section 5);
- ``sources``: the sources the DAG waits for (``config.SOURCES``).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml

from safetynet.config import SOURCES, dbt_project_dir
from safetynet.ingest.sources import SPECS


def resolve(reference: str) -> list[str]:
    """The values a ``value_set_of`` reference names; a clear error if it names none."""
    kind, _, rest = reference.partition(".")
    if reference == "sources":
        return list(SOURCES)
    if kind == "raw":
        return _enum_values(*rest.rpartition(".")[::2])
    if kind == "dbt":
        return _dbt_list(rest)
    raise ValueError(f"value_set_of: unknown reference {reference!r}")


def _enum_values(table: str, column: str) -> list[str]:
    for spec in SPECS:
        for col in spec.columns:
            if spec.table == table and col.name == column and col.values:
                return list(col.values)
    raise ValueError(f"value_set_of: raw.{table}.{column} is no enum of the source specs")


@cache
def _dbt_vars() -> dict[str, Any]:
    project = yaml.safe_load((dbt_project_dir() / "dbt_project.yml").read_text("utf-8"))
    return dict(project.get("vars") or {})


def _dbt_list(name: str) -> list[str]:
    value = _dbt_vars().get(name)
    if not isinstance(value, list):
        raise ValueError(f"value_set_of: dbt var {name!r} is not a list in dbt_project.yml")
    return [str(v) for v in value]
