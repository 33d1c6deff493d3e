"""``python -m safetynet.lineage load [FILE ...]``: load OpenLineage events (issue 21).

Without files: the events of the configured file transport
(``AIRFLOW__OPENLINEAGE__TRANSPORT``, local stack: var/reports/lineage/events-*.json) into
``audit.lineage_events`` of the warehouse (``AIRFLOW_CONN_WAREHOUSE``). Idempotent;
files older than a day before the newest stored event are skipped unless ``--all``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from safetynet.config import Settings
from safetynet.lineage import store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m safetynet.lineage", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    loading = commands.add_parser("load", help="load the event files into audit.lineage_events")
    loading.add_argument("files", nargs="*", type=Path, help="event files (default: transport)")
    loading.add_argument(
        "--all", action="store_true", help="read every file again, not only the recent ones"
    )
    args = parser.parse_args(argv)
    files = list(args.files) or None
    result = store.load(Settings.from_env().warehouse_url, files, everything=args.all)
    print(
        f"lineage 血缘: {result.events} events in {result.files} files, "
        f"{result.inserted} new rows in audit.lineage_events"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
