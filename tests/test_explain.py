"""Explain an alert down to the source lines / 解释预警 (issue 21), end to end.

About 400 generated households (with the generator's dirty rows, so rejected lines
shift nothing) over three working days, run through Airflow with zero-day deadlines
(every unhandled alert falls overdue the next day, so overdue.csv has lines). Day 1
runs as commit ``commit-one``; days 2 and 3 as ``commit-two`` with every alert
model's SQL changed (a copy of the project, SAFETYNET_HOME). Then, with
``make explain``'s command line:

* every cited line of every cited landing file, read back and decoded as its
  source is delivered, holds the record the account names (household id,
  enrollment, claim id and version, certificate, account, the masked id of the
  person); the sha256 is the file's; the publication lines hold the alert_id;
* an alert of day 1 is explained with day 1's commit and checksum, not day 3's;
* an unknown alert_id exits non-zero with a clear message;
* each lookup writes a row to audit.explain_lookups;
* the HTML view (Airflow api-server, plugins/safetynet_docs_plugin.py) sends a
  browser without a session to the login page and shows a logged-in user the alert;
* nothing printed holds a raw id number.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import ROOT, Stack, drop_database, isolated_stack

from safetynet import privacy
from safetynet.identity import normalise_id
from safetynet_dev.stack import services
from safetynet_dev.stack.ports import free_port
from safetynet_dev.synth.generator import generate

pytestmark = pytest.mark.e2e

START = date(2026, 10, 12)  # Monday: three working days
DAYS = [START + timedelta(days=i) for i in range(3)]
HOUSEHOLDS = 400
DEADLINES = {
    "SAFETYNET_VERIFY_WORKDAYS_HIGH": "0",
    "SAFETYNET_VERIFY_WORKDAYS_MEDIUM": "0",
    "SAFETYNET_RESOLVE_WORKDAYS": "0",
}
ALERT_MODELS = ROOT / "dbt_project" / "models" / "intermediate" / "alerts"
CHANGE = "\n-- changed in a later commit (tests/test_explain.py)\n"
ENCODING = {"civil_affairs": "gb18030", "housing": "utf-8-sig"}
# id-like runs of 15-18 characters (contract section 6's masking rule)
RAW_ID = re.compile(r"(?<![0-9A-Za-z])[0-9]{15,17}[0-9Xx]?(?![0-9A-Za-z*])")


def _later_home(root: Path) -> Path:
    """A project folder whose alert models differ from the checkout's (a later commit)."""
    home = root / "later_home"
    home.mkdir()
    shutil.copytree(
        ROOT / "dbt_project",
        home / "dbt_project",
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"),
    )
    shutil.copytree(ROOT / "expectations", home / "expectations")
    for model in (home / "dbt_project" / "models" / "intermediate" / "alerts").glob("*.sql"):
        model.write_text(model.read_text(encoding="utf-8") + CHANGE, encoding="utf-8")
    return home


@pytest.fixture(scope="module")
def explained(local_stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("explain")
    later = _later_home(root)
    with isolated_stack(local_stack, root, "t_explain", key="explain-key") as stack:
        generate(stack.landing, HOUSEHOLDS, START, len(DAYS), seed=29)
        for index, day in enumerate(DAYS):
            extra = {**DEADLINES, "SAFETYNET_COMMIT": "commit-one"}
            if index:
                extra = {
                    **DEADLINES,
                    "SAFETYNET_COMMIT": "commit-two",
                    "SAFETYNET_HOME": str(later),
                    "SAFETYNET_VAR_DIR": str(ROOT / "var"),
                }
            run = stack.run_dag(day.isoformat(), **extra)
            assert run.returncode == 0, f"{day} failed:\n{run.stdout[-4000:]}"
        yield stack


def explain(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "safetynet.explain", *args],
        env=stack.environ(),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def account_of(stack: Stack, alert_id: str, *args: str) -> dict[str, Any]:
    done = explain(stack, alert_id, "--format", "json", *args)
    assert done.returncode == 0, done.stderr
    assert not RAW_ID.search(done.stdout), "a raw id number in the account"
    return json.loads(done.stdout)


def physical_record(stack: Stack, source: dict[str, Any]) -> list[str]:
    """The record starting at the cited physical line of the landing file, parsed."""
    path = stack.landing / source["file"]
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == source["sha256"], source["file"]
    name = source["file"].split("/")[0]
    text = data.decode(ENCODING.get(name, "utf-8"))
    lines = text.split("\n")
    assert 1 <= source["line"] <= len(lines), source
    rest = "\n".join(lines[source["line"] - 1 :])
    delimiter = "|" if name == "bank" else ","
    return next(csv.reader(io.StringIO(rest), delimiter=delimiter))


def masked(value: str) -> str | None:
    return privacy.mask_id(normalise_id(value))


def check_record(fields: list[str], source: dict[str, Any], household: str) -> None:
    """The fields at the cited line are the record the account names."""
    table, record = source["table"], source["record"]
    fields = [f.strip("\r") for f in fields]
    if table == "raw.civil_affairs_households":
        assert fields[0] == record["household_id"]
        assert masked(fields[4]) == record["head_masked_id"]
    elif table == "raw.civil_affairs_persons":
        assert fields[0] == record["household_id"]
        assert masked(fields[1]) == record["masked_id"]
    elif table == "raw.civil_affairs_enrollments":
        assert (fields[0], fields[1]) == (record["enrollment_id"], record["household_id"])
    elif table == "raw.health_medical_claims":
        assert (fields[0], int(fields[1])) == (record["claim_id"], record["version"])
        assert masked(fields[2]) == record["masked_id"]
    elif table == "raw.health_deaths":
        assert masked(fields[0]) == record["masked_id"]
    elif table == "raw.housing_properties":
        assert fields[0] == record["cert_no"]
        assert masked(fields[1]) == record["owner_masked_id"]
    elif table == "raw.bank_balances":
        assert (fields[0], fields[1]) == (record["bank_code"], record["account_no"])
        assert masked(fields[2]) == record["masked_id"]
    else:
        raise AssertionError(f"unexpected source table {table}")


def alerts_per_rule(stack: Stack, day: date) -> dict[str, str]:
    """One alert_id per rule on ``day`` (the one with the most delivered evidence)."""
    rows = stack.query(
        """select distinct on (rule_code) rule_code, alert_id from marts.monitoring_alerts
           where alert_date = %s
           order by rule_code, jsonb_array_length(coalesce(evidence -> 'claims', '[]')) desc,
                    alert_id""",
        (day,),
    )
    return dict(rows)


def test_cited_lines_hold_the_records(explained: Stack) -> None:
    picked = alerts_per_rule(explained, DAYS[-1])
    assert len(picked) >= 4, f"too few rules on {DAYS[-1]}: {sorted(picked)}"
    for rule, alert_id in sorted(picked.items()):
        account = account_of(explained, alert_id)
        assert (account["alert_id"], account["rule_code"]) == (alert_id, rule)
        assert account["alert_date"] == DAYS[-1].isoformat()
        tables = {s["table"] for s in account["sources"]}
        assert "raw.civil_affairs_households" in tables, rule
        for source in account["sources"]:
            check_record(physical_record(explained, source), source, account["household_id"])
        if rule in ("A04", "A06"):
            claims = {(c["claim_id"], c["version"]) for c in account["evidence"]["claims"]}
            cited = {
                (s["record"]["claim_id"], s["record"]["version"])
                for s in account["sources"]
                if s["table"] == "raw.health_medical_claims"
            }
            assert cited == claims, rule
        if rule in ("A01", "A05"):
            persons = [s for s in account["sources"] if s["table"] == "raw.civil_affairs_persons"]
            assert account["person_key"] in {s["record"]["person_key"] for s in persons}
            masked_id = account["evidence"]["masked_id"]
            assert masked_id in {s["record"]["masked_id"] for s in persons}
        check_publication(explained, account)
        assert account["checks"] and all(
            c["success"] or c["severity"] != "critical" for c in account["checks"]
        )


def check_publication(stack: Stack, account: dict[str, Any]) -> None:
    publication = account["publication"]
    cited = [publication, *publication["overdue"]]
    for place in cited:
        path = stack.feed / place["file"]
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == place["sha256"], place
        line = data.decode("utf-8").split("\n")[place["line"] - 1]
        assert line.split(",")[0] == account["alert_id"], place


def test_an_escalated_alert_cites_its_overdue_line(explained: Stack) -> None:
    rows = explained.query(
        "select alert_id from marts.alert_cases where is_newly_overdue and as_of_date = %s "
        "order by alert_id limit 1",
        (DAYS[1],),
    )
    assert rows, "no alert fell overdue with zero-day deadlines"
    account = account_of(explained, rows[0][0])
    assert account["publication"]["escalated"] is True
    assert account["publication"]["overdue"], account["publication"]
    check_publication(explained, account)


def test_an_earlier_date_is_explained_with_its_own_rule_version(explained: Stack) -> None:
    held = explained.query(
        """select alert_id, rule_code from marts.monitoring_alerts
           where alert_date = %s and alert_id in (
               select alert_id from marts.monitoring_alerts where alert_date = %s)
           order by alert_id limit 1""",
        (DAYS[0], DAYS[-1]),
    )
    alert_id, rule = held[0]
    model = next(ALERT_MODELS.glob(f"int_alerts__{rule.lower()}_*.sql"))
    text = model.read_text(encoding="utf-8")
    # dbt's checksum: sha256 of the model file's text, stripped (dbt_common load_file_contents)
    original = hashlib.sha256(text.strip().encode()).hexdigest()
    changed = hashlib.sha256((text + CHANGE).strip().encode()).hexdigest()
    earlier = account_of(explained, alert_id, "--date", DAYS[0].isoformat())
    later = account_of(explained, alert_id)  # the latest date the episode held
    assert later["alert_date"] == DAYS[-1].isoformat()
    assert earlier["rule"]["model"] == f"dbt_project/models/intermediate/alerts/{model.name}"
    assert (earlier["rule"]["commit"], earlier["rule"]["checksum"]) == ("commit-one", original)
    assert (later["rule"]["commit"], later["rule"]["checksum"]) == ("commit-two", changed)


def test_unknown_alert_exits_non_zero(explained: Stack) -> None:
    done = explain(explained, "no-such-alert", "--format", "json")
    assert done.returncode != 0
    assert "no alert 'no-such-alert'" in done.stderr
    assert done.stdout == ""
    typed = "440113196212299654"  # an id number typed into the search: stored masked
    assert explain(explained, typed).returncode != 0
    stored = explained.query(
        "select alert_id, found from audit.explain_lookups order by looked_up_at desc limit 2"
    )
    assert stored == [("440113********9654", False), ("no-such-alert", False)]


def test_lookups_are_recorded(explained: Stack) -> None:
    alert_id = alerts_per_rule(explained, DAYS[-1]).popitem()[1]
    before = explained.query("select count(*) from audit.explain_lookups")[0][0]
    done = explain(explained, alert_id)
    assert done.returncode == 0, done.stderr
    assert "来源记录 Source records" in done.stdout and alert_id in done.stdout
    assert not RAW_ID.search(done.stdout)
    rows = explained.query(
        """select who, channel, output_format, alert_id, alert_date, found
           from audit.explain_lookups order by looked_up_at desc limit 1"""
    )
    assert explained.query("select count(*) from audit.explain_lookups")[0][0] == before + 1
    who, channel, output_format, looked_up, day, found = rows[0]
    assert (channel, output_format, looked_up, day, found) == (
        "cli",
        "text",
        alert_id,
        DAYS[-1],
        True,
    )
    assert who


def test_lineage_names_the_runs_that_produced_the_alert(explained: Stack) -> None:
    """[] until helper "lineage" records events (audit.lineage_events); then, for an alert
    of day 2 (whose run's final events day 3's run loaded), the runs from the loads of
    the landing files through the rule's dbt model to the feed, and nothing beside."""
    rule, alert_id = sorted(alerts_per_rule(explained, DAYS[1]).items())[0]
    account = account_of(explained, alert_id, "--date", DAYS[1].isoformat())
    exists = explained.query("select to_regclass('audit.lineage_events') is not null")[0][0]
    if not exists:
        assert account["lineage"] == []
        return
    jobs = [e["job_name"] for e in account["lineage"]]
    model = next(ALERT_MODELS.glob(f"int_alerts__{rule.lower()}_*.sql")).stem
    assert "safetynet_daily.load_civil_affairs" in jobs, jobs
    assert any(j.endswith(f".{model}.build.run") for j in jobs), jobs
    assert any(j.endswith(".monitoring_alerts.build.run") for j in jobs), jobs
    assert {"safetynet_daily.dbt_build", "safetynet_daily.publish_feed"} <= set(jobs), jobs
    assert not any(".alert_episodes." in j or ".dim_regions." in j for j in jobs), jobs
    assert len({e["run_id"] for e in account["lineage"]}) == len(jobs)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
    """(status, headers, body) of a GET, redirects not followed."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=60) as answer:
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


@pytest.fixture
def api_server(explained: Stack, local_stack, tmp_path: Path) -> Iterator[services.Airflow]:
    """Only the Airflow api-server (with the plugin) of an isolated home, on the stack."""
    metadata = f"t_explain_ui_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(local_stack.url("postgres"), autocommit=True) as conn:
        conn.execute(f'create database "{metadata}"')
    airflow = services.Airflow(
        explained.environ(
            AIRFLOW_HOME=str(tmp_path / "airflow"),
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=local_stack.url(metadata).replace(
                "postgresql://", "postgresql+psycopg://"
            ),
            SAFETYNET_AIRFLOW_PORT=str(free_port()),
        )
    )
    try:
        airflow.login()
        airflow._migrate()
        command = [p.format(port=airflow.port) for p in services.SERVICES["api-server"]]
        airflow.processes.spawn("api-server", command, airflow.service_environment())
        airflow.wait_answering(180)
        yield airflow
    finally:
        airflow.stop(timeout=10)
        drop_database(local_stack, metadata)


def test_html_view_for_logged_in_users(explained: Stack, api_server: services.Airflow) -> None:
    alert_id = alerts_per_rule(explained, DAYS[-1]).popitem()[1]
    page = f"{api_server.url}/safetynet-docs/explain/{alert_id}"
    status, headers, _ = _get(page, {"Accept": "text/html"})
    assert status in (302, 303, 307) and "login" in headers.get("location", "").lower()
    token = api_server.token()
    bearer = {"Authorization": f"Bearer {token}", "Accept": "text/html"}
    plugins = json.dumps(api_server.request("GET", "/api/v2/plugins", token=token))
    assert '"/safetynet-docs/explain/"' in plugins, "no Browse menu entry"  # external view
    status, _, body = _get(page, bearer)
    assert status == 200, body[:2000]
    assert alert_id in body and "来源记录 Source records" in body
    assert not RAW_ID.search(body), "a raw id number in the page"
    status, headers, _ = _get(
        f"{api_server.url}/safetynet-docs/explain/?alert_id={alert_id}", bearer
    )
    assert status == 303 and headers["location"].endswith(f"/explain/{alert_id}")
    status, _, body = _get(f"{api_server.url}/safetynet-docs/explain/nope", bearer)
    assert status == 404 and "no alert" in body
    who, channel, output_format, found = explained.query(
        """select who, channel, output_format, found from audit.explain_lookups
           where alert_id = %s order by looked_up_at desc limit 1""",
        (alert_id,),
    )[0]
    assert (who, channel, output_format, found) == (services.USER, "web", "html", True)
