"""Prepare the local stack: Airflow metadata database and the warehouse schema.

Run by ``make up`` after the PostgreSQL cluster is started; idempotent.
"""

from __future__ import annotations

import subprocess

from safetynet import warehouse
from safetynet.config import Settings


def main() -> None:
    settings = Settings.from_env()
    warehouse.ensure_schema(settings.warehouse_url)
    for folder in (settings.landing_dir, settings.feed_dir, settings.reports_dir):
        folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["airflow", "db", "migrate"], check=True, capture_output=True)
    print("warehouse schema ready; Airflow metadata migrated")


if __name__ == "__main__":
    main()
