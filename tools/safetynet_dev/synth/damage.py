"""Damaged deliveries for tests, made from a landing zone written by the generator.

Every helper keeps the damaged file's conventions (encoding, line ends, BOM,
header, delimiter: the loader's source specs, via ``formats``). ``truncate_file`` and
``flip_byte`` leave ``_manifest.json`` alone, so the row count / sha256
check catches them; ``drop_column`` and ``invalidate_ids`` rewrite the
manifest, so only the header check or the row validation can.
"""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
from datetime import date
from pathlib import Path

from safetynet.identity import CHECK_CHARS, normalise_id
from safetynet.ingest.manifest import file_facts
from safetynet.ingest.sources import FileSpec
from safetynet_dev.synth.formats import BOM, FORMATS, MANIFEST, file_format, id_column
from safetynet_dev.synth.writer import write_manifest


def folder(landing: Path, source: str, extract_date: date | str) -> Path:
    day = extract_date if isinstance(extract_date, str) else extract_date.isoformat()
    return Path(landing) / source / day


def _spec_of(path: Path) -> FileSpec:
    return file_format(path.parent.parent.name, path.name)


# ---------------------------------------------------------------- manifest left stale


def truncate_file(path: Path, keep_fraction: float) -> int:
    """Keep the first ``keep_fraction`` of the bytes (as a broken transfer would).

    The cut may fall inside a line or a multi-byte character. Returns the new size.
    """
    data = Path(path).read_bytes()
    keep = min(len(data) - 1, int(len(data) * keep_fraction)) if data else 0
    Path(path).write_bytes(data[: max(0, keep)])
    return max(0, keep)


def flip_byte(path: Path, offset: int | None = None) -> int:
    """Flip the lowest bit of one byte; returns its offset.

    Without ``offset`` the first ASCII digit from the middle of the file is
    chosen, so the file still decodes and keeps its row count: only the
    sha256 tells.
    """
    data = bytearray(Path(path).read_bytes())
    if not data:
        raise ValueError(f"{path} is empty")
    if offset is None:
        middle = len(data) // 2
        offset = next((i for i in range(middle, len(data)) if 0x30 <= data[i] <= 0x39), middle)
    data[offset] ^= 0x01
    Path(path).write_bytes(bytes(data))
    return offset


# ---------------------------------------------------------------- rewritten with manifest


def read_records(path: Path) -> tuple[list[str] | None, list[list[str]]]:
    """(header or None, data records) of a delivered file, decoded per its format."""
    spec = _spec_of(Path(path))
    data = Path(path).read_bytes()
    if spec.bom and data.startswith(BOM):
        data = data[len(BOM) :]
    reader = csv.reader(
        io.StringIO(data.decode(spec.encoding), newline=""), delimiter=spec.delimiter
    )
    records = list(reader)
    header = records.pop(0) if spec.header and records else None
    return header, records


def write_records(path: Path, header: list[str] | None, records: list[list[str]]) -> None:
    """Write records in the file's own encoding, line ends, BOM and delimiter."""
    spec = _spec_of(Path(path))
    text = io.StringIO(newline="")
    writer = csv.writer(text, delimiter=spec.delimiter, lineterminator=spec.line_end)
    if header is not None:
        writer.writerow(header)
    writer.writerows(records)
    Path(path).write_bytes((BOM if spec.bom else b"") + text.getvalue().encode(spec.encoding))


def drop_column(
    landing: Path, source: str, extract_date: date | str, file_name: str, column: str
) -> Path:
    """Remove ``column`` (a contract column name) from header and rows; manifest updated."""
    path = folder(landing, source, extract_date) / file_name
    spec = _spec_of(path)
    header, records = read_records(path)
    names = header if header is not None else spec.column_names
    index = names.index(column)
    write_records(
        path,
        None if header is None else names[:index] + names[index + 1 :],
        [r[:index] + r[index + 1 :] for r in records],
    )
    rewrite_manifest(path.parent)
    return path


def invalidate_ids(
    landing: Path,
    source: str,
    extract_date: date | str,
    file_name: str,
    ratio: float,
    seed: int = 0,
) -> int:
    """Give ``ratio`` of the rows an id_number with a wrong check character.

    The damaged id is the normalised 18-character number with another check
    character, so it fails validation whatever the original spelling. The
    manifest is updated. Returns how many rows were damaged (at least one
    when ``ratio`` > 0 and the file has rows).
    """
    path = folder(landing, source, extract_date) / file_name
    spec = _spec_of(path)
    id_name = id_column(spec)
    if id_name is None:
        raise ValueError(f"{file_name} has no id_number column")
    header, records = read_records(path)
    column = spec.column_names.index(id_name)
    count = min(len(records), max(1 if ratio > 0 else 0, round(len(records) * ratio)))
    for row in random.Random(seed).sample(range(len(records)), count):
        valid = normalise_id(records[row][column])
        wrong = CHECK_CHARS[(CHECK_CHARS.index(valid[17]) + 1) % len(CHECK_CHARS)]
        records[row][column] = valid[:17] + wrong
    write_records(path, header, records)
    rewrite_manifest(path.parent)
    return count


def remove_source(landing: Path, source: str, extract_date: date | str) -> None:
    """The source's folder of that date disappears (data files and manifest)."""
    shutil.rmtree(folder(landing, source, extract_date))


def rewrite_manifest(extract_folder: Path) -> dict:
    """Recompute rows and sha256 of the folder's files; the manifest is written last.

    The files are those listed by the current manifest that still exist, or
    else every data file of the folder, in contract order.
    """
    extract_folder = Path(extract_folder)
    source, day = extract_folder.parent.name, extract_folder.name
    manifest = extract_folder / MANIFEST
    if manifest.exists():
        names = [f["name"] for f in json.loads(manifest.read_text(encoding="utf-8"))["files"]]
    else:
        order = {spec.name_pattern: i for i, spec in enumerate(FORMATS)}
        names = sorted(
            (
                p.name
                for p in extract_folder.iterdir()
                if p.is_file() and not p.name.startswith(("_", "."))
            ),
            key=lambda n: order.get(_spec_pattern(source, n), 99),
        )
    files = []
    for name in names:
        path = extract_folder / name
        if path.exists():
            facts = file_facts(path, file_format(source, name).header)
            files.append({"name": name, "rows": facts.rows, "sha256": facts.sha256})
    write_manifest(extract_folder, source, day, files)
    return {"source": source, "extract_date": day, "files": files}


def _spec_pattern(source: str, name: str) -> str:
    try:
        return file_format(source, name).name_pattern
    except KeyError:
        return name
