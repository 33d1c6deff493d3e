"""Build and run the compiled row filter (``native/rowfilter.c``).

The filter makes one pass over a delivered file: it splits records, checks
each value against its column's rule (``sources.py``), normalises id numbers
and computes their person_key, finds duplicate keys, and writes the valid
rows as binary ``COPY`` data (each value in its raw column's type) and the
rejected rows (line number, raw line, reason) to a file. It reads a regular
file only (no symlink, FIFO or device) and reports the SHA-256 of the bytes it
read; rows it wrote before their key turned out to conflict are listed in
``<rejects>.withdrawn`` (the loader deletes them before commit). This module
compiles it on first use (``cc`` and OpenSSL's libcrypto) into
``SAFETYNET_NATIVE_DIR`` (default ``var/native``), one binary per version of
the source, and streams its output.

    python -m safetynet.ingest.rowfilter        # build now; prints the binary's path
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from safetynet.config import var_dir
from safetynet.ingest.sources import FileSpec

SOURCE = Path(__file__).with_name("native") / "rowfilter.c"
PIPE_SIZE = 1 << 20


class FilterFailed(RuntimeError):
    """The filter could not run (build, usage or I/O error): nothing was loaded."""


@dataclass
class Counts:
    loaded: int = 0  # rows the filter passed, checked against what COPY took
    sha256: str = ""  # of the bytes the filter read
    # Lines written to COPY, then rejected (their key conflicts): delete before commit.
    withdrawn: list[int] = field(default_factory=list)


def native_dir() -> Path:
    return Path(os.environ.get("SAFETYNET_NATIVE_DIR") or var_dir() / "native")


@functools.cache
def executable() -> Path:
    """The binary for this version of rowfilter.c, compiled if not there yet (once a process)."""
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:12]
    target = native_dir() / f"rowfilter-{digest}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            built = Path(tmp) / target.name
            command = [
                os.environ.get("CC", "cc"),
                "-O2",
                "-Wall",
                "-o",
                str(built),
                str(SOURCE),
                "-lcrypto",
            ]
            done = subprocess.run(command, check=False, capture_output=True, text=True)
            if done.returncode:
                raise FilterFailed(
                    f"cannot build {SOURCE.name} ({' '.join(command)}): "
                    f"{done.stderr.strip()} (needs a C compiler and libssl-dev)"
                )
            built.replace(target)  # atomic: parallel loads may build at the same time
    return target


def _column_arg(spec: FileSpec, index: int) -> bytes:
    column = spec.columns[index]
    parts = [column.name, column.check, "1" if column.required else "0", *column.values]
    return "\t".join(parts).encode(_python_encoding(spec))


def _python_encoding(spec: FileSpec) -> str:
    return "gb18030" if spec.encoding == "GB18030" else "utf-8"


def arguments(path: Path, spec: FileSpec, types: str, rejects: Path) -> list[bytes | str]:
    """``types``: a letter per raw column after line_no (rowfilter.c, TYPES)."""
    keys = ",".join(str(spec.column_names.index(k)) for k in spec.key)
    return [
        str(executable()),
        str(path),
        spec.encoding,
        "1" if spec.header else "0",
        spec.delimiter,
        str(rejects),
        keys,
        types,
        *[_column_arg(spec, i) for i in range(len(spec.columns))],
    ]


@contextmanager
def filtered_rows(
    path: Path,
    spec: FileSpec,
    types: str,
    rejects: Path,
    pseudonym_key: str,
) -> Iterator[tuple[Iterator[bytes], Counts]]:
    """Yield (chunks of binary COPY data, counts filled in once the chunks are consumed)."""
    env = {**os.environ, "SAFETYNET_PSEUDONYM_KEY": pseudonym_key}
    process = subprocess.Popen(
        arguments(path, spec, types, rejects),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None and process.stderr is not None
    counts = Counts()
    try:
        _widen_pipe(process.stdout.fileno())
        yield _chunks(process, counts, rejects), counts
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()
        process.stderr.close()


def _widen_pipe(fd: int) -> None:
    with suppress(OSError):  # a smaller pipe is only slower
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)


def _chunks(process: subprocess.Popen[bytes], counts: Counts, rejects: Path) -> Iterator[bytes]:
    assert process.stdout is not None and process.stderr is not None
    fd = process.stdout.fileno()
    while chunk := os.read(fd, PIPE_SIZE):
        yield chunk
    message = process.stderr.read().decode("utf-8", "replace").strip()
    if process.wait() != 0 or not message.startswith("rows="):
        raise FilterFailed(f"row filter failed (exit {process.returncode}): {message}")
    figures = dict(part.split("=") for part in message.split())
    counts.loaded = int(figures["loaded"])
    counts.sha256 = figures["sha256"]
    if int(figures["withdrawn"]):
        listed = withdrawn_path(rejects).read_text(encoding="ascii").split()
        counts.withdrawn = [int(line) for line in listed]


def withdrawn_path(rejects: Path) -> Path:
    return rejects.with_name(rejects.name + ".withdrawn")


if __name__ == "__main__":
    print(executable())
