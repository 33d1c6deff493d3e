"""Failure notification: a failed task of ``safetynet_daily`` (a blocked day)
is reported to a log line and, when ``SAFETYNET_NOTIFY_WEBHOOK`` is set, as
a JSON POST to that URL (chat bots, incident tools). For e-mail, add
``apache-airflow-providers-smtp``'s ``SmtpNotifier`` beside this one in the
DAG's ``on_failure_callback`` list (see README, "Getting told").
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from typing import Any

from airflow.sdk.bases.notifier import BaseNotifier

log = logging.getLogger(__name__)


def failure_payload(context: dict[str, Any]) -> dict[str, Any]:
    ti = context.get("ti") or context.get("task_instance")
    error = context.get("exception")
    return {
        "dag_id": getattr(ti, "dag_id", None),
        "run_id": context.get("run_id"),
        "extract_date": context.get("ds"),
        "failed_task": getattr(ti, "task_id", None),
        "try_number": getattr(ti, "try_number", None),
        "error": str(error) if error else "run failed",
    }


def post_json(url: str, payload: dict[str, Any], timeout: float = 10.0) -> int:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return int(response.status)


class SafetynetNotifier(BaseNotifier):
    """Log line always; webhook when configured. Never raises into the task."""

    def notify(self, context: Any) -> None:
        payload = failure_payload(dict(context))
        log.error("SAFETYNET RUN FAILED %s", json.dumps(payload, ensure_ascii=False))
        url = os.environ.get("SAFETYNET_NOTIFY_WEBHOOK")
        if not url:
            return
        try:
            post_json(url, payload)
        except OSError as error:
            log.error("notification webhook %s failed: %s", url, error)


notify_failure = SafetynetNotifier()
