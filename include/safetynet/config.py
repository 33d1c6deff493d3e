"""Settings of a Safetynet deployment, read from the environment.

Every setting has a working default for the local set-up (everything under
``var/`` in the project folder); a deployment overrides them with the
environment variables of the contract (section 7) and a few of its own.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

SOURCES = ("civil_affairs", "health", "housing", "bank", "casework")
# Load order when slots are short: the largest deliveries first (a million-person day:
# civil affairs 1.6M rows, bank 1.5M, housing 0.3M, health a few thousand after
# day 1, casework a few hundred decisions), so the small ones fill the gaps and the
# load stage ends sooner.
LOAD_PRIORITY = {"civil_affairs": 5, "bank": 4, "housing": 3, "health": 2, "casework": 1}
# (v2) Sources whose rejected rows never block the day, whatever their share: they
# are reported as a warning (contract section 9: a worker's typo in the case system
# must not stop the day's new alerts). A corrupt or missing delivery still blocks.
REJECTS_NEVER_BLOCK = frozenset({"casework"})
# SAFETYNET_ENVIRONMENT: "local" only for the embedded stack of `make` (make env and
# the tests set it); anything else, unset included, is a deployment and strict.
LOCAL_ENVIRONMENT = "local"
# person_key keys that are public (the contract's sample, the tests, old defaults,
# .env.example's placeholder): accepted on the local stack only.
DEVELOPMENT_KEYS = frozenset(
    {"local-development-key", "sample-key", "test-key", "change-me", "changeme"}
)
MIN_KEY_BYTES = 32
# The local cluster's password: generated on first use by safetynet_dev's localpg
# into this file (0600, libpq pgpass format, so PGPASSFILE can point at it too).
LOCAL_PASSWORD_FILE = "pgpass"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "")
    return value if value else default


@cache
def _installed_from() -> Path | None:
    """The project folder pip installed this package from (PEP 610 ``direct_url.json``),
    for an editable install (``make venv``) or ``pip install .`` in the image."""
    try:
        record = metadata.distribution("safetynet").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    url = urlparse(json.loads(record or "{}").get("url", ""))
    return Path(unquote(url.path)) if url.scheme == "file" else None


def project_home() -> Path:
    """The deployment's project folder: ``dbt_project/``, ``expectations/`` and, locally,
    ``var/``. ``SAFETYNET_HOME`` when set (the image sets it), else the folder the
    package was installed from."""
    home = os.environ.get("SAFETYNET_HOME") or _installed_from()
    if home is None:
        raise RuntimeError("safetynet is not installed from a project folder: set SAFETYNET_HOME")
    return Path(home)


def dbt_project_dir() -> Path:
    return project_home() / "dbt_project"


def checks_dir() -> Path:
    """The data-quality checks (YAML suites) of ``expectations/``."""
    return project_home() / "expectations"


def start_date() -> date:
    """The first extract date of the DAG (``SAFETYNET_START_DATE``, default 2026-10-01):
    ``make run`` and ``make backfill`` refuse an earlier date."""
    return date.fromisoformat(_env("SAFETYNET_START_DATE", "2026-10-01"))


def var_dir() -> Path:
    """Folder that holds all local generated state (git-ignored)."""
    return Path(_env("SAFETYNET_VAR_DIR", str(project_home() / "var")))


def local_pg_port() -> int:
    return int(_env("SAFETYNET_PG_PORT", "55432"))


def local_password_file() -> Path:
    return var_dir() / LOCAL_PASSWORD_FILE


def read_password_file(path: Path) -> str:
    """The password of a pgpass file written by localpg (its first line's last field);
    empty if there is no file yet."""
    try:
        first = path.read_text(encoding="utf-8").splitlines()[0]
    except (FileNotFoundError, IndexError):
        return ""
    return first.rsplit(":", 1)[-1].strip()


def local_password() -> str:
    return read_password_file(local_password_file())


def local_warehouse_url() -> str:
    return f"postgresql://safetynet:{local_password()}@127.0.0.1:{local_pg_port()}/warehouse"


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    feed_dir: Path
    reports_dir: Path
    source_timeout: int
    warehouse_url: str
    # issue 23: the newest N processed dates keep whole snapshots (docs/history.md)
    snapshot_window_days: int = 14

    @classmethod
    def from_env(cls) -> Settings:
        var = var_dir()
        return cls(
            landing_dir=Path(_env("SAFETYNET_LANDING_DIR", str(var / "landing"))),
            feed_dir=Path(_env("SAFETYNET_FEED_DIR", str(var / "feed"))),
            reports_dir=Path(_env("SAFETYNET_REPORTS_DIR", str(var / "reports"))),
            source_timeout=int(_env("SAFETYNET_SOURCE_TIMEOUT", "3600")),
            warehouse_url=_env("AIRFLOW_CONN_WAREHOUSE", local_warehouse_url()),
            snapshot_window_days=snapshot_window_days(),
        )


class SettingError(ValueError):
    """A setting from the environment has a value the pipeline cannot use."""


def snapshot_window_days() -> int:
    """SAFETYNET_SNAPSHOT_WINDOW_DAYS (issue 23): how many of the newest processed
    dates keep whole snapshots; older ones are folded into the change history.
    An integer >= 1 (1: only the date just built), default 14."""
    value = _env("SAFETYNET_SNAPSHOT_WINDOW_DAYS", "14").strip()
    try:
        days = int(value)
    except ValueError:
        days = 0
    if days < 1 or not value.lstrip("+").isdigit():
        raise SettingError(
            f"SAFETYNET_SNAPSHOT_WINDOW_DAYS must be a whole number of days >= 1, got {value!r}"
        )
    return days


class PseudonymKeyError(RuntimeError):
    """The person_key key is missing, weak or public; ``check`` names the failed check.
    The message never holds the key."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"[{check}] {message}")
        self.check = check


def environment() -> str:
    """``local`` for the embedded stack of `make` (set by `make env` and the tests),
    else ``production``: unset means production, so an image or a worker that lacks
    the variable is held to the strict rules."""
    value = os.environ.get("SAFETYNET_ENVIRONMENT", "").strip().lower()
    return LOCAL_ENVIRONMENT if value == LOCAL_ENVIRONMENT else "production"


def is_local() -> bool:
    return environment() == LOCAL_ENVIRONMENT


def _read_key() -> str:
    """``SAFETYNET_PSEUDONYM_KEY``, else the file ``SAFETYNET_PSEUDONYM_KEY_FILE`` names
    (a Docker secret; one trailing newline dropped)."""
    value = os.environ.get("SAFETYNET_PSEUDONYM_KEY", "")
    path = os.environ.get("SAFETYNET_PSEUDONYM_KEY_FILE", "")
    if not value and path:
        try:
            value = Path(path).read_text(encoding="utf-8").removesuffix("\n")
        except OSError as error:
            raise PseudonymKeyError(
                "pseudonym_key_missing",
                f"SAFETYNET_PSEUDONYM_KEY_FILE={path} cannot be read ({error.strerror})",
            ) from None
    return value


def check_pseudonym_key(key: str) -> None:
    """Refuse a key a deployment must not use: empty, shorter than 32 bytes, or a
    public development value. Names the check, never the key."""
    if not key:
        raise PseudonymKeyError(
            "pseudonym_key_missing",
            "SAFETYNET_PSEUDONYM_KEY (or SAFETYNET_PSEUDONYM_KEY_FILE) is not set: refusing "
            "to compute person_keys that would join nothing (the local stack sets "
            "SAFETYNET_ENVIRONMENT=local)",
        )
    lowered = key.strip().lower()
    if lowered in DEVELOPMENT_KEYS or "change-me" in lowered or "changeme" in lowered:
        raise PseudonymKeyError(
            "pseudonym_key_development",
            "SAFETYNET_PSEUDONYM_KEY is a public development value: generate one "
            "(openssl rand -hex 32)",
        )
    if len(key.encode("utf-8")) < MIN_KEY_BYTES:
        raise PseudonymKeyError(
            "pseudonym_key_short",
            f"SAFETYNET_PSEUDONYM_KEY is shorter than {MIN_KEY_BYTES} bytes: generate one "
            "(openssl rand -hex 32)",
        )


def pseudonym_key() -> str:
    """The HMAC key for person_key. Read only where it is used; never logged.

    On the local stack (``SAFETYNET_ENVIRONMENT=local``) any key goes, the contract's
    ``sample-key`` and the tests' keys included, and a fixed development key is the
    default; anywhere else ``check_pseudonym_key`` must pass."""
    key = _read_key()
    if is_local():
        key = key or "local-development-key"
    else:
        check_pseudonym_key(key)
    mask_in_logs(key)
    return key


def mask_in_logs(secret: str) -> None:
    """Register ``secret`` with Airflow's secrets masker (Airflow 3 task SDK: in the task
    process and, through it, its supervisor), so any log line holding it shows ``***``.
    Outside a task it only fills this process's masker; without Airflow, nothing."""
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - every deployment has Airflow
        return
    mask_secret(secret)
