"""The embedded PostgreSQL module creates, reuses and stops a cluster."""

from __future__ import annotations

import shutil

import psycopg
from safetynet import config, localpg


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
