"""Checks of a delivery against its manifest (contract section 1).

Everything here streams: a file is read in 1 MiB chunks, never held whole.
A failed check raises ``DeliveryError`` naming the file and what differed.

Hostile deliveries: a source's date folder must resolve inside the landing
folder (no symlink out), and the manifest and data files must be regular files
(no symlink, FIFO or device: opened with O_NOFOLLOW and O_NONBLOCK, then
checked), else ``DeliveryError("unsafe_file")``. The row filter checks the same
when it opens the file, and hashes the bytes it loads (``rowcheck``), so a file
swapped after these checks cannot load unverified.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from safetynet import privacy
from safetynet.ingest.sources import FileSpec

CHUNK = 1 << 20
MAX_MANIFEST = 1 << 20  # a manifest lists a few files
BOM = b"\xef\xbb\xbf"


class DeliveryError(Exception):
    """A delivery that cannot be loaded; ``check`` names the failed check."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"[{check}] {message}")
        self.check = check
        self.message = message


@dataclass(frozen=True)
class ManifestFile:
    name: str
    rows: int
    sha256: str


@dataclass(frozen=True)
class FileFacts:
    rows: int
    sha256: str


def source_folder(landing: Path, source: str, extract_date: date) -> Path:
    return landing / source / extract_date.isoformat()


def check_inside_landing(landing: Path, folder: Path, label: str) -> None:
    """The delivery's folder must be a folder inside the landing folder, resolved."""
    root = landing.resolve()
    try:
        real = folder.resolve(strict=True)
    except OSError:
        return  # absent: the manifest check reports it
    if not real.is_relative_to(root) or real == root:
        raise DeliveryError("unsafe_file", f"{label} leads outside the landing folder")
    if not real.is_dir():
        raise DeliveryError("unsafe_file", f"{label} is not a folder")


def open_regular(path: Path, label: str) -> int:
    """A descriptor of ``path`` if it is a regular file: never follows a symlink in its
    last part, never blocks on a FIFO, refuses devices and folders."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        if os.path.islink(path):
            raise DeliveryError("unsafe_file", f"{label} is a symbolic link") from error
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise DeliveryError("unsafe_file", f"{label} is not a regular file")
    os.set_blocking(fd, True)
    return fd


def manifest_path(landing: Path, source: str, extract_date: date) -> Path:
    return source_folder(landing, source, extract_date) / "_manifest.json"


def read_manifest(landing: Path, source: str, extract_date: date) -> dict[str, ManifestFile]:
    path = manifest_path(landing, source, extract_date)
    label = f"{source}/{extract_date.isoformat()}/_manifest.json"
    check_inside_landing(landing, path.parent, f"{source}/{extract_date.isoformat()}")
    if not path.exists() and not path.is_symlink():
        raise DeliveryError("manifest_missing", f"{label} has not arrived")
    with open(open_regular(path, label), "rb") as handle:
        text = handle.read(MAX_MANIFEST + 1)
    if len(text) > MAX_MANIFEST:
        raise DeliveryError("manifest_invalid", f"{label} is larger than {MAX_MANIFEST} bytes")
    try:
        document = json.loads(text.decode("utf-8"))
        files = {
            f["name"]: ManifestFile(f["name"], int(f["rows"]), str(f["sha256"]).lower())
            for f in document["files"]
        }
    except (ValueError, KeyError, TypeError) as error:
        raise DeliveryError("manifest_invalid", f"{label} cannot be read: {error}") from error
    if document.get("source") != source or document.get("extract_date") != extract_date.isoformat():
        raise DeliveryError(
            "manifest_invalid",
            f"{label} is for {document.get('source')}/{document.get('extract_date')}",
        )
    return files


def file_facts(path: Path, has_header: bool, multiline: bool = False, label: str = "") -> FileFacts:
    """Data rows (CSV records, minus the header) and sha256.

    Contract section 2: ``rows`` counts data rows, and any CSV source quotes with
    ``"``, so a quoted value may hold a line break (a casework note, ``multiline``;
    an address in any file). A file without a quote has one record per line end
    (plus an unterminated last line); a file with quotes is split as the row filter
    splits it (``count_records``)."""
    fd = open_regular(path, label or path.name)
    if multiline:
        with open(fd, "rb") as handle:
            return _record_facts(handle.read(), has_header)
    digest = hashlib.sha256()
    newlines = quotes = 0
    last = b""
    with open(fd, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            newlines += chunk.count(b"\n")
            quotes += chunk.count(b'"')
            last = chunk[-1:]
    if quotes:  # rare (a value with a comma or a quote): the file again, record by record
        with open(open_regular(path, label or path.name), "rb") as handle:
            rows = count_records(handle.read())
    else:
        rows = newlines + (1 if last and last != b"\n" else 0)
    return FileFacts(max(rows - (1 if has_header else 0), 0), digest.hexdigest())


def _record_facts(data: bytes, has_header: bool) -> FileFacts:
    records = count_records(data)
    return FileFacts(max(records - (1 if has_header else 0), 0), hashlib.sha256(data).hexdigest())


# A quoted value may hold line breaks up to this many bytes (rowfilter.c, MAX_QUOTED).
MAX_QUOTED = 64 << 10


def count_records(data: bytes) -> int:
    """CSV records of ``data`` exactly as the row filter splits them (rowfilter.c,
    ``record_end``): a line break inside quotes belongs to its record; a quote still
    open after MAX_QUOTED bytes or at the end makes the record its first line only."""
    records, pos, size = 0, 0, len(data)
    while pos < size:
        pos += _record_length(data, pos) + 1
        records += 1
    return records


def _record_length(data: bytes, start: int) -> int:
    newline = data.find(b"\n", start)
    until = (newline if newline >= 0 else len(data)) - start
    if data.find(b'"', start, start + until) < 0:  # most records hold no quote
        return until
    size = len(data) - start
    in_quote, first_newline = False, size
    for i in range(size):
        byte = data[start + i]
        if byte == 0x22:
            in_quote = not in_quote
        elif byte == 0x0A:
            if not in_quote:
                return i
            first_newline = min(first_newline, i)
        if in_quote and i >= MAX_QUOTED and first_newline < size:
            break
    return size if not in_quote else first_newline


def verify_file(folder: Path, spec: FileSpec, listed: ManifestFile) -> FileFacts:
    label = f"{spec.source}/{folder.name}/{listed.name}"
    path = folder / listed.name
    if not path.exists() and not path.is_symlink():
        raise DeliveryError("file_missing", f"{label} is listed in the manifest but absent")
    if Path(listed.name).name != listed.name or listed.name.startswith("."):
        raise DeliveryError("unsafe_file", f"{label}: a file name, not a path, is expected")
    facts = file_facts(path, spec.header, spec.multiline, label)
    if facts.rows != listed.rows:
        raise DeliveryError("row_count", f"{label}: {facts.rows} rows, manifest says {listed.rows}")
    if facts.sha256 != listed.sha256:
        raise DeliveryError(
            "checksum", f"{label}: sha256 {facts.sha256}, manifest says {listed.sha256}"
        )
    return facts


HEADER_LIMIT = 64 << 10  # a header longer than a record may be is no header


def read_header(path: Path, spec: FileSpec) -> list[str]:
    with open(open_regular(path, path.name), "rb") as handle:
        first = handle.readline(HEADER_LIMIT)
    if first.startswith(BOM):
        first = first[len(BOM) :]
    encoding = "gb18030" if spec.encoding == "GB18030" else "utf-8"
    text = first.decode(encoding, errors="replace").rstrip("\r\n")
    return next(csv.reader([text], delimiter=spec.delimiter), [])


def check_header(folder: Path, spec: FileSpec, name: str) -> None:
    """Schema drift check: the header must list exactly the contract's columns."""
    if not spec.header:
        return
    found = [column.strip() for column in read_header(folder / name, spec)]
    expected = spec.column_names
    if found == expected:
        return
    missing = [c for c in expected if c not in found]
    # (v2) a "header" that is a data row would echo ids and names: masked (privacy)
    extra = [_header_cell(c) for c in found if c not in expected]
    detail = f"missing {missing}" if missing else ""
    detail += (", " if detail and extra else "") + (f"unexpected {extra}" if extra else "")
    if not detail:
        detail = f"columns out of order: {found}"
    raise DeliveryError(
        "schema_drift", f"{spec.source}/{folder.name}/{name}: header drift, {detail}"
    )


_COLUMN_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _header_cell(cell: str) -> str:
    """An unexpected header cell as the error shows it: a column-like name as it is,
    anything else (a data row's id or name) masked (contract v2 section 6)."""
    if _COLUMN_NAME.match(cell) and not privacy.ID_RUN.search(cell):
        return cell
    return privacy.mask_id(cell) or ""


def expected_files(specs: list[FileSpec], extract_date: date) -> list[str]:
    return [spec.file_name(extract_date) for spec in specs]
