"""An embedded PostgreSQL cluster for the local set-up.

``python -m safetynet_dev.stack.localpg start|stop|status``. The cluster lives in
``var/pgdata``, listens on 127.0.0.1 and a socket in ``var/pgsock``, trusts
local connections (throwaway data, never a deployment) and holds the
``warehouse`` and ``airflow`` databases. Run as root, the server runs as
the unprivileged ``postgres`` user because initdb refuses root.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from safetynet import config

SUPERUSER = "safetynet"
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


def find_bin_dir() -> Path:
    """The directory holding pg_ctl: on PATH, else the newest /usr/lib one."""
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not candidates:
        raise RuntimeError("no PostgreSQL binaries found (PATH or /usr/lib/postgresql/*/bin)")
    return Path(candidates[-1])


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
            folder.chmod(0o700 if folder == self.data_dir else 0o755)

    def init(self) -> None:
        self._prepare_dirs()
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )
        self._add_settings(
            {"port": str(self.port), "unix_socket_directories": f"'{self.socket_dir}'"}
        )

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
        """Start the cluster (creating it if needed); False if it was already up."""
        if self.is_running():
            return False
        if not (self.data_dir / "PG_VERSION").exists():
            self.init()
        self._add_settings(SERVER_SETTINGS)  # new, or made by an older checkout
        self._prepare_dirs()
        log = self.data_dir / "server.log"
        # The port given now wins over the one written at initdb: SAFETYNET_PG_PORT moves
        # an existing cluster (a second checkout beside a running one).
        self._run(
            "pg_ctl",
            "start",
            "-w",
            "-t",
            "60",
            "-D",
            str(self.data_dir),
            "-l",
            str(log),
            "-o",
            f"-p {self.port}",
        )
        self.create_databases()
        return True

    def stop(self) -> bool:
        if not self.is_running():
            return False
        self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data_dir))
        return True

    def url(self, database: str = "warehouse") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

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
        if external and external != config.local_warehouse_url():
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
