"""A small dbt project of the tests' own (tests of the project's generic dbt tests):
its profiles.yml for the test stack, and one ``dbt build`` of it."""

from __future__ import annotations

import os
import subprocess
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
