"""Seeded synthetic landing extracts, written exactly as the data contract says.

``generate(out_dir, households, start, days, seed)`` writes, for every day,
``<out>/<source>/<YYYY-MM-DD>/<files>`` for the four agencies' sources and, last in
each folder, ``_manifest.json`` (data rows and sha256 of the file bytes), and the
case system's casework of the day: header-only, as no feed exists yet when data is
generated (``casework.deliver`` writes decisions once feeds are published: the demo
and the benchmark call it before each day's run).
``python -m safetynet_dev.synth`` (or ``.synth.generator``) is its command line.

The parts (``safetynet_dev.synth``):

* ``formats``: the seven files as the loader's source specs describe them
  (``safetynet.ingest.sources.SPECS``); ``ids``: identity numbers by the
  rules of ``safetynet.identity``; ``reference``: regions and standards;
* ``population``: the random households (``plan``, ``households``), their
  day-to-day changes (``events``) and one day of one chunk as rows (``day``);
* ``cases``: the scripted boundary households and what the rules must give;
* ``writer``: the files and manifests of one extract date;
* ``casework``: the case-system simulator (contract section 9).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from datetime import date, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from safetynet_dev.synth import casework
from safetynet_dev.synth.cases import (
    DEFAULT_DIRTY_RATIO,
    Script,
    scripted_cases,
    scripted_household_count,
)
from safetynet_dev.synth.formats import BALANCES, CLAIMS, FORMATS
from safetynet_dev.synth.population.day import ChunkOutput, corrections, run_chunk
from safetynet_dev.synth.population.events import Events, day_events
from safetynet_dev.synth.population.households import Row
from safetynet_dev.synth.population.plan import CHUNK_HOUSEHOLDS, Plan, make_plan
from safetynet_dev.synth.reference import (
    DEFAULT_REGIONS_CSV,
    DEFAULT_STANDARDS_CSV,
    Standards,
    load_regions,
)
from safetynet_dev.synth.writer import ExtractDay

PoolMap = Callable[[Callable[[Any], ChunkOutput], Iterable[Any]], Iterator[ChunkOutput]]


def generate(
    out_dir: Path,
    households: int,
    start: date,
    days: int,
    seed: int = 7,
    *,
    dirty_ratio: float = DEFAULT_DIRTY_RATIO,
    regions_csv: Path = DEFAULT_REGIONS_CSV,
    standards_csv: Path = DEFAULT_STANDARDS_CSV,
    workers: int | None = None,
    chunk_households: int = CHUNK_HOUSEHOLDS,
) -> dict[str, Any]:
    """Write ``days`` extract dates from ``start`` for ``households`` households.

    ``households`` includes the scripted boundary households. Returns
    {"households", "scripted_households", "days": {date: {file: rows}}}.
    The bytes do not depend on ``workers``; each chunk of ``chunk_households`` has its
    own random streams (a test makes small chunks to have several).
    """
    if days < 1:
        raise ValueError("days must be >= 1")
    if not 0 <= dirty_ratio <= 1:
        raise ValueError("dirty_ratio must be within [0, 1]")
    script = scripted_cases(start, days, seed, dirty_ratio, regions_csv, standards_csv)
    scripted = scripted_household_count(script)
    if households < scripted:
        raise ValueError(f"need at least {scripted} households (the scripted cases)")
    standards = Standards.load(standards_csv)
    cities = {s.city for s in standards.rows}
    regions = [r for r in load_regions(regions_csv) if r.city in cities]
    plan = make_plan(
        households - scripted, start, seed, dirty_ratio, regions, standards, chunk_households
    )
    written = _write_days(out_dir, plan, script, days, workers)
    return {"households": households, "scripted_households": scripted, "days": written}


def _write_days(
    out_dir: Path, plan: Plan, script: Script, days: int, workers: int | None
) -> dict[str, dict[str, int]]:
    """Day after day (events accumulate, claims may be corrected later): {date: rows}."""
    written: dict[str, dict[str, int]] = {}
    events, claims_pool = Events(plan.chunk_of), []
    workers = min(workers or min(2, os.cpu_count() or 1), max(1, plan.chunks))
    pool = get_context("fork").Pool(workers) if workers > 1 else None
    try:
        pool_map: PoolMap = pool.imap if pool else map  # type: ignore[assignment]
        for day in range(days):
            events.add(day_events(plan, day))
            rows = _write_day(out_dir, plan, script, day, events, claims_pool, pool_map)
            written[(plan.start + timedelta(days=day)).isoformat()] = rows
    finally:
        if pool:
            pool.close()
            pool.join()
    return written


def _write_day(
    out_dir: Path,
    plan: Plan,
    script: Script,
    day: int,
    events: Events,
    claims_pool: list[Row],
    pool_map: PoolMap,
) -> dict[str, int]:
    """One extract date: the random households chunk by chunk, the claims corrected that
    day, then the scripted households' lines of the day; manifests last."""
    extract = ExtractDay(out_dir, plan.start + timedelta(days=day))
    new_claims: list[Row] = []
    jobs = ((plan, chunk, day, events.of(chunk)) for chunk in range(plan.chunks))
    for output in pool_map(run_chunk, jobs):
        for index, data in enumerate(output.data):
            extract.write(index, data, output.rows[index])
        (claims_pool if day == 0 else new_claims).extend(output.pool)
    extract.write_lines(CLAIMS, corrections(plan, day, claims_pool, len(new_claims)))
    claims_pool.extend(new_claims)
    as_of = extract.day.strftime("%Y%m%d")
    for index in range(len(FORMATS)):
        lines = script.lines(index, day)
        if index == BALANCES:
            lines = [line + as_of + "\n" for line in lines]
        extract.write_lines(index, lines)
    written = extract.finish()
    folder = casework.deliver(out_dir, None, extract.day)
    return {**written, casework.FILE_NAME: casework.delivered_rows(folder)}


if __name__ == "__main__":  # python -m safetynet_dev.synth.generator (make data)
    import sys

    from safetynet_dev.synth.cli import main

    sys.exit(main())
