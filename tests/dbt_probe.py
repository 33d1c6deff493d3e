"""A small dbt project of the tests' own (tests of the project's generic dbt tests):
its profiles.yml for the test stack, and one ``dbt build`` of it."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit


def profiles(url: str) -> str:
    """A profiles.yml of target ``t`` (schema ``probe``, one thread) for ``url``."""
    parts = urlsplit(url)
    return f"""probe:
  target: t
  outputs:
    t:
      type: postgres
      host: {parts.hostname}
      port: {parts.port}
      user: {parts.username}
      password: "{parts.password or ""}"
      dbname: {parts.path.lstrip("/")}
      schema: probe
      threads: 1
"""


def write_project(
    root: Path,
    url: str,
    name: str,
    models: dict[str, str],
    schema: str,
    *,
    generic_tests: Iterable[Path] = (),
    macros: Iterable[Path] = (),
) -> Path:
    """A dbt project ``name`` at ``root``: ``models`` (name -> SQL) as tables, their
    ``schema.yml``, copies of the project's generic tests and macros, and its profile."""
    (root / "models").mkdir(parents=True)
    (root / "macros").mkdir()
    (root / "tests" / "generic").mkdir(parents=True)
    for path in generic_tests:
        shutil.copy(path, root / "tests" / "generic" / path.name)
    for path in macros:
        shutil.copy(path, root / "macros" / path.name)
    for model, sql in models.items():
        (root / "models" / f"{model}.sql").write_text(sql + "\n")
    (root / "models" / "schema.yml").write_text(schema)
    (root / "dbt_project.yml").write_text(
        f"name: {name}\nversion: '1.0'\nprofile: probe\n"
        f"models:\n  {name}:\n    +materialized: table\n"
    )
    (root / "profiles.yml").write_text(profiles(url))
    return root


def build(project: Path, *extra: str) -> tuple[int, str]:
    """``dbt build --store-failures`` of ``project`` (failures kept in
    ``probe_dbt_test__audit``): its return code and its output."""
    result = subprocess.run(
        ["dbt", "build", "--store-failures", "--profiles-dir", ".", "--no-partial-parse", *extra],
        cwd=project,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr
