"""Rule versions / 规则版本 (issue 21): the git commit and the dbt manifest's model
checksums a run of ``safetynet_daily`` built with, in ``audit.rule_versions``.

The checksums come from the ``target/manifest.json`` dbt wrote in the run's own
project folder (cosmos runs dbt in a temporary copy and calls the operator's
``callback`` with that folder before deleting it): exactly the SQL that ran, no
re-parse. dbt's checksum of a model is the sha256 of its file's text, stripped of
leading and trailing white space (``dbt_common`` ``load_file_contents``).

The commit comes from, in order: env ``SAFETYNET_COMMIT`` (an explicit override, e.g.
a test), ``git rev-parse HEAD`` of the project folder (``+dirty`` when
``dbt_project/`` has uncommitted changes), the file ``_build_commit.txt`` in the
project folder (written at image build time, Dockerfile ``ARG SAFETYNET_COMMIT``),
else ``unknown``.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import date
from pathlib import Path

from safetynet import warehouse
from safetynet.config import project_home

BUILD_COMMIT_FILE = "_build_commit.txt"


def _git(home: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(home), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def current_commit(home: Path | None = None) -> str:
    """The commit the running code and models come from (see the module docstring)."""
    explicit = os.environ.get("SAFETYNET_COMMIT", "").strip()
    if explicit:
        return explicit
    home = home or project_home()
    head = _git(home, "rev-parse", "HEAD") if (home / ".git").exists() else None
    if head:
        dirty = _git(home, "status", "--porcelain", "--", "dbt_project")
        return head + ("+dirty" if dirty else "")
    baked = home / BUILD_COMMIT_FILE
    if baked.is_file():
        text = baked.read_text(encoding="utf-8").strip()
        if text:
            return text
    return "unknown"


def model_checksums(manifest_path: Path) -> list[tuple[str, str, str]]:
    """(model name, path in the repo, sha256 checksum) of every model of a manifest."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    rows = []
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model":
            continue
        path = "dbt_project/" + str(node["original_file_path"])
        rows.append((str(node["name"]), path, str(node["checksum"]["checksum"])))
    return sorted(rows)


def record(url: str, run_id: str, extract_date: date, manifest_path: Path) -> int:
    """Write the run's commit and model checksums; a re-record of a run replaces it."""
    rows = model_checksums(manifest_path)
    commit = current_commit()
    with warehouse.connect(url) as conn:
        conn.execute(
            "delete from audit.rule_versions where run_id = %s and extract_date = %s",
            (run_id, extract_date),
        )
        with conn.cursor() as cur:
            cur.executemany(
                """insert into audit.rule_versions
                       (run_id, extract_date, commit, model, path, checksum)
                   values (%s, %s, %s, %s, %s, %s)""",
                [(run_id, extract_date, commit, *row) for row in rows],
            )
    return len(rows)


def record_from_project(url: str, run_id: str, extract_date: date, project_dir: str) -> int:
    """cosmos's callback gives the run's temporary project folder: its manifest."""
    manifest = Path(project_dir) / "target" / "manifest.json"
    if not manifest.is_file():
        return 0
    return record(url, run_id, extract_date, manifest)
