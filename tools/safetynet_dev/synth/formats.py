"""The seven delivered files, as the loader reads them, and how values are spelled.

The file formats (columns, encoding, delimiter, header, BOM, line ends, file
name) are the loader's own source specs, ``safetynet.ingest.sources.SPECS``:
the generator writes exactly what the loader expects, from one statement of
contract section 2. This module only picks the seven files the generator
writes and numbers them (``HOUSEHOLDS`` ... ``BALANCES``) for the row lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from safetynet.ingest.sources import SPECS, FileSpec

# The generator's files, by raw table, in the order it writes them.
TABLES = (
    "civil_affairs_households",
    "civil_affairs_persons",
    "civil_affairs_enrollments",
    "health_medical_claims",
    "health_deaths",
    "housing_properties",
    "bank_balances",
)
HOUSEHOLDS, PERSONS, ENROLLMENTS, CLAIMS, DEATHS, PROPERTIES, BALANCES = range(len(TABLES))
_BY_TABLE = {spec.table: spec for spec in SPECS}
FORMATS: tuple[FileSpec, ...] = tuple(_BY_TABLE[table] for table in TABLES)
SOURCES: tuple[str, ...] = tuple(dict.fromkeys(spec.source for spec in FORMATS))
MANIFEST = "_manifest.json"
BOM = b"\xef\xbb\xbf"
URBAN, RURAL = "城镇", "农村"


def file_format(source: str, file_name: str) -> FileSpec:
    """The spec of a delivered file, from its source and name."""
    for spec in FORMATS:
        if spec.source == source and name_matches(spec, file_name):
            return spec
    raise KeyError(f"no file {file_name!r} in source {source!r}")


def name_matches(spec: FileSpec, file_name: str) -> bool:
    """Whether ``file_name`` is the spec's name for some date ('{yyyymmdd}' = 8 digits)."""
    head, _, tail = spec.name_pattern.partition("{yyyymmdd}")
    if not tail:
        return file_name == spec.name_pattern
    middle = file_name[len(head) : len(file_name) - len(tail)]
    return (
        file_name.startswith(head)
        and file_name.endswith(tail)
        and len(middle) == 8
        and middle.isdigit()
    )


def id_column(spec: FileSpec) -> str | None:
    """The file's id_number column (checked and keyed by the loader), if it has one."""
    return next((column.name for column in spec.columns if column.check == "id"), None)


def header_bytes(spec: FileSpec) -> bytes:
    """What a file starts with: the BOM, if any, and the header line, if any."""
    text = spec.delimiter.join(spec.column_names) + spec.line_end if spec.header else ""
    return (BOM if spec.bom else b"") + text.encode(spec.encoding)


# ---------------------------------------------------------------- values


def csv_field(text: str) -> str:
    """Quote a field when it holds the delimiter, a quote or a line break."""
    if "," in text or '"' in text or "\n" in text or "\r" in text or "|" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def money(fen: int) -> str:
    """CNY with 2 decimals from an integer amount of fen (>= 0)."""
    return f"{fen // 100}.{fen % 100:02d}"


_ISO_CACHE: dict[int, str] = {}


def iso(ordinal: int) -> str:
    """YYYY-MM-DD of a proleptic Gregorian ordinal (cached: the generator asks often)."""
    text = _ISO_CACHE.get(ordinal)
    if text is None:
        text = _ISO_CACHE[ordinal] = date.fromordinal(ordinal).isoformat()
    return text


def claim_line(row: Sequence[Any]) -> str:
    """[claim_id, version, id, hospital, admission, settlement, diagnosis, total, fund]."""
    total, fund = row[7], row[8]
    return (
        f"{row[0]},{row[1]},{row[2]},{row[3]},{row[4]},{row[5]},{row[6]},"
        f"{money(total)},{money(fund)},{money(total - fund)}\n"
    )
