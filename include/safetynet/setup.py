"""Prepare the local stack: Airflow metadata database, the warehouse schema, the loader's
compiled row filter and (issue 23) dbt_build's parse cache.

Run by ``make up`` after the PostgreSQL cluster is started; idempotent.
"""

from __future__ import annotations

import subprocess

from safetynet import dbtrun, warehouse
from safetynet.config import Settings
from safetynet.ingest import rowfilter


def main() -> None:
    settings = Settings.from_env()
    warehouse.ensure_schema(settings.warehouse_url)
    for folder in (settings.landing_dir, settings.feed_dir, settings.reports_dir):
        folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["airflow", "db", "migrate"], check=True, capture_output=True)
    print(f"warehouse schema ready; Airflow metadata migrated; row filter {rowfilter.executable()}")
    dbtrun.main()


if __name__ == "__main__":
    main()
