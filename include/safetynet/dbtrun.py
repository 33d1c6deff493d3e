"""dbt as the daily run's ``dbt_build`` calls it (cosmos): its profile, its parse cache and
(issue 23) that cache primed at set-up.

cosmos runs dbt in a new temporary copy of the project for each task and keeps dbt's
``target/partial_parse.msgpack`` between runs in ``parse_cache_dir()``. Without that file
the first ``dbt_build`` of a deployment parses the whole project (~2 s of a sample-size
day); every later day re-parses only what changed. dbt accepts a saved parse only for the
same connection keys (host, port, user, database, schema), so the file cannot ship with the
image: ``prime_parse_cache()`` (``python -m safetynet.setup``) writes it with the
deployment's own profile, as cosmos would. Best effort: a failed priming only means the
first day parses in full, as before.

(issue 23) ``reuse_connections()``: dbt-postgres opens a new connection for every node and
closes it after (``release``); ~100 nodes a day pay ~100 logins (SCRAM) and ~100 cold
backends. dbt-snowflake keeps a thread's connection between nodes (``reuse_connections``,
its default since 1.8); this does the same for the run's dbt_build.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from cosmos import ProfileConfig
from cosmos import cache as cosmos_cache
from cosmos import settings as cosmos_settings
from cosmos.dbt.project import create_symlinks, get_partial_parse_path
from cosmos.profiles import PostgresUserPasswordProfileMapping

from safetynet.config import dbt_project_dir

log = logging.getLogger(__name__)

TASK_ID = "dbt_build"
PROFILE = ProfileConfig(
    profile_name="safetynet",
    target_name="warehouse",
    # threads: cosmos writes its own profile (dbt's default is 1 thread), as in profiles.yml
    profile_mapping=PostgresUserPasswordProfileMapping(
        conn_id="warehouse", profile_args={"schema": "public", "threads": 2}
    ),
)


def parse_cache_dir(dag_id: str = "safetynet_daily") -> Path:
    """cosmos's cache of the task (``partial_parse.msgpack`` under ``target/``)."""
    return cosmos_settings.cache_dir / f"{dag_id}__{TASK_ID}"


def _dbt() -> str:
    return str(Path(sys.executable).with_name("dbt"))


def prime_parse_cache(cache_dir: Path | None = None) -> str:
    """dbt's parse of the project for this deployment's profile, put where ``dbt_build``
    finds it; once: a cache already there is kept. What happened, for the set-up's log."""
    cache_dir = cache_dir or parse_cache_dir()
    cached = get_partial_parse_path(cache_dir)
    if cached.exists():
        return f"kept {cached}"
    with (
        tempfile.TemporaryDirectory() as tmp,
        PROFILE.ensure_profile() as (profile_path, profile_env),
    ):
        project = Path(tmp)
        create_symlinks(dbt_project_dir(), project, ignore_dbt_packages=False)
        # the flags cosmos gives dbt_build (--no-static-parser: cosmos's dbtRunner mode)
        command = [_dbt(), "parse", "--project-dir", tmp, "--profiles-dir"]
        command += [str(profile_path.parent), "--profile", PROFILE.profile_name]
        command += ["--target", PROFILE.target_name, "--no-static-parser"]
        done = subprocess.run(
            command,
            cwd=tmp,
            env={**os.environ, **profile_env},
            capture_output=True,
            text=True,
            check=False,
        )
        parsed = get_partial_parse_path(project)
        if done.returncode != 0 or not parsed.exists():
            log.warning("dbt parse for the parse cache failed (%s)", done.returncode)
            return f"not written (dbt parse exited {done.returncode}): day 1 parses in full"
        cosmos_cache._update_partial_parse_cache(parsed, cache_dir)
    return f"written {cached}"


def reuse_connections() -> None:
    """One session per dbt thread for the whole ``dbt build`` of this process (no session
    setting leaks between nodes: the models set only ``set local``, per transaction).
    dbt closes every connection at the end of the command (``cleanup_all``). dbt is
    imported here, not with this module: the DAG file imports it."""
    from dbt.adapters.postgres.connections import PostgresConnectionManager as manager

    close_after_node = getattr(manager, "_close_after_node", manager.release)

    def release_keeping_connection(self: Any) -> None:
        """After a node: end the transaction (as ``close`` would) but keep the session
        for the thread's next node; anything unusual closes it as dbt does."""
        conn = self.get_if_exists()
        handle: Any = getattr(conn, "handle", None)
        if conn is None or conn.state != "open" or getattr(handle, "closed", 1):
            close_after_node(self)
            return
        try:
            handle.rollback()  # no round trip when idle; ends what a node left open
        except Exception:  # a broken session: dbt's own release closes it
            close_after_node(self)
            return
        conn.transaction_open = False

    manager._close_after_node = close_after_node  # type: ignore[attr-defined]
    manager.release = release_keeping_connection  # type: ignore[method-assign]


def main() -> None:
    print(f"dbt parse cache: {prime_parse_cache()}")


if __name__ == "__main__":
    main()
