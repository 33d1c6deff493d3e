"""Issue 20: the warehouse remembers the fingerprint of its pseudonym key. The first
load records it; a load with another key is stopped before it writes a row; a
documented re-key (``python -m safetynet.ingest.keyguard rekey``) changes the key
without that check blocking it."""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import subprocess
import sys
from datetime import date

import pytest
from conftest import SAMPLES, Stack

from safetynet.ingest import keyguard, loader

pytestmark = pytest.mark.integration

D1 = date(2026, 10, 1)
OLD = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071"  # made up for tests
NEW = "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a59687"


@pytest.fixture
def sample_stack(stack: Stack) -> Stack:
    shutil.copytree(SAMPLES / "landing", stack.landing, dirs_exist_ok=True)
    return stack


def recorded(stack: Stack) -> list[tuple]:
    return stack.query("select fingerprint, recorded_by from raw.pseudonym_key_check")


def test_the_first_load_records_the_fingerprint_and_another_key_is_stopped(
    sample_stack: Stack,
) -> None:
    loader.load_source(sample_stack.url, sample_stack.landing, "health", D1, OLD)
    assert recorded(sample_stack) == [(keyguard.fingerprint(OLD), "first load")]
    before = sample_stack.query("select count(*) from raw.bank_balances")

    with pytest.raises(keyguard.KeyMismatch) as error:
        loader.load_source(sample_stack.url, sample_stack.landing, "bank", D1, NEW)
    assert error.value.check == "pseudonym_key_fingerprint"
    for key in (OLD, NEW):
        assert key not in str(error.value)
    assert sample_stack.query("select count(*) from raw.bank_balances") == before
    failed = sample_stack.query(
        "select file_name, message from audit.load_batches where source = 'bank'"
        " and status = 'failed'"
    )
    assert [name for name, _ in failed] == ["pseudonym_key_fingerprint"]
    assert NEW not in failed[0][1] and OLD not in failed[0][1]
    assert recorded(sample_stack) == [(keyguard.fingerprint(OLD), "first load")]
    # the right key still loads
    loader.load_source(sample_stack.url, sample_stack.landing, "bank", D1, OLD)


def test_rekey_recomputes_every_person_key_and_records_the_new_fingerprint(
    sample_stack: Stack,
) -> None:
    for source in ("civil_affairs", "health", "housing", "bank"):
        loader.load_source(sample_stack.url, sample_stack.landing, source, D1, OLD)
    # as docs/deployment.md does it: the new key on stdin, the old one the worker's own
    run = subprocess.run(
        [sys.executable, "-m", "safetynet.ingest.keyguard", "rekey"],
        env={
            **sample_stack.environ(),
            "SAFETYNET_PSEUDONYM_KEY": OLD,
            "SAFETYNET_NEW_PSEUDONYM_KEY_FILE": "/dev/stdin",
        },
        input=NEW + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert OLD not in run.stdout + run.stderr and NEW not in run.stdout + run.stderr
    assert recorded(sample_stack) == [(keyguard.fingerprint(NEW), "rekey")]
    checked = 0
    for table, id_column, key_column in keyguard.KEYED_COLUMNS:
        rows = sample_stack.query(f"select {id_column}, {key_column} from raw.{table}")
        for id_number, person_key in rows:
            digest = hmac.new(NEW.encode(), id_number.encode(), hashlib.sha256).digest()
            assert bytes(person_key) == digest, (table, id_number)
        checked += len(rows)
    assert checked > 0
    with pytest.raises(keyguard.KeyMismatch):  # the old key is now the wrong one
        loader.load_source(sample_stack.url, sample_stack.landing, "bank", D1, OLD)
    loader.load_source(sample_stack.url, sample_stack.landing, "bank", D1, NEW)


def test_rekey_refuses_a_wrong_old_key_or_a_weak_new_one(sample_stack: Stack) -> None:
    loader.load_source(sample_stack.url, sample_stack.landing, "health", D1, OLD)
    with pytest.raises(keyguard.KeyMismatch):
        keyguard.rekey(sample_stack.url, NEW, NEW)
    from safetynet.config import PseudonymKeyError

    with pytest.raises(PseudonymKeyError):
        keyguard.rekey(sample_stack.url, OLD, "sample-key")
    assert recorded(sample_stack) == [(keyguard.fingerprint(OLD), "first load")]


def test_status_says_whether_the_configured_key_matches(sample_stack: Stack) -> None:
    loader.load_source(sample_stack.url, sample_stack.landing, "health", D1, OLD)

    def status(key: str) -> subprocess.CompletedProcess[str]:
        environ = {**sample_stack.environ(), "SAFETYNET_PSEUDONYM_KEY": key}
        environ.pop("SAFETYNET_NEW_PSEUDONYM_KEY", None)
        return subprocess.run(
            [sys.executable, "-m", "safetynet.ingest.keyguard", "status"],
            env=environ,
            capture_output=True,
            text=True,
            check=False,
        )

    assert status(OLD).returncode == 0
    mismatch = status(NEW)
    assert mismatch.returncode == 1 and "pseudonym_key_fingerprint" in mismatch.stdout
    assert os.environ.get("SAFETYNET_ENVIRONMENT") == "local"
