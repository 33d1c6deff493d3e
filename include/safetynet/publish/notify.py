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

log = logging.getLogger(__name__)
WEBHOOK_ENV = "SAFETYNET_NOTIFY_WEBHOOK"
EVENT = "safetynet_run_failed"
# "[checksum] bank/...: sha256 ..." (a failed delivery check, manifest.DeliveryError)
_CHECK_PREFIX = re.compile(r"^\[(?P<check>[a-z_]+)\]\s*(?P<message>.*)$", re.DOTALL)
MAX_ERROR_CHARS = 4000


def failed_checks(error: BaseException | None) -> list[str]:
    """The failed checks an error names, one line each ("check: what failed").

    A delivery error (``[checksum] file: ...``) names one check; a failed
    data-quality gate lists its failed critical checks as ``- suite: ...`` lines.
    """
    if error is None:
        return []
    for candidate in (error, error.__cause__):
        check = getattr(candidate, "check", None)
        if check:
            return [f"{check}: {getattr(candidate, 'message', '') or candidate}"]
    text = str(error).strip()
    listed = [line[2:].strip() for line in text.splitlines() if line.startswith("- ")]
    if listed:
        return listed
    if match := _CHECK_PREFIX.match(text):
        return [f"{match['check']}: {match['message'].strip()}"]
    return [text.splitlines()[0]] if text else []


def _date(context: dict[str, Any]) -> str | None:
    if context.get("ds"):
        return str(context["ds"])
    logical: Any = context.get("logical_date")
    return logical.date().isoformat() if hasattr(logical, "date") else None


def failure_payload(context: dict[str, Any]) -> dict[str, Any]:
    ti = context.get("ti") or context.get("task_instance")
    error = context.get("exception")
    text = str(error) if error else "run failed"
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
        "error": text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + " ...",
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
