"""python -m safetynet.history compact|status|sql (issue 23, docs/history.md)."""

from __future__ import annotations

import argparse
import logging
import sys

from safetynet import config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m safetynet.history")
    parser.add_argument("command", choices=["compact", "status", "sql"])
    args = parser.parse_args(argv)
    if args.command == "sql":
        from safetynet.history.sql import history_sql

        sys.stdout.write(history_sql())
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from safetynet.history.compaction import compact, status

    settings = config.Settings.from_env()
    if args.command == "compact":
        report = compact(settings.warehouse_url, settings.snapshot_window_days)
        print(report.render())
    else:
        print(status(settings.warehouse_url, settings.snapshot_window_days))
    return 0


if __name__ == "__main__":
    sys.exit(main())
