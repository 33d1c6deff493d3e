"""The plan of the random population: small, picklable, shared with the workers.

Random households are produced in chunks of ``chunk_households``; every chunk
has its own ``random.Random`` streams seeded from (seed, chunk), so the bytes
do not depend on the number of worker processes.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from safetynet_dev.synth import ids
from safetynet_dev.synth.formats import RURAL, URBAN
from safetynet_dev.synth.reference import Region, Standards, fen

CHUNK_HOUSEHOLDS = 4000
MAX_RANDOM_HOUSEHOLDS = 700_000  # serial spaces of certificates and accounts
FALLBACK_STANDARD_FEN = 60000  # a region whose city has no standard on the start date


@dataclass(frozen=True)
class Plan:
    """Everything a worker needs to write its chunk of households for a day."""

    seed: int
    start: date
    n_random: int
    dirty_ratio: float
    regions: tuple[Region, ...]
    s_fen: tuple[tuple[int, int], ...]  # per region: (urban, rural) DIBAO standard at start
    region_sums: tuple[int, ...]  # weighted id digit sums of the region codes
    mult: int  # household index -> (region, serial): a bijection of 0..n_random-1
    add: int
    chunk_households: int = CHUNK_HOUSEHOLDS

    @property
    def chunks(self) -> int:
        return -(-self.n_random // self.chunk_households)

    def chunk_of(self, household: int) -> int:
        return household // self.chunk_households

    def salt(self, label: str) -> int:
        digest = hashlib.sha256(f"{self.seed}:{label}".encode()).digest()
        return int.from_bytes(digest[:8], "big")


def make_plan(
    n_random: int,
    start: date,
    seed: int,
    dirty_ratio: float,
    regions: Sequence[Region],
    standards: Standards,
    chunk_households: int = CHUNK_HOUSEHOLDS,
) -> Plan:
    limit = min(MAX_RANDOM_HOUSEHOLDS, ids.ID_CAPACITY // 8 * len(regions))
    if n_random > limit:
        raise ValueError(
            f"at most {limit} households with {len(regions)} regions "
            "(unique id, account and certificate numbers)"
        )
    return Plan(
        seed,
        start,
        n_random,
        dirty_ratio,
        tuple(regions),
        tuple(_standards_at_start(region, standards, start) for region in regions),
        tuple(ids.region_sum(r.code) for r in regions),
        _coprime_multiplier(n_random),
        seed * 7_919 % max(n_random, 1),
        chunk_households,
    )


def _standards_at_start(region: Region, standards: Standards, start: date) -> tuple[int, int]:
    urban, rural = (standards.dibao(region.city, ur, start) for ur in (URBAN, RURAL))
    return (
        fen(urban) if urban is not None else FALLBACK_STANDARD_FEN,
        fen(rural) if rural is not None else FALLBACK_STANDARD_FEN,
    )


def _coprime_multiplier(modulus: int, fraction: float = 0.6180339887) -> int:
    if modulus <= 2:
        return 1
    candidate = max(1, int(modulus * fraction)) | 1
    while math.gcd(candidate, modulus) != 1:
        candidate += 2
    return candidate
