"""Connections to the warehouse and its idempotent set-up (schemas, raw and
audit tables, identity functions, roles)."""

from __future__ import annotations

from pathlib import Path

import psycopg

from safetynet import identity

SQL_DIR = Path(__file__).parent / "sql"
SETUP_LOCK = 7_100_001


def connect(url: str, autocommit: bool = False) -> psycopg.Connection:
    """psycopg 3 connection from an Airflow-style or libpq URL."""
    url = url.replace("postgresql+psycopg://", "postgresql://").replace("postgres://", "postgresql://")
    return psycopg.connect(url, autocommit=autocommit)


def ensure_schema(url: str) -> None:
    """Create what the loader and dbt need; safe to run from parallel tasks."""
    with connect(url) as conn:
        conn.execute("select pg_advisory_xact_lock(%s)", (SETUP_LOCK,))
        conn.execute((SQL_DIR / "warehouse_setup.sql").read_text(encoding="utf-8"))
        conn.execute(identity.sql_functions())
        conn.execute((SQL_DIR / "roles.sql").read_text(encoding="utf-8"))
