"""Writing one extract date: the seven files, then each source's ``_manifest.json``.

Every file is written as it is produced (bytes, sha256 and row count kept on
the way); the manifests are written last, each atomically (a temp file
renamed), as contract section 1 asks of a delivery.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

from safetynet.ingest.sources import FileSpec
from safetynet_dev.synth.formats import FORMATS, MANIFEST, SOURCES, header_bytes


class Sink:
    """One data file being written: bytes, sha256 and row count."""

    def __init__(self, path: Path, spec: FileSpec) -> None:
        self.path = path
        self.handle: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed by close()
        self.sha = hashlib.sha256()
        self.rows = 0
        self.write(header_bytes(spec), 0)

    def write(self, data: bytes, rows: int) -> None:
        if data:
            self.handle.write(data)
            self.sha.update(data)
        self.rows += rows

    def close(self) -> dict[str, Any]:
        self.handle.close()
        return {"name": self.path.name, "rows": self.rows, "sha256": self.sha.hexdigest()}


def write_manifest(
    folder: Path, source: str, extract_date: str, files: list[dict[str, Any]]
) -> Path:
    document = {"source": source, "extract_date": extract_date, "files": files}
    path = folder / MANIFEST
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(document), encoding="utf-8")
    tmp.replace(path)
    return path


class ExtractDay:
    """All seven files of one extract date, open for writing (a stale manifest removed)."""

    def __init__(self, out_dir: Path, day: date) -> None:
        self.day = day
        self.folders: dict[str, Path] = {}
        for source in SOURCES:
            folder = Path(out_dir) / source / day.isoformat()
            folder.mkdir(parents=True, exist_ok=True)
            (folder / MANIFEST).unlink(missing_ok=True)
            self.folders[source] = folder
        self.sinks = [Sink(self.folders[s.source] / s.file_name(day), s) for s in FORMATS]

    def write(self, index: int, data: bytes, rows: int) -> None:
        self.sinks[index].write(data, rows)

    def write_lines(self, index: int, lines: list[str]) -> None:
        self.write(index, "".join(lines).encode(FORMATS[index].encoding), len(lines))

    def finish(self) -> dict[str, int]:
        """Close the files, write the manifests; {file name: data rows}."""
        files = [sink.close() for sink in self.sinks]
        for source in SOURCES:
            listed = [f for f, spec in zip(files, FORMATS, strict=True) if spec.source == source]
            write_manifest(self.folders[source], source, self.day.isoformat(), listed)
        return {f["name"]: f["rows"] for f in files}
