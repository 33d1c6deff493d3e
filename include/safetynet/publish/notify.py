"""Failure notification: a failed task of ``safetynet_daily`` (a blocked day)
is reported as an ``ERROR SAFETYNET RUN FAILED {json}`` log line and, when
``SAFETYNET_NOTIFY_WEBHOOK`` is set, as a JSON POST to that URL (chat bots,
incident tools). For e-mail, add ``apache-airflow-providers-smtp``'s
``SmtpNotifier`` beside this one in the DAG's ``on_failure_callback`` list
(see README, "Getting told").

The JSON body::

    {"event": "safetynet_run_failed", "dag_id": "safetynet_daily",
     "run_id": "...", "extract_date": "2026-10-01", "failed_task": "load_bank",
     "try_number": 1, "failed_checks": ["checksum: bank/2026-10-01/balances_...txt: ..."],
     "error": "[checksum] bank/2026-10-01/balances_20261001.txt: sha256 ..., manifest says ...",
     "log_url": "http://127.0.0.1:8080/dags/safetynet_daily/runs/.../tasks/load_bank?try_number=1"}

(v2, contract section 6) No id number or name leaves in a notification: a failed
data-quality check is told by its name and its count (``suite: expectation(column)
observed N``), never its examples; everything else passes ``privacy.mask_text``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import urllib.parse
import urllib.request
from typing import Any

from airflow.sdk.bases.notifier import BaseNotifier

from safetynet import privacy

log = logging.getLogger(__name__)
WEBHOOK_ENV = "SAFETYNET_NOTIFY_WEBHOOK"
EVENT = "safetynet_run_failed"
# "[checksum] bank/...: sha256 ..." (a failed delivery check, manifest.DeliveryError)
_CHECK_PREFIX = re.compile(r"^\[(?P<check>[a-z_]+)\]\s*(?P<message>.*)$", re.DOTALL)
MAX_ERROR_CHARS = 4000
# "- suite: expectation(column) observed {json}" of a failed gate (gate.enforce)
_OBSERVED = re.compile(r"^(?P<check>.*?) observed (?P<observed>.*)$", re.DOTALL)


def _count(observed: Any) -> Any:
    """The count of an observed value: a number as it is, else from the gate's JSON."""
    if isinstance(observed, str):
        try:
            observed = json.loads(observed)
        except ValueError:
            return None
    if isinstance(observed, dict):
        observed = observed.get("observed")
    is_number = isinstance(observed, int | float) and not isinstance(observed, bool)
    return observed if is_number else None


def _check_line(line: str) -> str:
    """A failed check's line without its examples: name and count only."""
    match = _OBSERVED.match(line)
    if not match:
        return privacy.mask_text(line) or ""
    count = _count(match["observed"])
    return match["check"] + (f" observed {count}" if count is not None else "")


def failed_checks(error: BaseException | None) -> list[str]:
    """The failed checks an error names, one line each ("check: what failed").

    A delivery error (``[checksum] file: ...``) names one check; a failed
    data-quality gate lists its failed critical checks as ``- suite: ...`` lines.
    """
    if error is None:
        return []
    for candidate in (error, error.__cause__):
        failed = getattr(candidate, "failed", None)  # gate.QualityGateFailed
        if failed:
            return [
                _check_line(f"{c.suite}: {c.expectation}({c.column or ''}) observed {c.observed}")
                for c in failed
            ]
        check = getattr(candidate, "check", None)
        if check:
            message = getattr(candidate, "message", "") or str(candidate)
            return [privacy.mask_text(f"{check}: {message}") or ""]
    text = str(error).strip()
    listed = [_check_line(line[2:].strip()) for line in text.splitlines() if line.startswith("- ")]
    if listed:
        return listed
    if match := _CHECK_PREFIX.match(text):
        return [privacy.mask_text(f"{match['check']}: {match['message'].strip()}") or ""]
    return [privacy.mask_text(text.splitlines()[0]) or ""] if text else []


def _error_text(error: Any) -> str:
    """The error for the notification: a failed gate's first line (its checks are in
    failed_checks, without examples), else the message with id-like runs masked."""
    if not error:
        return "run failed"
    text = str(error)
    if "\n- " in text:
        text = text.split("\n- ", 1)[0]
    text = privacy.mask_text(text) or ""
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + " ..."


def _date(context: dict[str, Any]) -> str | None:
    if context.get("ds"):
        return str(context["ds"])
    logical: Any = context.get("logical_date")
    return logical.date().isoformat() if hasattr(logical, "date") else None


def failure_payload(context: dict[str, Any]) -> dict[str, Any]:
    ti = context.get("ti") or context.get("task_instance")
    error = context.get("exception")
    try:
        log_url = getattr(ti, "log_url", None)
    except Exception:
        log_url = None
    return {
        "event": EVENT,
        "dag_id": getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", None),
        "run_id": context.get("run_id") or getattr(ti, "run_id", None),
        "extract_date": _date(context),
        "failed_task": getattr(ti, "task_id", None),
        "try_number": getattr(ti, "try_number", None),
        "failed_checks": failed_checks(error if isinstance(error, BaseException) else None),
        "error": _error_text(error),
        "log_url": log_url if isinstance(log_url, str) else None,
    }


def post_json(url: str, payload: dict[str, Any], timeout: float = 10.0) -> int:
    body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
    request = urllib.request.Request(
        url,
        data=body,
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "safetynet-notifier",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return int(response.status)


class SafetynetNotifier(BaseNotifier):
    """Log line always; webhook when configured. Never raises into the task."""

    def __init__(self, webhook_url: str | None = None) -> None:
        super().__init__()
        self.webhook_url = webhook_url

    def notify(self, context: Any) -> None:
        payload = failure_payload(dict(context))
        log.error("SAFETYNET RUN FAILED %s", json.dumps(payload, ensure_ascii=False, default=str))
        url = self.webhook_url or os.environ.get(WEBHOOK_ENV)
        if not url:
            return
        try:
            status = post_json(url, payload)
            log.info("failure notification sent to webhook (HTTP %s)", status)
        except Exception as error:
            log.error("notification webhook %s failed: %s", _redact(url), error)


def _redact(url: str) -> str:
    """Webhook URLs often carry a secret token: log the host only."""
    parsed = urllib.parse.urlsplit(url)
    return f"{parsed.scheme}://{parsed.netloc}/..." if parsed.netloc else "(webhook)"


notify_failure = SafetynetNotifier()
