"""A load killed during COPY leaves no partial batch; the next run loads it all."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLES, Stack

pytestmark = pytest.mark.integration

DAY = "2026-10-01"
ROWS = 1_500_000


def write_big_bank_file(folder: Path) -> int:
    """Sample balances repeated with distinct account numbers, manifest rewritten."""
    name = "balances_20261001.txt"
    template = (folder / name).read_text(encoding="utf-8").splitlines()
    digest = hashlib.sha256()
    with open(folder / name, "w", encoding="utf-8", newline="\n") as out:
        for i in range(ROWS):
            fields = template[i % len(template)].split("|")
            fields[1] = f"{i:016d}"
            line = "|".join(fields) + "\n"
            out.write(line)
            digest.update(line.encode())
    manifest = {
        "source": "bank",
        "extract_date": DAY,
        "files": [{"name": name, "rows": ROWS, "sha256": digest.hexdigest()}],
    }
    (folder / "_manifest.json").write_text(json.dumps(manifest))
    return ROWS


def start_load(stack: Stack) -> subprocess.Popen[bytes]:
    code = (
        "import sys; from datetime import date; from pathlib import Path;"
        "from safetynet.ingest import loader;"
        f"loader.load_source({stack.url!r}, Path({str(stack.landing)!r}), 'bank',"
        f" date.fromisoformat({DAY!r}), 'k')"
    )
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)


def wait_for_status(stack: Stack, status: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (
            stack.query(
                "select 1 from audit.load_batches where source = 'bank' and status = %s", (status,)
            )
            if _has_audit(stack)
            else []
        ):
            return
        time.sleep(0.05)
    raise AssertionError(f"no bank batch reached status {status!r}")


def _has_audit(stack: Stack) -> bool:
    return stack.query("select to_regclass('audit.load_batches') is not null")[0][0]


def test_killed_load_leaves_nothing_and_rerun_loads_everything(stack: Stack) -> None:
    shutil.copytree(SAMPLES / "landing", stack.landing, dirs_exist_ok=True)
    rows = write_big_bank_file(stack.landing / "bank" / DAY)
    process = start_load(stack)
    wait_for_status(stack, "loading")
    time.sleep(0.5)
    assert process.poll() is None, "load finished before it could be killed; use a bigger file"
    process.send_signal(signal.SIGKILL)
    process.wait()
    time.sleep(1)  # the server notices the lost client and rolls back
    assert stack.query("select count(*) from raw.bank_balances") == [(0,)]

    from datetime import date

    from safetynet.ingest import loader

    results = loader.load_source(stack.url, stack.landing, "bank", date.fromisoformat(DAY), "k")
    assert results[0].loaded == rows and results[0].rejected == 0
    assert stack.query("select count(*) from raw.bank_balances") == [(rows,)]
    statuses = stack.query(
        "select status from audit.load_batches where source = 'bank' order by batch_id"
    )
    assert statuses == [("interrupted",), ("loaded",)]
