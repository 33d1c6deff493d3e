"""Unit: which records each rule reads, and the account's text and HTML (issue 21)."""

from __future__ import annotations

from datetime import date

import pytest

from safetynet.explain import render, sources

pytestmark = pytest.mark.unit

DAY = date(2026, 10, 3)


def alert(rule: str, evidence: dict, person: str | None = None) -> sources.Alert:
    return sources.Alert("a1", DAY, rule, "H1", person, evidence)


def test_a05_reads_the_person_in_each_enrolled_household() -> None:
    evidence = {
        "enrolled_households": [
            {"household_id": "H2", "active_enrollment_ids": ["E2"]},
            {"household_id": "H1", "active_enrollment_ids": ["E1", "E3"]},
        ]
    }
    params = sources.params_for(alert("A05", evidence, "ab" * 32))
    assert params["hh"] == ["H1", "H2"] and params["ids"] == ["E1", "E2", "E3"]
    assert params["p"] == "ab" * 32
    assert sources.kinds_for(alert("A05", evidence)) == ["households", "members", "enrollments"]


def test_claims_and_assets_follow_the_rule() -> None:
    claims = {"claims": [{"claim_id": "C1", "version": 2}], "category": "MARGINAL"}
    params = sources.params_for(alert("A06", claims))
    assert (params["claim_ids"], params["claim_versions"]) == (["C1"], [2])
    assert params["ids"] is None  # the household's enrollments, all of them
    assert "accounts" in sources.kinds_for(alert("A06", claims))
    assert "accounts" not in sources.kinds_for(alert("A06", {**claims, "category": "DIBAO"}))
    assert "claims" not in sources.kinds_for(alert("A02", {}))
    a01 = sources.params_for(alert("A01", {"active_enrollment_ids": ["E9"]}))
    assert a01["ids"] == ["E9"] and a01["hh"] == ["H1"]


ACCOUNT = {
    "alert_id": "a1",
    "rule_code": "A03",
    "alert_date": "2026-10-03",
    "household_id": "H1",
    "person_key": None,
    "run_id": "r1",
    "evidence": {"note": "<script>"},
    "rule": {"model": "m.sql", "commit": "c1", "checksum": "x"},
    "sources": [
        {
            "source": "civil_affairs",
            "table": "raw.civil_affairs_households",
            "file": "civil_affairs/2026-10-03/households.csv",
            "line": 7,
            "sha256": "s",
            "batch_id": 3,
            "record": {"household_id": "H1"},
        }
    ],
    "checks": [
        {
            "suite": "delivery",
            "expectation": "e",
            "column": None,
            "severity": "critical",
            "success": False,
        }
    ],
    "publication": {
        "file": "2026-10-01/alerts.csv",
        "line": 5,
        "sha256": "p",
        "escalated": False,
        "overdue": [],
    },
    "lineage": [],
}


def test_text_and_html_name_the_lines_and_escape() -> None:
    text = render.text(ACCOUNT)
    assert "civil_affairs/2026-10-03/households.csv:7" in text
    assert "失败 failed 1" in text and "2026-10-01/alerts.csv:5" in text
    page = render.html_body(ACCOUNT)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "households.csv" in page and "来源记录 Source records (1)" in page
