"""The deployment's reference data (dbt seeds): regions and DIBAO standards.

Generated households fall in the regions of ``regions.csv`` whose city has a
DIBAO standard in ``dibao_standards.csv``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from safetynet import config

SEEDS_DIR = config.dbt_project_dir() / "seeds"
DEFAULT_REGIONS_CSV = SEEDS_DIR / "regions.csv"
DEFAULT_STANDARDS_CSV = SEEDS_DIR / "dibao_standards.csv"


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    city: str


def load_regions(path: Path) -> list[Region]:
    lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:] if line]
    return [Region(r["region_code"], r["region_name"], r["region_code"][:4] + "00") for r in rows]


@dataclass(frozen=True)
class Standard:
    city: str
    urban_rural: str
    effective: date
    dibao: Decimal


class Standards:
    """DIBAO standards; the one in force on D has the latest effective_date <= D."""

    def __init__(self, rows: Iterable[Standard]) -> None:
        self.rows = sorted(rows, key=lambda s: (s.city, s.urban_rural, s.effective))

    @classmethod
    def load(cls, path: Path) -> Standards:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return cls(
                Standard(
                    r["city_code"],
                    r["urban_rural"],
                    date.fromisoformat(r["effective_date"]),
                    Decimal(r["dibao_monthly"]),
                )
                for r in csv.DictReader(handle)
                if r["dibao_monthly"]
            )

    def dibao(self, city: str, urban_rural: str, day: date) -> Decimal | None:
        found = None
        for s in self.rows:
            if s.city == city and s.urban_rural == urban_rural and s.effective <= day:
                found = s.dibao
        return found

    def changes(self, city: str, urban_rural: str, first: date, last: date) -> list[date]:
        return [
            s.effective
            for s in self.rows
            if s.city == city and s.urban_rural == urban_rural and first <= s.effective <= last
        ]


def fen(amount: Decimal) -> int:
    """A standard in whole fen (a standard with a fraction of a fen is refused)."""
    value = amount * 100
    if value != value.to_integral_value():
        raise ValueError(f"standard {amount} is not a whole number of fen")
    return int(value)
