"""Connections to the warehouse and its idempotent set-up (schemas, raw and
audit tables, roles)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg

SQL_DIR = Path(__file__).parent / "sql"
SETUP_LOCK = 7_100_001


def connect(url: str, autocommit: bool = False) -> psycopg.Connection:
    """psycopg 3 connection from an Airflow-style or libpq URL."""
    url = url.replace("postgresql+psycopg://", "postgresql://").replace(
        "postgres://", "postgresql://"
    )
    return psycopg.connect(url, autocommit=autocommit)


# Tables first, then the access roles, then one file per feature (its tables and its
# explicit grants), in name order: a feature's set-up lives in its own file.
CORE_SQL = ("warehouse_setup.sql", "roles.sql")


def setup_files() -> list[Path]:
    features = sorted(p for p in SQL_DIR.glob("*.sql") if p.name not in CORE_SQL)
    return [SQL_DIR / name for name in CORE_SQL] + features


def _setup_statements() -> list[str]:
    return [path.read_text(encoding="utf-8") for path in setup_files()]


def ensure_schema(url: str) -> None:
    """Create what the loader and dbt need; safe to run from parallel tasks.

    The DDL runs only when its text changed since the last set-up (a version
    row in ``audit.schema_version``): parallel loads of a day then take no
    schema locks at all, so they cannot deadlock on the set-up.
    """
    statements = _setup_statements()
    version = hashlib.sha256("\n".join(statements).encode()).hexdigest()
    with connect(url, autocommit=True) as conn:
        if _current_version(conn) == version:
            return
        # (issue 23) A session lock, and the second look in a transaction begun after it
        # is granted: a backend re-reads the catalog when a transaction begins, not when an
        # advisory lock is granted. Looked at again inside the waiting transaction, a
        # set-up committed meanwhile could stay unseen ("no such table" cached) and run a
        # second time beside loads already started: they deadlocked (a bench's day 1).
        conn.execute("select pg_advisory_lock(%s)", (SETUP_LOCK,))
        try:
            with conn.transaction():
                if _current_version(conn) != version:
                    _set_up(conn, statements, version)
        finally:
            if not conn.broken:
                conn.execute("select pg_advisory_unlock(%s)", (SETUP_LOCK,))


def _set_up(conn: psycopg.Connection, statements: list[str], version: str) -> None:
    # a set-up that waits on a table a running load holds gives up (and its task retries)
    # rather than hold its own locks, which that load's other session may be waiting for
    conn.execute("set local lock_timeout = '60s'")
    for statement in statements:
        conn.execute(statement)
    # rejected rows of a warehouse made before masking (contract v2 section 6)
    from safetynet.ingest import rejects

    rejects.mask_legacy(conn)
    conn.execute("create table if not exists audit.schema_version (version text not null)")
    conn.execute("delete from audit.schema_version")
    conn.execute("insert into audit.schema_version values (%s)", (version,))


def _current_version(conn: psycopg.Connection) -> str | None:
    exists = conn.execute("select to_regclass('audit.schema_version')").fetchone()
    if not exists or not exists[0]:
        return None
    row = conn.execute("select version from audit.schema_version").fetchone()
    return row[0] if row else None
