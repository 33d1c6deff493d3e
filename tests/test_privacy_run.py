"""Personal data in a failing Airflow run (contract v2 section 6): a day with bad ids
and full names in civil affairs (blocked: more than 1% rejected), a housing file
whose header is a data row, and a casework note holding id numbers, run through
``airflow dags test`` with a webhook. No id number of the landing (normalised or as
delivered) and no full name appears in the task logs, the webhook payloads,
``audit.dq_results``, the Data Docs, or anything an auditor or analyst login can
select."""

from __future__ import annotations

import pytest
from conftest import Stack
from test_notify import Receiver, receiver  # noqa: F401 (the webhook fixture)
from test_privacy_warehouse import (
    DAY,
    damaged_landing,
    files_text,
    landing_secrets,
    leaks,
    login,
    readable_text,
)

from safetynet_dev.synth import damage

pytestmark = pytest.mark.e2e


def test_a_failing_run_leaks_no_id_or_name(stack: Stack, receiver: Receiver) -> None:  # noqa: F811
    damaged_landing(stack.landing)
    properties = damage.folder(stack.landing, "housing", DAY) / "properties.csv"
    _, records = damage.read_records(properties)
    damage.write_records(properties, None, records)  # the header line is gone
    damage.rewrite_manifest(properties.parent)
    ids, names = landing_secrets(stack.landing)

    run = stack.run_dag(DAY.isoformat(), SAFETYNET_NOTIFY_WEBHOOK=receiver.url)

    output = run.stdout + run.stderr
    assert "new_state=failed" in output, "the day is blocked"
    assert "reject_ratio" in output and "schema_drift" in output
    assert "SAFETYNET RUN FAILED" in output
    assert not leaks(output, ids, names), leaks(output, ids, names)

    tasks = {post["failed_task"] for post in receiver.posts}
    assert {"load_civil_affairs", "load_housing"} <= tasks, receiver.posts
    posted = "\n".join(str(post) for post in receiver.posts)
    assert not leaks(posted, ids, names), leaks(posted, ids, names)
    assert "examples" not in posted  # check names and counts only

    results = "\n".join(
        r[0] for r in stack.query("select to_jsonb(d)::text from audit.dq_results d")
    )
    assert results and not leaks(results, ids, names), leaks(results, ids, names)
    docs = files_text(stack.reports)
    assert "header drift" in docs and not leaks(docs, ids, names), leaks(docs, ids, names)

    for group in ("safetynet_auditor", "safetynet_analyst"):
        with login(stack.url, group) as url:
            _, text = readable_text(url)
        assert not leaks(text, ids, names), (group, leaks(text, ids, names))
    # the engineers still have the lines as delivered
    raw = "\n".join(r[0] for r in stack.query("select raw_line from raw.rejected_lines"))
    assert "欧阳娜娜" in raw and "440113196212299655" in raw
