"""(issue 21) OpenLineage dataset names of Safetynet: no credentials in any of them.

- a warehouse table: namespace ``postgres://<host>:<port>`` (what the dbt integration
  uses, so the tables the loads write are the ones dbt reads), name
  ``<database>.<schema>.<table>``;
- a delivered file: namespace ``file``, name ``landing/<source>/<date>/<file>``
  (relative to the landing folder, contract section 3);
- a feed file: namespace ``file``, name ``feed/<date>/<file>`` (relative to the feed
  folder).
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

FILE_NAMESPACE = "file"
LANDING, FEED = "landing", "feed"


def warehouse_namespace(url: str) -> str:
    """``postgres://host:port`` of a connection URL: user and password dropped."""
    parts = urlsplit(url)
    return f"postgres://{parts.hostname or 'localhost'}:{parts.port or 5432}"


def warehouse_database(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "postgres"


def table_name(url: str, table: str) -> str:
    """``raw.bank_balances`` → ``warehouse.raw.bank_balances``."""
    return f"{warehouse_database(url)}.{table}"


def landing_file(source: str, extract_date: date, file_name: str) -> str:
    return f"{LANDING}/{source}/{extract_date.isoformat()}/{file_name}"


def feed_file(extract_date: date, file_name: str) -> str:
    return f"{FEED}/{extract_date.isoformat()}/{file_name}"
