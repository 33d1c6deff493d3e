"""The embedded PostgreSQL module creates, reuses and stops a cluster."""

from __future__ import annotations

import shutil

import psycopg
import pytest

from safetynet import config
from safetynet_dev.stack import localpg

pytestmark = pytest.mark.integration


def test_start_reuse_stop() -> None:
    # Under the project's var/: the server runs as `postgres` when we are root,
    # and pytest's own tmp folders are private to root.
    var = config.var_dir() / "test-localpg"
    shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True)
    cluster = localpg.Cluster(var / "pgdata", var / "pgsock", 55499, localpg.find_bin_dir())
    try:
        assert cluster.start() is True
        assert cluster.is_running()
        assert cluster.start() is False  # reused, not re-created
        with psycopg.connect(cluster.url("postgres")) as conn:
            names = {r[0] for r in conn.execute("select datname from pg_database")}
        assert {"warehouse", "airflow"} <= names
        assert (var / "pgdata" / "server.log").exists()
    finally:
        assert cluster.stop() is True
    assert not cluster.is_running()
    assert cluster.stop() is False
    shutil.rmtree(var)


def test_port_given_at_start_wins_over_the_one_of_initdb() -> None:
    """SAFETYNET_PG_PORT moves an existing cluster (e.g. a second checkout's tests beside
    a running one): the port is given at every start, not only written at initdb."""
    var = config.var_dir() / "test-localpg-port"
    shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True)
    first = localpg.Cluster(var / "pgdata", var / "pgsock", 55497, localpg.find_bin_dir())
    moved = localpg.Cluster(var / "pgdata", var / "pgsock", 55496, localpg.find_bin_dir())
    try:
        first.start()
        first.stop()
        assert moved.start() is True
        with psycopg.connect(moved.url("postgres")) as conn:
            assert conn.execute("show port").fetchone() == ("55496",)
    finally:
        moved.stop()
    shutil.rmtree(var)


def test_settings_reach_a_cluster_made_by_an_older_checkout() -> None:
    """A setting added since a cluster's initdb is appended at its next start; a value
    already there (an older initdb or ALTER SYSTEM) is kept. With wal_level minimal a
    COPY into a table truncated in its own transaction writes no WAL (every raw load)."""
    var = config.var_dir() / "test-localpg-settings"
    shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True)
    cluster = localpg.Cluster(var / "pgdata", var / "pgsock", 55495, localpg.find_bin_dir())
    conf = var / "pgdata" / "postgresql.auto.conf"
    try:
        cluster.start()
        cluster.stop()
        lines = [
            line
            for line in conf.read_text().splitlines()
            if not line.startswith(("wal_level", "max_wal_senders", "work_mem"))
        ]
        conf.write_text("\n".join([*lines, "work_mem = '8MB'", ""]))
        cluster.start()
        with psycopg.connect(cluster.url("postgres")) as conn:
            assert conn.execute("show wal_level").fetchone() == ("minimal",)
            assert conn.execute("show work_mem").fetchone() == ("8MB",)
            assert _wal_bytes_of_a_truncated_copy(conn, rows=200_000) < 1_000_000
    finally:
        cluster.stop()
    shutil.rmtree(var)


def _wal_bytes_of_a_truncated_copy(conn: psycopg.Connection, rows: int) -> int:
    conn.execute("create table t (n integer, s text)")
    conn.commit()
    before = conn.execute("select pg_current_wal_insert_lsn()").fetchone()[0]
    conn.execute("truncate t")
    with conn.cursor().copy("copy t from stdin with (freeze)") as copy:
        for n in range(rows):
            copy.write_row((n, "row"))
    conn.commit()
    return conn.execute("select pg_current_wal_insert_lsn() - %s::pg_lsn", (before,)).fetchone()[0]
