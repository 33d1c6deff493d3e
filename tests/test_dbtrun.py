"""(issue 23) Set-up primes dbt_build's parse cache once; dbt then parses partially."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import statistics_after_others_left

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


RUN_DBT = """
import sys
from safetynet import dbtrun
if sys.argv[1] == "reuse":
    dbtrun.reuse_connections()
from dbt.cli.main import dbtRunner
with dbtrun.PROFILE.ensure_profile() as (profile, env):
    import os
    os.environ.update(env)
    done = dbtRunner().invoke([*sys.argv[2:], "--profiles-dir", str(profile.parent),
                               "--profile", "safetynet", "--target", "warehouse"])
sys.exit(0 if done.success else 1)
"""


def test_dbt_keeps_one_session_per_thread(stack, tmp_path: Path) -> None:
    """dbt-postgres logs in again for every node; dbtrun.reuse_connections keeps each dbt
    thread's session for the next node (PostgreSQL counts the sessions)."""
    from safetynet import warehouse

    warehouse.ensure_schema(stack.url)
    project = tmp_path / "project"
    project.mkdir()
    from cosmos.dbt.project import create_symlinks

    create_symlinks(dbt_project_dir(), project, ignore_dbt_packages=False)
    command = ["run", "--select", "staging", "--threads", "2", "--project-dir", str(project)]
    opened = {}
    with warehouse.connect(stack.url, autocommit=True) as watch:
        for mode in ("close", "reuse"):
            before = _sessions(watch)
            done = subprocess.run(
                [dbtrun._dbt().replace("/dbt", "/python"), "-c", RUN_DBT, mode, *command],
                env=stack.environ(SAFETYNET_AS_OF_DATE="2026-10-01"),
                cwd=project,
                capture_output=True,
                text=True,
                check=False,
            )
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
            opened[mode] = _sessions(watch) - before
    models = len(list((dbt_project_dir() / "models" / "staging").rglob("stg_*.sql")))
    assert opened["close"] >= models  # one login per node, as dbt-postgres does
    assert opened["reuse"] <= 3  # the two threads' sessions and dbt's own


def _sessions(conn) -> int:
    """Sessions PostgreSQL counted for this database once only ``conn`` is left in it."""
    sql = "select sessions from pg_stat_database where datname = current_database()"
    return statistics_after_others_left(conn, sql)
