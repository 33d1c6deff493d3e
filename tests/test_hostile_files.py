"""Hostile deliveries: what lands in the landing folder is read as regular files inside
it only, a record cannot grow without bound, a hanging load times out, and the bytes
that load are the bytes the manifest describes (hashed in the pass that loads them).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from datetime import date
from pathlib import Path

import pytest
from conftest import ROOT, Stack

from safetynet.ingest import loader, manifest
from safetynet.ingest.manifest import DeliveryError
from safetynet_dev.synth import damage

pytestmark = pytest.mark.integration

DAY = date(2026, 10, 1)
BANK_FILE = "balances_20261001.txt"


def bank_folder(stack: Stack) -> Path:
    return damage.folder(stack.landing, "bank", DAY)


def load(stack: Stack, source: str = "bank") -> list[loader.FileResult]:
    return loader.load_source(stack.url, stack.landing, source, DAY, stack.key)


def blocked(stack: Stack, source: str = "bank") -> DeliveryError:
    with pytest.raises(DeliveryError) as error:
        load(stack, source)
    return error.value


def nothing_loaded(stack: Stack) -> bool:
    return stack.query("select count(*) from raw.bank_balances") == [(0,)]


def test_a_data_file_that_is_a_symlink_out_is_refused(landed: Stack, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    shutil.move(bank_folder(landed) / BANK_FILE, outside)
    (bank_folder(landed) / BANK_FILE).symlink_to(outside)  # same bytes: manifest matches
    error = blocked(landed)
    assert error.check == "unsafe_file" and "symbolic link" in error.message
    assert nothing_loaded(landed)


def test_a_source_folder_that_is_a_symlink_out_is_refused(landed: Stack, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    shutil.move(landed.landing / "bank", outside)
    (landed.landing / "bank").symlink_to(outside, target_is_directory=True)
    error = blocked(landed)
    assert error.check == "unsafe_file" and "outside the landing folder" in error.message
    assert nothing_loaded(landed)


def test_a_manifest_that_is_a_symlink_is_refused(landed: Stack, tmp_path: Path) -> None:
    path = bank_folder(landed) / "_manifest.json"
    shutil.move(path, tmp_path / "manifest.json")
    path.symlink_to(tmp_path / "manifest.json")
    error = blocked(landed)
    assert error.check == "unsafe_file" and "_manifest.json" in error.message


def test_a_fifo_is_refused_without_waiting_for_a_writer(landed: Stack) -> None:
    path = bank_folder(landed) / BANK_FILE
    path.unlink()
    os.mkfifo(path)
    outcome: list[BaseException | None] = []

    def attempt() -> None:
        try:
            load(landed)
            outcome.append(None)
        except BaseException as error:  # reported below
            outcome.append(error)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(30)
    if thread.is_alive():  # blocked on the FIFO: a writer that closes lets it go
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(30)
        pytest.fail("the load blocked on a FIFO")
    error = outcome[0]
    assert isinstance(error, DeliveryError), error
    assert error.check == "unsafe_file" and "not a regular file" in error.message


def test_a_file_swapped_after_its_check_does_not_load(
    landed: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The manifest check passes, then the file is replaced (same rows, other bytes)
    before the row filter reads it: the hash of the bytes loaded decides."""
    path = bank_folder(landed) / BANK_FILE
    lines = path.read_bytes().splitlines(keepends=True)
    swapped = b"".join(line.replace(b"|D|", b"|T|", 1) for line in lines)
    assert swapped != path.read_bytes()
    checked = manifest.verify_file

    def check_then_swap(*args, **kwargs):
        facts = checked(*args, **kwargs)
        path.write_bytes(swapped)
        return facts

    monkeypatch.setattr(manifest, "verify_file", check_then_swap)
    error = blocked(landed)
    assert error.check == "checksum" and "during the load" in error.message
    assert nothing_loaded(landed)
    assert landed.query(
        "select status, message from audit.load_batches where source = 'bank' "
        "and file_name = 'checksum'"
    ) == [("failed", error.message)], "the failure is on record"


def test_an_overlong_record_is_rejected_and_reading_goes_on(landed: Stack) -> None:
    path = bank_folder(landed) / BANK_FILE
    lines = path.read_bytes().splitlines(keepends=True)
    assert len(lines) > 200  # one reject stays under 1%
    parts = lines[1].split(b"|")
    parts[1] += b"9" * 200_000  # a valid account_no, 200 kB long
    lines[1] = b"|".join(parts)
    path.write_bytes(b"".join(lines))
    damage.rewrite_manifest(path.parent)

    results = load(landed)
    assert results[0].loaded + results[0].rejected == results[0].rows
    reasons = landed.query(
        "select line_no, reason from audit.rejected_rows where file_name = %s", (BANK_FILE,)
    )
    assert (2, "record longer than 65536 bytes") in reasons
    loaded = landed.query("select min(line_no), max(line_no) from raw.bank_balances")
    assert loaded == [(1, results[0].rows)], "the lines around the long one loaded"


def test_loads_have_an_execution_timeout() -> None:
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(ROOT / "dags")).get_dag("safetynet_daily")
    loads = [t for t in dag.tasks if t.task_id.startswith("load_")]
    assert loads and all(t.execution_timeout is not None for t in loads)
    assert all(t.execution_timeout.total_seconds() <= 6 * 3600 for t in loads)
