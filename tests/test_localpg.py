"""The embedded PostgreSQL module creates, reuses and stops a cluster."""

from __future__ import annotations

import shutil
import socket
import stat
from pathlib import Path

import psycopg
import pytest

from safetynet import config
from safetynet_dev.stack import localpg
from safetynet_dev.stack.ports import free_port

pytestmark = pytest.mark.integration


def _folder(name: str) -> Path:
    """An empty folder under the project's var/: the server runs as `postgres` when we
    are root, and pytest's own tmp folders are private to root."""
    var = config.var_dir() / name
    shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True)
    return var


def _cluster(var: Path, port: int | None = None) -> localpg.Cluster:
    return localpg.Cluster(
        var / "pgdata", var / "pgsock", port or free_port(), localpg.find_bin_dir()
    )


def test_start_reuse_stop() -> None:
    var = _folder("test-localpg")
    cluster = _cluster(var)
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
    var = _folder("test-localpg-port")
    first = _cluster(var)
    moved = _cluster(var)
    assert first.port != moved.port
    try:
        first.start()
        first.stop()
        assert moved.start() is True
        with psycopg.connect(moved.url("postgres")) as conn:
            assert conn.execute("show port").fetchone() == (str(moved.port),)
    finally:
        moved.stop()
    shutil.rmtree(var)


def test_settings_reach_a_cluster_made_by_an_older_checkout() -> None:
    """A setting added since a cluster's initdb is appended at its next start; a value
    already there (an older initdb or ALTER SYSTEM) is kept. With wal_level minimal a
    COPY into a table truncated in its own transaction writes no WAL (every raw load)."""
    var = _folder("test-localpg-settings")
    cluster = _cluster(var)
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


def test_the_cluster_wants_the_password_of_a_0600_file() -> None:
    """Issue 20: scram-sha-256 for every connection, the password generated into the
    pgpass file beside the data folder (0600), the socket folder 0700, no trust."""
    var = _folder("test-localpg-password")
    cluster = _cluster(var)
    try:
        cluster.start()
        assert stat.S_IMODE(cluster.password_file.stat().st_mode) == 0o600
        assert stat.S_IMODE((var / "pgsock").stat().st_mode) == 0o700
        assert not cluster.trusts()
        hba = (var / "pgdata" / "pg_hba.conf").read_text()
        assert "trust" not in [line.split()[-1] for line in hba.splitlines() if line[:1] not in "#"]
        password = cluster.password()
        assert len(password) >= 32 and f":{password}@" in cluster.url("postgres")
        with psycopg.connect(cluster.url("postgres")) as conn:
            assert conn.execute("select current_user").fetchone() == ("safetynet",)
        _refused(f"postgresql://safetynet@127.0.0.1:{cluster.port}/postgres")
        _refused(f"postgresql://safetynet:wrong@127.0.0.1:{cluster.port}/postgres")
    finally:
        cluster.stop()
    shutil.rmtree(var)


def test_a_trust_cluster_of_an_older_checkout_gets_the_password_and_keeps_its_data() -> None:
    var = _folder("test-localpg-trust")
    cluster = _cluster(var)
    trusted = f"postgresql://safetynet@127.0.0.1:{cluster.port}/postgres"
    try:
        _start_as_an_older_checkout_did(cluster)
        with psycopg.connect(trusted, autocommit=True) as conn:
            conn.execute("create table kept as select 42 as answer")
        cluster.stop()
        assert cluster.trusts() and not cluster.password_file.exists()

        assert cluster.start() is True
        assert not cluster.trusts()
        _refused(trusted)
        with psycopg.connect(cluster.url("postgres")) as conn:
            assert conn.execute("select answer from kept").fetchone() == (42,)
        cluster.stop()
        assert cluster.start() is True  # the next start: nothing left to convert
        with psycopg.connect(cluster.url("postgres")) as conn:
            assert conn.execute("select answer from kept").fetchone() == (42,)
    finally:
        cluster.stop()
    shutil.rmtree(var)


def test_a_running_trust_cluster_is_switched_in_place_by_start() -> None:
    """`make up` beside a server an older checkout started: a reload, no restart."""
    var = _folder("test-localpg-trust-running")
    cluster = _cluster(var)
    trusted = f"postgresql://safetynet@127.0.0.1:{cluster.port}/postgres"
    try:
        _start_as_an_older_checkout_did(cluster)
        with psycopg.connect(trusted, autocommit=True) as conn:
            pid = conn.execute("select pg_backend_pid()").fetchone()
            assert cluster.start() is False  # already up: converted in place
            # an open session carries on; a new one needs the password
            assert conn.execute("select pg_backend_pid()").fetchone() == pid
        assert not cluster.trusts()
        _refused(trusted)
        with psycopg.connect(cluster.url("postgres")) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
    finally:
        cluster.stop()
    shutil.rmtree(var)


def _start_as_an_older_checkout_did(cluster: localpg.Cluster) -> None:
    """What `make` did before issue 20: initdb --auth=trust, no password file, started."""
    cluster._prepare_dirs()
    cluster._run("initdb", "-D", str(cluster.data_dir), "-U", "safetynet", "--auth=trust")
    cluster._add_settings({"unix_socket_directories": f"'{cluster.socket_dir}'"})
    log = str(cluster.data_dir / "server.log")
    cluster._run("pg_ctl", "start", "-w", "-D", str(cluster.data_dir), "-l", log,
                 "-o", f"-p {cluster.port}")  # fmt: skip


def _refused(url: str) -> None:
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(url, connect_timeout=5).close()


def test_a_start_that_fails_says_why() -> None:
    """A port in use (or any pg_ctl failure) raises with the end of the server log."""
    var = _folder("test-localpg-busy")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cluster = _cluster(var, port)
        try:
            with pytest.raises(localpg.ClusterStartError, match=f"port {port}") as failed:
                cluster.start()
            assert "could not" in str(failed.value)  # the server's own words, from its log
            assert "server.log" in str(failed.value)
        finally:
            cluster.stop()
    shutil.rmtree(var)
