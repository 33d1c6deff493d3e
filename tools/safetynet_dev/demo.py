"""``make demo``: generate extracts, run safetynet_daily through Airflow for
each day, print what it produced.

Before each day's run the case-system simulator delivers that day's casework
(contract section 9) from the feeds the demo already published, and the runs
get short follow-up deadlines so that overdue alerts really happen within the
demo's few days (its default days, 2026-10-01..03, are National Day holidays:
any deadline above 0 working days would fall after them). A deadline set in
the environment is kept.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import date, timedelta

from safetynet.config import Settings
from safetynet_dev import summary
from safetynet_dev.synth import casework, generator

# Demo deadlines in working days (contract defaults 5 / 10 / 20).
DEMO_DEADLINES = {
    "SAFETYNET_VERIFY_WORKDAYS_HIGH": "0",
    "SAFETYNET_VERIFY_WORKDAYS_MEDIUM": "0",
    "SAFETYNET_RESOLVE_WORKDAYS": "0",
}
CASEWORK_SEED = 11


def deadlines() -> dict[str, str]:
    """The demo's deadlines, unless the environment sets its own."""
    return {name: os.environ.get(name) or value for name, value in DEMO_DEADLINES.items()}


def run_day(day: date) -> bool:
    print(f"\n=== airflow dags test safetynet_daily {day} ===", flush=True)
    completed = subprocess.run(
        ["airflow", "dags", "test", "safetynet_daily", day.isoformat()],
        check=False,
        capture_output=True,
        text=True,
    )
    lines = completed.stdout.splitlines()
    failures = [line[:300] for line in lines if "SAFETYNET RUN FAILED" in line]
    for line in failures[-3:]:
        print(line)
    print(f"run for {day}: {'success' if completed.returncode == 0 else 'FAILED'}", flush=True)
    return completed.returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 10, 1))
    parser.add_argument("--days", type=int, default=3)
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    print(f"generating {args.households} households x {args.days} days into {settings.landing_dir}")
    generator.generate(settings.landing_dir, args.households, args.start, args.days)
    chosen = deadlines()
    print(
        "follow-up deadlines (working days): verify high "
        f"{chosen['SAFETYNET_VERIFY_WORKDAYS_HIGH']}, verify medium "
        f"{chosen['SAFETYNET_VERIFY_WORKDAYS_MEDIUM']}, resolve "
        f"{chosen['SAFETYNET_RESOLVE_WORKDAYS']} (contract defaults 5 / 10 / 20; the demo "
        "shortens them so that alerts fall overdue within its days, which from 2026-10-01 "
        "are National Day holidays; set the SAFETYNET_*_WORKDAYS variables to change them)"
    )
    os.environ.update(chosen)  # the runs and the summary's report see them
    days = [args.start + timedelta(days=i) for i in range(args.days)]
    results = []
    for day in days:
        folder = casework.deliver(
            settings.landing_dir,
            settings.feed_dir,
            day,
            seed=CASEWORK_SEED,
            feeds_since=args.start,
        )
        rows = casework.delivered_rows(folder)
        print(f"\ncasework {day}: {rows} decisions delivered by the case simulator ({folder})")
        results.append(run_day(day))
    print(summary.report(days))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
