"""Unit: which records each rule reads, the account's text and HTML, and where a run's
commit comes from (issue 21)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

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


def test_the_commit_comes_from_env_git_or_the_baked_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    from safetynet.explain import versions

    monkeypatch.delenv("SAFETYNET_COMMIT", raising=False)
    assert versions.current_commit(tmp_path) == "unknown"
    (tmp_path / versions.BUILD_COMMIT_FILE).write_text("abc123\n")
    assert versions.current_commit(tmp_path) == "abc123"  # the image: no .git
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / "dbt_project").mkdir()
    (tmp_path / "dbt_project" / "m.sql").write_text("select 1\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "m"], check=True)
    head = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert versions.current_commit(tmp_path) == head
    (tmp_path / "dbt_project" / "m.sql").write_text("select 2\n")
    assert versions.current_commit(tmp_path) == head + "+dirty"
    monkeypatch.setenv("SAFETYNET_COMMIT", "override")
    assert versions.current_commit(tmp_path) == "override"
