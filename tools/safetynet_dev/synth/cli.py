"""``python -m safetynet_dev.synth`` (also ``python -m safetynet_dev.synth.generator``)."""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

from safetynet_dev.synth.cases import DEFAULT_DIRTY_RATIO, scripted_cases
from safetynet_dev.synth.generator import generate
from safetynet_dev.synth.reference import DEFAULT_REGIONS_CSV, DEFAULT_STANDARDS_CSV


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m safetynet_dev.synth",
        description="Write seeded synthetic landing extracts.",
    )
    parser.add_argument("--out", type=Path, required=True, help="landing directory")
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument("--start", type=date.fromisoformat, required=True)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--dirty-ratio",
        type=float,
        default=DEFAULT_DIRTY_RATIO,
        help="share of people spelled in accepted non-canonical forms (0 = none)",
    )
    parser.add_argument("--regions", type=Path, default=DEFAULT_REGIONS_CSV)
    parser.add_argument("--standards", type=Path, default=DEFAULT_STANDARDS_CSV)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument(
        "--list-cases", action="store_true", help="print the scripted boundary households and exit"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list_cases:
        script = scripted_cases(
            args.start, args.days, args.seed, args.dirty_ratio, args.regions, args.standards
        )
        for case in script.cases:
            print(f"{case.code}  {' '.join(case.household_ids)}  {case.title}")
        return 0
    summary = generate(
        args.out,
        args.households,
        args.start,
        args.days,
        args.seed,
        dirty_ratio=args.dirty_ratio,
        regions_csv=args.regions,
        standards_csv=args.standards,
        workers=args.workers,
    )
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    return 0
