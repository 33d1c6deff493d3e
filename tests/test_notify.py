"""Failure notification: a blocked day reaches a webhook (a local HTTP receiver)
with the date, the failed task and the failed check, through a real Airflow run."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from conftest import SAMPLES, Stack

from safetynet.ingest.manifest import DeliveryError
from safetynet.publish.notify import SafetynetNotifier, failed_checks, failure_payload
from safetynet_dev.synth import damage

DAY = "2026-10-01"
BANK_FILE = "balances_20261001.txt"


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1 that records every JSON POST."""

    url: str = ""
    posts: list[dict] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    received = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.content_types.append(self.headers.get("Content-Type", ""))
            received.posts.append(json.loads(body.decode("utf-8")))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    received.url = f"http://127.0.0.1:{server.server_port}/hooks/safetynet"
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------- fast: the payload


def context(error: BaseException | None, task_id: str = "load_bank") -> dict:
    ti = SimpleNamespace(
        dag_id="safetynet_daily",
        task_id=task_id,
        try_number=1,
        run_id="manual__x",
        log_url="http://127.0.0.1:8080/dags/x",
    )
    return {"ti": ti, "ds": DAY, "run_id": "manual__x", "exception": error}


@pytest.mark.unit
def test_payload_of_a_failed_delivery_check() -> None:
    cause = DeliveryError("checksum", f"bank/{DAY}/{BANK_FILE}: sha256 aa, manifest says bb")
    try:
        raise RuntimeError(str(cause)) from cause  # as the DAG's AirflowFailException wraps it
    except RuntimeError as wrapped:
        payload = failure_payload(context(wrapped))
    assert payload["event"] == "safetynet_run_failed"
    assert payload["dag_id"] == "safetynet_daily" and payload["run_id"] == "manual__x"
    assert payload["extract_date"] == DAY and payload["failed_task"] == "load_bank"
    assert payload["failed_checks"] == [
        f"checksum: bank/{DAY}/{BANK_FILE}: sha256 aa, manifest says bb"
    ]
    assert payload["error"].startswith("[checksum] bank/")
    assert payload["log_url"] == "http://127.0.0.1:8080/dags/x"
    json.dumps(payload)  # serialisable as it is posted


@pytest.mark.unit
def test_failed_checks_of_a_quality_gate_and_of_plain_errors() -> None:
    gate = RuntimeError(
        "data-quality gate failed for 2026-10-01: 2 critical check(s)\n"
        "- delivery: expect_column_values_to_be_in_set(status) observed 1\n"
        "- raw.bank_balances: expect_column_values_to_not_be_null(person_key)"
    )
    assert failed_checks(gate) == [
        "delivery: expect_column_values_to_be_in_set(status) observed 1",
        "raw.bank_balances: expect_column_values_to_not_be_null(person_key)",
    ]
    assert failed_checks(RuntimeError("[schema_drift] persons.csv: column gender missing")) == [
        "schema_drift: persons.csv: column gender missing"
    ]
    assert failed_checks(RuntimeError("boom\ntraceback")) == ["boom"]
    assert failed_checks(None) == []
    payload = failure_payload({"ti": None, "ds": None, "exception": None})
    assert payload["error"] == "run failed" and payload["failed_task"] is None


@pytest.mark.unit
def test_notifier_posts_and_never_raises(receiver: Receiver, monkeypatch, caplog) -> None:
    monkeypatch.setenv("SAFETYNET_NOTIFY_WEBHOOK", receiver.url)
    SafetynetNotifier().notify(context(RuntimeError("[checksum] x: y")))
    assert receiver.posts[0]["failed_checks"] == ["checksum: x: y"]
    assert receiver.content_types[0].startswith("application/json")
    assert "SAFETYNET RUN FAILED" in caplog.text
    # An unreachable or malformed webhook is logged, not raised into the task.
    monkeypatch.setenv("SAFETYNET_NOTIFY_WEBHOOK", "http://127.0.0.1:9/token-abc")
    SafetynetNotifier().notify(context(RuntimeError("x")))
    monkeypatch.setenv("SAFETYNET_NOTIFY_WEBHOOK", "not a url")
    SafetynetNotifier().notify(context(RuntimeError("x")))
    assert "token-abc" not in caplog.text  # the webhook's secret path is not logged


# ---------------------------------------------------------------- a real blocked day


@pytest.mark.e2e
def test_blocked_day_posts_to_the_webhook(stack: Stack, receiver: Receiver) -> None:
    stack.key = "sample-key"
    shutil.copytree(SAMPLES / "landing", stack.landing, dirs_exist_ok=True)
    damage.flip_byte(damage.folder(stack.landing, "bank", DAY) / BANK_FILE)

    run = stack.run_dag(DAY, SAFETYNET_NOTIFY_WEBHOOK=receiver.url)

    assert run.returncode != 0, "a corrupt bank file must fail the run"
    by_task = {post["failed_task"]: post for post in receiver.posts}
    assert "load_bank" in by_task, f"no notification for load_bank: {receiver.posts}"
    load = by_task["load_bank"]
    assert load["dag_id"] == "safetynet_daily" and load["extract_date"] == DAY
    assert load["run_id"] and load["try_number"] == 1  # failed checks are not retried
    assert any(
        check.startswith("checksum:") and BANK_FILE in check for check in load["failed_checks"]
    ), load
    assert "[checksum]" in load["error"] and f"bank/{DAY}/{BANK_FILE}" in load["error"]
    # The gate that blocks the day reports too, and every POST is of this day and run.
    assert {post["extract_date"] for post in receiver.posts} == {DAY}
    assert len({post["run_id"] for post in receiver.posts}) == 1
    if "check_raw" in by_task:
        assert by_task["check_raw"]["failed_checks"], by_task["check_raw"]
    assert "SAFETYNET RUN FAILED" in run.stdout + run.stderr
    # Nothing of the day goes out.
    assert not (stack.feed / DAY).exists()
