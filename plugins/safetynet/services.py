"""``make airflow`` / ``make stop``: the Airflow services of the local stack.

Starts api-server, scheduler, dag-processor and triggerer in the background
(pid and log files in ``var/airflow/run``), with a login generated on first
start (kept in ``var/airflow``, never committed).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

SERVICES = {
    "api-server": ["airflow", "api-server", "--port", "{port}"],
    "scheduler": ["airflow", "scheduler"],
    "dag-processor": ["airflow", "dag-processor"],
    "triggerer": ["airflow", "triggerer"],
}
USER = "admin"


def airflow_home() -> Path:
    return Path(os.environ["AIRFLOW_HOME"])


def run_dir() -> Path:
    folder = airflow_home() / "run"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def port() -> int:
    return int(os.environ.get("SAFETYNET_AIRFLOW_PORT", "8080"))


def login() -> tuple[str, str]:
    """The local admin login; the password is generated once per checkout."""
    path = airflow_home() / "simple_auth_manager_passwords.json.generated"
    if path.exists():
        return USER, json.loads(path.read_text())[USER]
    password = secrets.token_urlsafe(12)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({USER: password}))
    return USER, password


def service_environment() -> dict[str, str]:
    return {
        **os.environ,
        "AIRFLOW__CORE__AUTH_MANAGER":
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE":
            str(airflow_home() / "simple_auth_manager_passwords.json.generated"),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port()}/execution/",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port()}",
    }


def _pid(name: str) -> int | None:
    path = run_dir() / f"{name}.pid"
    if not path.exists():
        return None
    pid = int(path.read_text())
    try:
        os.kill(pid, 0)
    except OSError:
        return None
    return pid


def start() -> None:
    login()
    for name, command in SERVICES.items():
        if _pid(name):
            continue
        log = open(run_dir() / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
        process = subprocess.Popen(
            [part.format(port=port()) for part in command], stdout=log, stderr=log,
            env=service_environment(), start_new_session=True,
        )
        (run_dir() / f"{name}.pid").write_text(str(process.pid))
    wait_healthy()


def wait_healthy(timeout: float = 120) -> None:
    url = f"http://127.0.0.1:{port()}/api/v2/monitor/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(2)
    raise RuntimeError(f"Airflow api-server not healthy after {timeout}s; see {run_dir()}")


def stop() -> None:
    for name in SERVICES:
        pid = _pid(name)
        if pid:
            os.killpg(pid, signal.SIGTERM)
            print(f"stopped {name} ({pid})")
        (run_dir() / f"{name}.pid").unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["stop"]:
        stop()
        return 0
    start()
    user, password = login()
    print(f"Airflow UI: http://127.0.0.1:{port()}  login: {user} / {password}")
    print(f"logs: {run_dir()}  |  stop with: make stop")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
