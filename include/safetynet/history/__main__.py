"""python -m safetynet.history compact|status|sql (issue 23, docs/history.md)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import date

from safetynet import config

DEFERRED = 75  # EX_TEMPFAIL: the warehouse was busy, nothing folded; run it again later


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m safetynet.history")
    parser.add_argument("command", choices=["compact", "status", "sql"])
    args = parser.parse_args(argv)
    if args.command == "sql":
        from safetynet.history.sql import history_sql

        sys.stdout.write(history_sql())
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from safetynet.history.compaction import status

    settings = config.Settings.from_env()
    if args.command == "compact":
        return compact_under_lease(settings)
    print(status(settings.warehouse_url, settings.snapshot_window_days))
    return 0


def compact_under_lease(settings: config.Settings) -> int:
    """``make compact``: fold under the warehouse lease, as the DAG's compact_history
    does (waits up to SAFETYNET_LEASE_WAIT, then folds nothing and exits 75)."""
    from safetynet.history.compaction import compact_leased

    report = compact_leased(
        settings.warehouse_url,
        settings.snapshot_window_days,
        f"make-compact-{os.getpid()}",
        date.today(),
    )
    if report is None:
        print("compaction deferred, nothing folded: the warehouse is busy", file=sys.stderr)
        return DEFERRED
    print(report.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
