"""An embedded PostgreSQL cluster for the local set-up.

``python -m safetynet_dev.stack.localpg start|stop|status``. The cluster lives in
``var/pgdata``, listens on 127.0.0.1 and a socket in ``var/pgsock`` (0700) and holds
the ``warehouse`` and ``airflow`` databases. Every connection needs the password of
the superuser ``safetynet`` (scram-sha-256, no ``trust``): it is generated once into
``var/pgpass`` (0600, libpq's pgpass format, so ``PGPASSFILE`` can point at it), which
``make env``, the tests, the bench and the cluster demo read. A cluster made by an
older checkout (``--auth=trust``) gets the password and the new ``pg_hba.conf`` at
its next start (or ``start`` while it runs: a reload), data kept. Run as root, the
server runs as the unprivileged ``postgres`` user because initdb refuses root.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from safetynet import config

SUPERUSER = "safetynet"
# Passwords only, for the socket too: no role is trusted (issue 20).
HBA = """# Written by safetynet_dev.stack.localpg: password (scram-sha-256) for every role,
# no trust. The password of `safetynet` is in the pgpass file beside the data folder.
local   all all              scram-sha-256
host    all all 127.0.0.1/32 scram-sha-256
host    all all ::1/128      scram-sha-256
"""
DATABASES = ("warehouse", "airflow")
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "100",
    "shared_buffers": "'512MB'",
    "work_mem": "'64MB'",
    "maintenance_work_mem": "'256MB'",
    "max_wal_size": "'4GB'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    # No standby and no WAL archive for the embedded cluster: a COPY into a table
    # created or truncated in its own transaction (every raw load, every dbt table)
    # writes no WAL at all; PostgreSQL syncs the new files at commit instead.
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_parallel_workers_per_gather": "2",
    "jit": "off",
}


def ensure_password_file(path: Path) -> str:
    """The local superuser's password, generated into ``path`` (mode 0600, pgpass
    format) if there is none yet. Safe when several sessions ask at once: the file
    appears complete or not at all (a hard link of a finished temporary file)."""
    password = config.read_password_file(path)
    if password:
        return password
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_hex(24)  # URL-safe: it goes into connection URLs
    lines = "".join(f"{host}:*:*:{SUPERUSER}:{password}\n" for host in ("127.0.0.1", "localhost"))
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(lines)
        with contextlib.suppress(FileExistsError):  # another session was first: use its
            os.link(temporary, path)
    finally:
        temporary.unlink()
    return config.read_password_file(path)


def is_local_url(url: str, port: int) -> bool:
    """Whether ``url`` names the local cluster's superuser (whatever password it has)."""
    parts = urlsplit(url)
    return (
        parts.hostname in ("127.0.0.1", "localhost")
        and parts.port == port
        and parts.username == SUPERUSER
    )


def with_password(url: str, password: str) -> str:
    """``url`` of the local cluster with ``password`` (an older `make env` exported
    the placeholder ``local-trust-auth``, or none)."""
    parts = urlsplit(url)
    netloc = f"{SUPERUSER}:{password}@{parts.hostname}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def find_bin_dir() -> Path:
    """The directory holding pg_ctl: on PATH, else the newest /usr/lib one."""
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not candidates:
        raise RuntimeError("no PostgreSQL binaries found (PATH or /usr/lib/postgresql/*/bin)")
    return Path(candidates[-1])


class ClusterStartError(RuntimeError):
    """pg_ctl could not start the server: the message carries the end of its log (a
    port in use, a folder it cannot read), so a CI log says why without the folder."""

    def __init__(self, port: int, log: Path, output: str) -> None:
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        tail = "\n".join(lines[-LOG_TAIL_LINES:]) or "(empty)"
        super().__init__(
            f"PostgreSQL did not start on port {port}: {output.strip()}\n"
            f"last lines of {log}:\n{tail}"
        )


LOG_TAIL_LINES = 20


@dataclass(frozen=True)
class Cluster:
    data_dir: Path
    socket_dir: Path
    port: int
    bin_dir: Path

    @classmethod
    def local(cls) -> Cluster:
        var = config.var_dir()
        return cls(var / "pgdata", var / "pgsock", config.local_pg_port(), find_bin_dir())

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True)

    @property
    def password_file(self) -> Path:
        """Beside the data folder: ``var/pgpass`` for ``var/pgdata``."""
        return self.data_dir.parent / config.LOCAL_PASSWORD_FILE

    def password(self) -> str:
        return ensure_password_file(self.password_file)

    def is_running(self) -> bool:
        if not (self.data_dir / "PG_VERSION").exists():
            return False
        return self._run("pg_ctl", "status", "-D", str(self.data_dir), check=False).returncode == 0

    def _prepare_dirs(self) -> None:
        for folder in (self.data_dir, self.socket_dir):
            folder.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                postgres = pwd.getpwnam("postgres")
                os.chown(folder, postgres.pw_uid, postgres.pw_gid)
            folder.chmod(0o700)

    def _server_file(self, text: str) -> Path:
        """A 0600 file the server's user can read (the socket folder is its own, 0700)."""
        path = self.socket_dir / f".pw.{secrets.token_hex(4)}"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        if os.geteuid() == 0:
            postgres = pwd.getpwnam("postgres")
            os.chown(path, postgres.pw_uid, postgres.pw_gid)
        return path

    def init(self) -> None:
        self._prepare_dirs()
        pwfile = self._server_file(self.password() + "\n")
        try:
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            )
        finally:
            pwfile.unlink()
        self._write_hba()
        self._add_settings(
            {"port": str(self.port), "unix_socket_directories": f"'{self.socket_dir}'"}
        )

    @property
    def _hba(self) -> Path:
        return self.data_dir / "pg_hba.conf"

    def _write_hba(self) -> None:
        self._hba.write_text(HBA, encoding="utf-8")  # keeps the file's owner and mode

    def trusts(self) -> bool:
        """Whether pg_hba.conf lets a role in without a password (an older checkout)."""
        return any(
            line.split()[-1] == "trust"
            for line in self._hba.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        )

    def _convert_from_trust(self) -> None:
        """Give the superuser the password and switch pg_hba.conf to passwords (the
        server still trusts while it runs this), then reload: data untouched."""
        import psycopg
        from psycopg import sql

        trusted = f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(trusted, autocommit=True) as conn:
            conn.execute("set password_encryption = 'scram-sha-256'")
            conn.execute(
                sql.SQL("alter role {} password {}").format(
                    sql.Identifier(SUPERUSER), sql.Literal(self.password())
                )
            )
        self._write_hba()
        self._run("pg_ctl", "reload", "-D", str(self.data_dir))

    def _add_settings(self, settings: dict[str, str]) -> None:
        """Append to postgresql.auto.conf the settings it does not name yet (a value
        already there, from an older checkout's initdb or ALTER SYSTEM, is kept)."""
        conf = self.data_dir / "postgresql.auto.conf"
        named = {
            line.split("=", 1)[0].strip()
            for line in conf.read_text().splitlines()
            if "=" in line and not line.lstrip().startswith("#")
        }
        with open(conf, "a", encoding="utf-8") as handle:
            handle.writelines(
                f"{key} = {value}\n" for key, value in settings.items() if key not in named
            )

    def start(self) -> bool:
        """Start the cluster (creating it if needed); False if it was already up. A
        running cluster that still trusts (started by an older checkout) is switched to
        passwords in place: every client of this checkout has the password already."""
        if self.is_running():
            if self.trusts():
                self._prepare_dirs()  # the socket folder 0700 too
                self._convert_from_trust()
            return False
        if not (self.data_dir / "PG_VERSION").exists():
            self.init()
        self._add_settings(SERVER_SETTINGS)  # new, or made by an older checkout
        self._prepare_dirs()
        converting = self.trusts()  # made by an older checkout (initdb --auth=trust)
        log = self.data_dir / "server.log"
        # The port given now wins over the one written at initdb: SAFETYNET_PG_PORT moves
        # an existing cluster (a second checkout beside a running one).
        started = self._run(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data_dir), "-l", str(log),
            "-o", f"-p {self.port}", check=False,
        )  # fmt: skip
        if started.returncode != 0:
            raise ClusterStartError(self.port, log, started.stdout + started.stderr)
        if converting:
            self._convert_from_trust()
        self.create_databases()
        return True

    def stop(self) -> bool:
        if not self.is_running():
            return False
        self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data_dir))
        return True

    def url(self, database: str = "warehouse") -> str:
        """A libpq URL with the password (generated on first use)."""
        return f"postgresql://{SUPERUSER}:{self.password()}@127.0.0.1:{self.port}/{database}"

    def create_databases(self) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            existing = {row[0] for row in conn.execute("select datname from pg_database")}
            for name in DATABASES:
                if name not in existing:
                    conn.execute(f'create database "{name}"')


def main(argv: list[str]) -> int:
    action = argv[0] if argv else "status"
    cluster = Cluster.local()
    if action == "start":
        external = os.environ.get("AIRFLOW_CONN_WAREHOUSE", "")
        if external and not is_local_url(external, cluster.port):
            print("external PostgreSQL configured; not starting the local cluster")
            return 0
        started = cluster.start()
        state = "started" if started else "already running"
        print(f"local PostgreSQL {state} on port {cluster.port}")
    elif action == "stop":
        print("local PostgreSQL stopped" if cluster.stop() else "local PostgreSQL was not running")
    elif action == "status":
        running = cluster.is_running()
        print("running" if running else "stopped")
        return 0 if running else 3
    else:
        print(f"usage: python -m safetynet_dev.stack.localpg start|stop|status (got {action!r})")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
