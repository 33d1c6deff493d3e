"""Settings of a Safetynet deployment, read from the environment.

Every setting has a working default for the local set-up (everything under
``var/`` in the project folder); a deployment overrides them with the
environment variables of the contract (section 7) and a few of its own.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
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
# The local cluster trusts 127.0.0.1 (throwaway data); dbt profile mappings
# insist on a password, so the local URL carries this placeholder. Not a secret.
LOCAL_PASSWORD = "local-trust-auth"


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


def var_dir() -> Path:
    """Folder that holds all local generated state (git-ignored)."""
    return Path(_env("SAFETYNET_VAR_DIR", str(project_home() / "var")))


def local_pg_port() -> int:
    return int(_env("SAFETYNET_PG_PORT", "55432"))


def local_warehouse_url() -> str:
    return f"postgresql://safetynet:{LOCAL_PASSWORD}@127.0.0.1:{local_pg_port()}/warehouse"


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    feed_dir: Path
    reports_dir: Path
    source_timeout: int
    warehouse_url: str

    @classmethod
    def from_env(cls) -> Settings:
        var = var_dir()
        return cls(
            landing_dir=Path(_env("SAFETYNET_LANDING_DIR", str(var / "landing"))),
            feed_dir=Path(_env("SAFETYNET_FEED_DIR", str(var / "feed"))),
            reports_dir=Path(_env("SAFETYNET_REPORTS_DIR", str(var / "reports"))),
            source_timeout=int(_env("SAFETYNET_SOURCE_TIMEOUT", "3600")),
            warehouse_url=_env("AIRFLOW_CONN_WAREHOUSE", local_warehouse_url()),
        )


def pseudonym_key() -> str:
    """The HMAC key for person_key. Read only where it is used; never logged."""
    return _env("SAFETYNET_PSEUDONYM_KEY", "local-development-key")
