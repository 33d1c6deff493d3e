"""Settings of a Safetynet deployment, read from the environment.

Every setting has a working default for the local set-up (everything under
``var/`` in the project folder); a deployment overrides them with the
environment variables of the contract (section 7) and a few of its own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONTRACT_REFERENCE = PROJECT_ROOT / "dbt_project" / "seeds"

SOURCES = ("civil_affairs", "health", "housing", "bank")
# Load order when slots are short: the largest deliveries first (a million-person day:
# civil affairs 1.6M rows, bank 1.5M, housing 0.3M, health a few thousand after
# day 1), so the small ones fill the gaps and the load stage ends sooner.
LOAD_PRIORITY = {"civil_affairs": 4, "bank": 3, "housing": 2, "health": 1}
# The local cluster trusts 127.0.0.1 (throwaway data); dbt profile mappings
# insist on a password, so the local URL carries this placeholder. Not a secret.
LOCAL_PASSWORD = "local-trust-auth"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "")
    return value if value else default


def var_dir() -> Path:
    """Folder that holds all local generated state (git-ignored)."""
    return Path(_env("SAFETYNET_VAR_DIR", str(PROJECT_ROOT / "var")))


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
