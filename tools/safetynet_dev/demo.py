"""``make demo``: generate extracts, run safetynet_daily through Airflow for
each day, print what it produced."""

from __future__ import annotations

import argparse
import subprocess
import sys
from datetime import date, timedelta

from safetynet.config import Settings
from safetynet_dev import summary
from safetynet_dev.synth import generator


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
    days = [args.start + timedelta(days=i) for i in range(args.days)]
    results = [run_day(day) for day in days]
    print(summary.report(days))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
