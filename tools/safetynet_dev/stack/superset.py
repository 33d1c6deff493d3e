"""``make superset`` / ``make stop``: Superset on the local warehouse (issue 22).

``python -m safetynet_dev.stack.superset start|stop|status|logins``. ``start``:

1. the metadata database ``superset`` on the local cluster (created if missing);
2. two PostgreSQL LOGIN roles, ``superset_analyst`` (member of safetynet_analyst:
   marts only) and ``superset_auditor`` (member of safetynet_auditor: marts and the
   masked audit tables), read-only by default, with generated passwords kept in
   ``var/superset/pg_logins`` (0600; one per cluster, so every Superset home of this
   cluster shares them);
3. in Superset's own venv (``.venv-superset``, superset/requirements.lock):
   ``superset db upgrade``, ``superset init``, then superset/provision.py: the two
   connections (each logs in as its own role), roles leader/analyst/auditor, one
   user per role plus admin, every bundle of superset/assets/, dashboard roles from
   superset/access.yml;
4. gunicorn in the background (one process group, pid and log in
   ``var/superset/run``), until ``/health`` answers;
5. prints the URL and one line per login, ``login <role> <user> <password>``: the
   very lines of ``var/superset/logins`` (0600, generated once, same on every run).

The secret key is generated once into ``var/superset/secret_key`` (0600). Settings:
``SAFETYNET_SUPERSET_PORT`` (8088), ``SAFETYNET_SUPERSET_DB`` (superset),
``SAFETYNET_SUPERSET_HOME`` (var/superset): tests run a second Superset beside a
developer's with their own. The warehouse is the one of ``AIRFLOW_CONN_WAREHOUSE``.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from safetynet import config
from safetynet_dev.stack import localpg
from safetynet_dev.stack.ports import port_open
from safetynet_dev.stack.processes import PidFiles, is_running, stop_groups

ROLES = ("leader", "analyst", "auditor", "admin")
# PostgreSQL login role of each Superset connection and the group role it belongs to.
PG_LOGINS = {
    "warehouse_analyst": ("superset_analyst", "safetynet_analyst"),
    "warehouse_auditor": ("superset_auditor", "safetynet_auditor"),
}
PROCESS = "gunicorn"
MARKER = b"superset.app:create_app"
START_TIMEOUT = 180.0
STOP_TIMEOUT = 20.0


class SupersetError(RuntimeError):
    """A step of the start failed (its output is in the message) or the server died."""


def write_private(path: Path, text: str) -> None:
    """Write ``text`` into ``path`` with mode 0600 (created so, never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    temporary.replace(path)


def generated_logins(path: Path) -> list[str]:
    """The ``login <role> <user> <password>`` lines, generated once into ``path``."""
    if path.exists():
        lines = [line for line in path.read_text().splitlines() if line.startswith("login ")]
        if {line.split()[1] for line in lines} == set(ROLES):
            return lines
    lines = [f"login {role} {role} {secrets.token_urlsafe(12)}" for role in ROLES]
    write_private(path, "\n".join(lines) + "\n")
    return lines


def generated_secret(path: Path, size: int = 32) -> str:
    """A secret generated once into ``path`` (0600); read back on later runs."""
    if path.exists() and path.read_text().strip():
        return path.read_text().strip()
    value = secrets.token_hex(size)
    write_private(path, value + "\n")
    return value


@dataclass
class Superset:
    """One Superset deployment on the local cluster, described by an environment."""

    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    # ------------------------------------------------------------ where and who

    @property
    def root(self) -> Path:
        return config.project_home()

    @property
    def home(self) -> Path:
        default = config.var_dir() / "superset"
        return Path(self.environ.get("SAFETYNET_SUPERSET_HOME") or default)

    @property
    def port(self) -> int:
        return int(self.environ.get("SAFETYNET_SUPERSET_PORT") or 8088)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metadata_db(self) -> str:
        return self.environ.get("SAFETYNET_SUPERSET_DB") or "superset"

    @property
    def venv(self) -> Path:
        return self.root / ".venv-superset"

    @property
    def processes(self) -> PidFiles:
        return PidFiles(self.home / "run")

    @property
    def logins_file(self) -> Path:
        return self.home / "logins"

    @property
    def pg_logins_file(self) -> Path:
        """Passwords of the PostgreSQL login roles: cluster-wide, so beside var/pgpass."""
        return config.var_dir() / "superset" / "pg_logins"

    def logins(self) -> list[str]:
        return generated_logins(self.logins_file)

    def password(self, role: str) -> tuple[str, str]:
        """(user, password) of a role's login."""
        for line in self.logins():
            _, name, user, password = line.split(" ", 3)
            if name == role:
                return user, password
        raise KeyError(role)

    # ------------------------------------------------------------ PostgreSQL

    def cluster(self) -> localpg.Cluster:
        return localpg.Cluster.local()

    def pg_passwords(self) -> dict[str, str]:
        path = self.pg_logins_file
        known = json.loads(path.read_text()) if path.exists() else {}
        wanted = {
            login: known.get(login) or secrets.token_hex(16) for login, _ in PG_LOGINS.values()
        }
        if wanted != known:
            write_private(path, json.dumps(wanted, indent=2) + "\n")
        return wanted

    def prepare_postgres(self) -> dict[str, str]:
        """The metadata database and the two login roles; the connections' URLs."""
        import psycopg
        from psycopg import sql

        cluster = self.cluster()
        passwords = self.pg_passwords()
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "select 1 from pg_database where datname = %s", (self.metadata_db,)
            ).fetchone()
            if not exists:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(self.metadata_db)))
            for login, group in PG_LOGINS.values():
                ensure_login_role(conn, login, group, passwords[login])
        return self.connection_urls(passwords)

    def connection_urls(self, passwords: Mapping[str, str]) -> dict[str, str]:
        """Each connection's URL: the warehouse of AIRFLOW_CONN_WAREHOUSE, its own login."""
        warehouse = urlsplit(self.environ.get("AIRFLOW_CONN_WAREHOUSE") or self.cluster().url())
        urls = {}
        for name, (login, _) in PG_LOGINS.items():
            netloc = f"{login}:{passwords[login]}@{warehouse.hostname}:{warehouse.port or 5432}"
            parts = warehouse._replace(scheme="postgresql+psycopg2", netloc=netloc, query="")
            urls[name] = urlunsplit(parts)
        return urls

    def metadata_url(self) -> str:
        cluster = self.cluster()
        return cluster.url(self.metadata_db).replace("postgresql://", "postgresql+psycopg2://", 1)

    # ------------------------------------------------------------ Superset's venv

    def superset_environment(self) -> dict[str, str]:
        """Superset's processes: its venv first on PATH, none of the project venv."""
        keep = {
            name: value
            for name, value in self.environ.items()
            # Not the superuser's URL, the pseudonym key or the project venv's settings.
            if not name.startswith(("AIRFLOW", "VIRTUAL_ENV", "PYTHON", "PGPASS"))
            and name != "SAFETYNET_PSEUDONYM_KEY"
        }
        return {
            **keep,
            "PATH": f"{self.venv / 'bin'}:{self.environ.get('PATH', '')}",
            "SAFETYNET_ENVIRONMENT": config.LOCAL_ENVIRONMENT,
            "SUPERSET_CONFIG_PATH": str(self.root / "superset" / "superset_config.py"),
            "SUPERSET_SECRET_KEY_FILE": str(self.home / "secret_key"),
            "SUPERSET_DATABASE_URI": self.metadata_url(),
            "SUPERSET_HOME": str(self.home / "data"),
            "SAFETYNET_SUPERSET_LOGINS": str(self.logins_file),
            "SAFETYNET_SUPERSET_CONNECTIONS": str(self.home / "connections.json"),
            "FLASK_APP": "superset.app:create_app()",
            "SUPERSET_LOG_LEVEL": "warning",
        }

    def run_step(self, *command: str) -> str:
        """One command with Superset's Python (its venv); its output on failure."""
        done = subprocess.run(
            list(command),
            env=self.superset_environment(),
            cwd=self.root,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            output = (done.stdout + done.stderr)[-4000:]
            raise SupersetError(f"{' '.join(command[:3])} failed:\n{output}")
        return done.stdout

    def provision(self) -> None:
        """Metadata schema, Superset's roles, ours, the users, the bundles, access."""
        if not (self.venv / "bin" / "superset").exists():
            raise SupersetError(f"no {self.venv}: run `make superset` (installs it from the lock)")
        self.logins()
        generated_secret(self.home / "secret_key")
        urls = self.prepare_postgres()
        write_private(self.home / "connections.json", json.dumps(urls, indent=2) + "\n")
        superset = str(self.venv / "bin" / "superset")
        python = str(self.venv / "bin" / "python")
        self.run_step(superset, "db", "upgrade")
        self.run_step(superset, "init")
        provision = str(self.root / "superset" / "provision.py")
        output = self.run_step(python, provision, "setup", "import", "access")
        for line in output.splitlines():
            if line.strip() and not line.startswith("Loaded your LOCAL configuration"):
                print(line)

    # ------------------------------------------------------------ the server

    def pid(self) -> int | None:
        return self.processes.pid(PROCESS, MARKER)

    def running(self) -> bool:
        return self.pid() is not None

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=5) as answer:
                return answer.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def serve(self) -> None:
        """gunicorn in its own process group, until /health answers."""
        if self.running():
            return
        if port_open(self.port):
            raise SupersetError(f"port {self.port} is in use: set SAFETYNET_SUPERSET_PORT")
        command = [
            str(self.venv / "bin" / "gunicorn"),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            "1",
            "--worker-class",
            "gthread",
            "--threads",
            "8",
            "--timeout",
            "120",
            "--limit-request-line",
            "0",
            "--limit-request-field_size",
            "0",
            # gunicorn 27's control socket is one path per user (~/.gunicorn): two
            # deployments side by side (a developer's and a test's) would share it.
            "--no-control-socket",
            "superset.app:create_app()",
        ]
        pid = self.processes.spawn(PROCESS, command, self.superset_environment())
        deadline = time.monotonic() + START_TIMEOUT
        while not self.healthy():
            exited = exit_status(pid)
            if exited is not None:
                raise SupersetError(
                    f"Superset exited ({exited}):\n{self.processes.log_tail(PROCESS)}"
                )
            if time.monotonic() > deadline:
                raise SupersetError(
                    f"no answer on {self.url}/health:\n{self.processes.log_tail(PROCESS)}"
                )
            time.sleep(1)

    def start(self) -> list[str]:
        """Provision, serve; the lines to print (URL, then one per login)."""
        self.provision()
        self.serve()
        return [f"Superset: {self.url}/  (log: {self.processes.log_file(PROCESS)})", *self.logins()]

    def stop(self) -> bool:
        pid = self.pid()
        if pid is None:
            self.processes.forget(PROCESS)
            return False
        stop_groups([pid], STOP_TIMEOUT)
        self.processes.forget(PROCESS)
        return True


def exit_status(pid: int) -> str | None:
    """How the child ``pid`` ended (reaped here), or None while it runs."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not a child of this process: ask /proc
        return None if is_running(pid) else "gone"
    if done == 0:
        return None
    return f"exit code {os.waitstatus_to_exitcode(status)}"


def ensure_login_role(conn: object, login: str, group: str, password: str) -> None:
    """A LOGIN role in ``group`` only, read-only by default, with ``password``."""
    from psycopg import sql

    ident, literal = sql.Identifier(login), sql.Literal(password)
    exists = conn.execute("select 1 from pg_roles where rolname = %s", (login,)).fetchone()  # type: ignore[attr-defined]
    verb = "alter" if exists else "create"
    statements = [
        sql.SQL(
            verb + " role {} login nosuperuser nocreatedb nocreaterole inherit password {}"
        ).format(ident, literal),
        sql.SQL("grant {} to {}").format(sql.Identifier(group), ident),
        sql.SQL("alter role {} set default_transaction_read_only = on").format(ident),
        sql.SQL("alter role {} set statement_timeout = '120s'").format(ident),
    ]
    for statement in statements:
        conn.execute(statement)  # type: ignore[attr-defined]


def main(argv: list[str]) -> int:
    action = argv[0] if argv else "status"
    superset = Superset()
    try:
        if action == "start":
            for line in superset.start():
                print(line)
        elif action == "stop":
            print("Superset stopped" if superset.stop() else "Superset was not running")
        elif action == "status":
            running = superset.running()
            print(f"Superset running on {superset.url}" if running else "Superset stopped")
            return 0 if running else 3
        elif action == "logins":
            print("\n".join(superset.logins()))
        else:
            print(
                "usage: python -m safetynet_dev.stack.superset start|stop|status|logins "
                f"(got {action!r})"
            )
            return 2
    except SupersetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
