"""(issue 23) Set-up primes dbt_build's parse cache once; dbt then parses partially."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from safetynet import dbtrun
from safetynet.config import dbt_project_dir

pytestmark = pytest.mark.integration


def test_parse_cache_is_written_once_and_used_by_dbt(local_stack, tmp_path: Path) -> None:
    cache = tmp_path / "cosmos" / "safetynet_daily__dbt_build"
    assert dbtrun.prime_parse_cache(cache).startswith("written ")
    parsed = cache / "target" / "partial_parse.msgpack"
    assert parsed.stat().st_size > 0 and (cache / "target" / "manifest.json").exists()
    before = parsed.stat().st_mtime_ns
    assert dbtrun.prime_parse_cache(cache).startswith("kept ")
    assert parsed.stat().st_mtime_ns == before
    # dbt, given the file and the same profile as cosmos, parses partially
    project = tmp_path / "project"
    project.mkdir()
    from cosmos.dbt.project import create_symlinks

    create_symlinks(dbt_project_dir(), project, ignore_dbt_packages=False)
    (project / "target").mkdir()
    (project / "target" / "partial_parse.msgpack").write_bytes(parsed.read_bytes())
    with dbtrun.PROFILE.ensure_profile() as (profile, profile_env):
        command = [dbtrun._dbt(), "--log-level", "debug", "parse", "--project-dir", str(project)]
        command += ["--profiles-dir"]
        command += [str(profile.parent), "--profile", "safetynet", "--target", "warehouse"]
        done = subprocess.run(
            [*command, "--no-static-parser"],
            env={**os.environ, **profile_env},
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
    assert done.returncode == 0, done.stdout[-2000:]
    assert "Partial parsing enabled" in done.stdout, done.stdout[-2000:]
