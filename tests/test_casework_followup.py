"""Alert follow-up on the pipeline side (contract v2 sections 6 and 9), real PostgreSQL:
the feed's alerts.csv and overdue.csv with their manifest, the warehouse's casework
rejections recorded in audit.rejected_rows, and discard_day for the follow-up marts.

The dbt models are stood in for by tables of the same columns (the interface the dbt
side provides), so these run without a dbt build; test_gate runs the real thing.
"""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import date, timedelta

import pytest
from casework_landing import write_casework
from conftest import Stack

from safetynet import pipeline, warehouse
from safetynet.ingest import casework, loader
from safetynet.publish import feed

pytestmark = pytest.mark.integration
D = date(2026, 10, 2)
ALERTS_HEADER = (
    "alert_id,alert_date,rule_code,rule_name,severity,household_id,person_key,"
    "region_code,episode_start,is_new,evidence"
)
OVERDUE_HEADER = (
    "alert_id,rule_code,severity,household_id,person_key,region_code,episode_start,state,due_date"
)
MARTS = """
create schema if not exists marts;
create table marts.monitoring_alerts (
    alert_id text, alert_date date, rule_code text, rule_name text, severity text,
    household_id text, person_key text, region_code text, episode_start date,
    is_new boolean, evidence jsonb);
create table marts.alert_cases (
    as_of_date date, alert_id text, rule_code text, severity text, household_id text,
    person_key text, region_code text, episode_start date, state text, state_date date,
    verify_due date, resolve_due date, is_overdue boolean, is_newly_overdue boolean);
create table marts.alert_followup_daily (as_of_date date, region_code text, open_alerts int);
insert into marts.monitoring_alerts values
    ('aa01', '2026-10-02', 'A01', '死亡仍领取', 'high', 'H1', 'pk1', '440103', '2026-10-02',
     true, '{"death_date": "2026-09-30", "note": "a, \\"quoted\\" value"}'),
    ('aa02', '2026-10-02', 'A04', '支出型贫困', 'medium', 'H2', null, '440104', '2026-10-02',
     true, '{"ratio": 1.2}'),
    ('aa03', '2026-10-02', 'A04', '支出型贫困', 'medium', 'H3', null, '440104', '2026-09-20',
     false, '{"ratio": 1.5}');
insert into marts.alert_cases values
    ('2026-10-02', 'cc02', 'A04', 'medium', 'H3', null, '440104', '2026-09-20', 'CONFIRMED',
     '2026-09-01', '2026-10-09', '2026-09-29', true, true),
    ('2026-10-02', 'cc01', 'A01', 'high', 'H4', 'pk4', '440103', '2026-09-20', 'OPEN',
     null, '2026-09-27', null, true, true),
    ('2026-10-02', 'cc03', 'A01', 'high', 'H5', 'pk5', '440103', '2026-09-20', 'VERIFYING',
     '2026-09-21', '2026-09-27', null, true, false),
    ('2026-10-01', 'cc04', 'A01', 'high', 'H6', 'pk6', '440103', '2026-09-20', 'OPEN',
     null, '2026-09-27', null, true, true);
insert into marts.alert_followup_daily values
    ('2026-10-01', '440103', 1), ('2026-10-02', '440103', 2);
"""


@pytest.fixture
def marts(stack: Stack) -> Stack:
    warehouse.ensure_schema(stack.url)
    with warehouse.connect(stack.url) as conn:
        conn.execute(MARTS)
    return stack


def test_feed_has_alerts_overdue_and_a_manifest_of_both(marts: Stack) -> None:
    publication = feed.publish(marts.url, marts.feed, D, "run-1")
    folder = marts.feed / D.isoformat()
    assert sorted(p.name for p in folder.iterdir()) == [
        "_manifest.json",
        "alerts.csv",
        "overdue.csv",
    ]
    alerts = (folder / "alerts.csv").read_text(encoding="utf-8").splitlines()
    assert alerts[0] == ALERTS_HEADER
    with open(folder / "alerts.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["alert_id"], r["episode_start"], r["person_key"]) for r in rows] == [
        ("aa01", "2026-10-02", "pk1"),
        ("aa02", "2026-10-02", ""),
    ]
    assert json.loads(rows[0]["evidence"])["note"] == 'a, "quoted" value'
    overdue = (folder / "overdue.csv").read_text(encoding="utf-8").splitlines()
    assert overdue == [
        OVERDUE_HEADER,
        "cc01,A01,high,H4,pk4,440103,2026-09-20,OPEN,2026-09-27",
        "cc02,A04,medium,H3,,440104,2026-09-20,CONFIRMED,2026-09-29",  # resolve_due
    ]
    document = json.loads((folder / "_manifest.json").read_text(encoding="utf-8"))
    assert document == {
        "extract_date": "2026-10-02",
        "files": [
            {
                "name": name,
                "rows": rows_,
                "sha256": hashlib.sha256((folder / name).read_bytes()).hexdigest(),
            }
            for name, rows_ in (("alerts.csv", 2), ("overdue.csv", 2))
        ],
    }
    assert (publication.rows, publication.overdue_rows) == (2, 2)
    # a re-run gives the same bytes, and no staging folder is left beside the feed
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    feed.publish(marts.url, marts.feed, D, "run-2")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert [p.name for p in marts.feed.iterdir()] == [D.isoformat()]


def test_a_day_without_overdue_alerts_has_a_header_only_overdue_file(marts: Stack) -> None:
    with warehouse.connect(marts.url) as conn:
        conn.execute("update marts.alert_cases set is_newly_overdue = false")
    feed.publish(marts.url, marts.feed, D)
    folder = marts.feed / D.isoformat()
    assert (folder / "overdue.csv").read_text(encoding="utf-8") == OVERDUE_HEADER + "\n"
    files = json.loads((folder / "_manifest.json").read_text(encoding="utf-8"))["files"]
    assert [(f["name"], f["rows"]) for f in files] == [("alerts.csv", 2), ("overdue.csv", 0)]


def test_a_failed_publication_leaves_no_folder(marts: Stack) -> None:
    with warehouse.connect(marts.url) as conn:
        conn.execute("drop table marts.alert_cases")
    with pytest.raises(Exception, match="alert_cases"):
        feed.publish(marts.url, marts.feed, D)
    assert list(marts.feed.iterdir()) == []


def test_discard_day_removes_the_follow_up_marts_of_the_day(
    marts: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in marts.environ().items():
        monkeypatch.setenv(name, value)
    feed.publish(marts.url, marts.feed, D)
    removed = pipeline.discard_day(D)
    assert {"marts.alert_cases", "marts.alert_followup_daily"} <= set(removed)
    assert marts.query("select as_of_date::text from marts.alert_cases") == [("2026-10-01",)]
    assert marts.query("select as_of_date::text from marts.alert_followup_daily") == [
        ("2026-10-01",)
    ]
    assert not (marts.feed / D.isoformat()).exists()


CHECKED = """
create schema if not exists intermediate;
create table intermediate.int_casework__checked as
select c.extract_date, c.batch_id, c.line_no, c.alert_id, c.status, c.decided_on, c.handler,
       c.note,
       case when c.alert_id !~ '^[0-9a-f]{32}$' then 'malformed alert_id'
            when c.decided_on > c.extract_date then 'decided_on after the extract date'
       end as rejection_reason
from raw.casework_dispositions c
"""
NOTE = '户主称"已就业",\n待复核'


def test_warehouse_rejections_reach_audit_with_line_and_reason_idempotently(
    stack: Stack,
) -> None:
    good = "b2bdc627ab8e11a3bff1ed6fa35c61ec"
    write_casework(
        stack.landing,
        D,
        [
            (good, "VERIFYING", "2026-10-01", "S1", NOTE),  # lines 2-3
            ("A03-6bd4b724", "CONFIRMED", "2026-10-02", "S2", "malformed, id"),  # 4
            (good, "RESOLVED", "2026-10-05", "", ""),  # 5: after D
            (good, "RESOLVED", "2026-13-05", "", ""),  # 6: not a date (loader)
        ],
    )
    (result,) = loader.load_source(stack.url, stack.landing, "casework", D, stack.key)
    assert (result.loaded, result.rejected) == (3, 1)
    assert casework.record_warehouse_rejections(stack.url, D) is None  # no model yet
    with warehouse.connect(stack.url) as conn:
        conn.execute(CHECKED)
    for _ in range(2):  # a re-run replaces, never doubles
        assert casework.record_warehouse_rejections(stack.url, D) == 2
        rejected = stack.query(
            "select batch_id, file_name, line_no, raw_line, reason from audit.rejected_rows "
            "join raw.rejected_lines using (reject_id) "
            "where source = 'casework' and extract_date = %s order by line_no",
            (D,),
        )
        assert rejected == [
            (
                result.batch_id,
                "dispositions.csv",
                4,
                'A03-6bd4b724,CONFIRMED,2026-10-02,S2,"malformed, id"',
                "malformed alert_id",
            ),
            (
                result.batch_id,
                "dispositions.csv",
                5,
                f"{good},RESOLVED,2026-10-05,,",
                "decided_on after the extract date",
            ),
            (
                result.batch_id,
                "dispositions.csv",
                6,
                f"{good},RESOLVED,2026-13-05,,",
                "invalid decided_on",
            ),
        ]


def test_a_blocked_days_casework_rejections_are_recorded_by_the_next_day(
    stack: Stack,
) -> None:
    """D's folder loaded but D was blocked (its marts gate never ran): the next
    processed day records D's warehouse rejections, once, under D's date and file."""
    good = "b2bdc627ab8e11a3bff1ed6fa35c61ec"
    after = D + timedelta(days=1)
    write_casework(stack.landing, D, [("A03-6bd4b724", "CONFIRMED", "2026-10-02", "", "")])
    write_casework(stack.landing, after, [(good, "RESOLVED", "2026-10-09", "", "")])
    for day in (D, after):
        loader.load_source(stack.url, stack.landing, "casework", day, stack.key)
    with warehouse.connect(stack.url) as conn:
        conn.execute(CHECKED)
    # the first run of the next day records D's row and its own; a re-run only its own
    for expected_count in (2, 1):
        assert casework.record_warehouse_rejections(stack.url, after) == expected_count
        recorded = stack.query(
            "select extract_date, line_no, reason from audit.rejected_rows "
            "where source = 'casework' order by extract_date"
        )
        assert recorded == [
            (D, 2, "malformed alert_id"),
            (after, 2, "decided_on after the extract date"),
        ]
