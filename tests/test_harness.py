"""The test harness's own guard: a hung ``airflow dags test`` fails its test with the
stacks of where it hung (the harness CI of 37b1618 was killed at 90 minutes instead)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import _stop_hung

pytestmark = pytest.mark.unit

HANGS = """
import threading, time
def wait_for_a_worker():
    time.sleep(600)
threading.Thread(target=wait_for_a_worker, daemon=True).start()
print("DagRun Finished", flush=True)
time.sleep(600)
"""


def test_a_hung_process_is_stopped_with_its_stacks() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", HANGS],
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with pytest.raises(subprocess.TimeoutExpired):
        process.communicate(timeout=2)
    out, err = _stop_hung(process)
    assert process.returncode == -6  # SIGABRT: faulthandler wrote the stacks first
    assert "DagRun Finished" in out
    assert "wait_for_a_worker" in err and "Current thread" in err, err
