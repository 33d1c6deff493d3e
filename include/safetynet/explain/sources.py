"""The delivered records that entered a rule for one alert (issue 21, contract
section 5): per record its source, file (relative to the landing folder), the
1-based physical line where it starts (header = line 1, as the row filter counts),
the sha256 of the file as loaded and the load batch, read from ``raw`` (line_no,
batch_id) and ``audit.load_batches``; the landing files are never read again while
the date's raw partitions exist. For a date older than the snapshot window (issue 23,
docs/history-design.md 2.5) ``restore`` rebuilds the dropped partitions from the
landing files into session temporary tables and the same queries read those: the
queries name their tables by placeholder (``{civil_affairs_persons}``, ...), filled
from a mapping raw table -> relation (default ``raw.<table>``).

Which records each rule needs (the dbt models under
``dbt_project/models/intermediate/alerts``):

* every rule: the household row (region, income, head);
* A01: the members (household_size), the DIBAO/TEKUN enrollments of the evidence,
  the members' death records (the first received on or before D, as
  ``int_persons__deceased`` keeps);
* A02, A03, A04: members, deaths, the household's enrollments (A02: the active
  ones of the evidence; A03, A04: all, none of which is active), the living
  members' residential properties counted in RP and their bank accounts (FA);
* A04, A06: also the claims of the evidence (the version that won, as received);
* A05: the person's membership rows in each enrolled household of the evidence,
  those households and their DIBAO/TEKUN enrollments;
* A06: members, deaths, enrollments (the category), the claims, and, for a
  MARGINAL household (asset test), properties and accounts.

No raw id number leaves this module: a person is shown by person_key and masked id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
from psycopg import sql

MASKED = "left({c}, 6) || '********' || right({c}, 4)"

# Each query returns (table, batch_id, line_no, record jsonb) for params d (date),
# hh (household ids), p (person_key hex or null), ids, claims. ``{<raw table>}`` is the
# relation read for that raw table (``relations``).
LIVING_MEMBER_KEYS = """
    select m.person_key from {civil_affairs_persons} m
    where m.extract_date = %(d)s and m.household_id = any(%(hh)s)
      and not exists (select from {health_deaths} x
                      where x.person_key = m.person_key and x.extract_date <= %(d)s
                        and x.death_date <= %(d)s)"""

QUERIES: dict[str, str] = {
    "households": f"""
        select 'civil_affairs_households', batch_id, line_no,
               jsonb_build_object('household_id', household_id,
                                  'head_masked_id', {MASKED.format(c="head_id_number")})
        from {{civil_affairs_households}}
        where extract_date = %(d)s and household_id = any(%(hh)s)""",
    "members": f"""
        select 'civil_affairs_persons', batch_id, line_no,
               jsonb_build_object('household_id', household_id,
                                  'person_key', encode(person_key, 'hex'),
                                  'masked_id', {MASKED.format(c="id_number")})
        from {{civil_affairs_persons}}
        where extract_date = %(d)s and household_id = any(%(hh)s)
          and (%(p)s::text is null or person_key = decode(%(p)s::text, 'hex'))""",
    "enrollments": """
        select 'civil_affairs_enrollments', batch_id, line_no,
               jsonb_build_object('household_id', household_id,
                                  'enrollment_id', enrollment_id, 'program', program,
                                  'status', status)
        from {civil_affairs_enrollments}
        where extract_date = %(d)s and household_id = any(%(hh)s)
          and (%(ids)s::text[] is null or enrollment_id = any(%(ids)s::text[]))""",
    "deaths": f"""
        select distinct on (d.person_key) 'health_deaths', d.batch_id, d.line_no,
               jsonb_build_object('person_key', encode(d.person_key, 'hex'),
                                  'masked_id', {MASKED.format(c="d.id_number")},
                                  'death_date', d.death_date)
        from {{health_deaths}} d
        where d.extract_date <= %(d)s and d.death_date <= %(d)s
          and d.person_key in (select m.person_key from {{civil_affairs_persons}} m
                               where m.extract_date = %(d)s
                                 and m.household_id = any(%(hh)s))
        order by d.person_key, d.extract_date, d.death_date, d.registered_date""",
    "properties": f"""
        select 'housing_properties', batch_id, line_no,
               jsonb_build_object('cert_no', cert_no,
                                  'owner_person_key', encode(owner_person_key, 'hex'),
                                  'owner_masked_id', {MASKED.format(c="owner_id_number")})
        from {{housing_properties}}
        where extract_date = %(d)s and property_type = '住宅'
          and (cancelled_date is null or cancelled_date > %(d)s)
          and owner_person_key in ({LIVING_MEMBER_KEYS})""",
    "accounts": f"""
        select 'bank_balances', batch_id, line_no,
               jsonb_build_object('bank_code', bank_code, 'account_no', account_no,
                                  'person_key', encode(person_key, 'hex'),
                                  'masked_id', {MASKED.format(c="id_number")})
        from {{bank_balances}}
        where extract_date = %(d)s and person_key in ({LIVING_MEMBER_KEYS})""",
    "claims": f"""
        select distinct on (c.claim_id) 'health_medical_claims', c.batch_id, c.line_no,
               jsonb_build_object('claim_id', c.claim_id, 'version', c.version,
                                  'person_key', encode(c.person_key, 'hex'),
                                  'masked_id', {MASKED.format(c="c.id_number")})
        from {{health_medical_claims}} c
        join unnest(%(claim_ids)s::text[], %(claim_versions)s::int[]) as e(claim_id, version)
            on c.claim_id = e.claim_id and c.version = e.version
        where c.extract_date <= %(d)s
        order by c.claim_id, c.extract_date desc, c.batch_id desc""",
}

# Every raw table the queries read, each read from raw.<table> unless mapped elsewhere.
RAW_TABLES = (
    "civil_affairs_households",
    "civil_affairs_persons",
    "civil_affairs_enrollments",
    "housing_properties",
    "bank_balances",
    "health_deaths",
    "health_medical_claims",
)

BATCH_FACTS = """
select batch_id, source, source || '/' || extract_date::text || '/' || file_name, sha256
from audit.load_batches where batch_id = any(%s)"""


@dataclass(frozen=True)
class Alert:
    """The alert row of ``marts.monitoring_alerts`` being explained."""

    alert_id: str
    alert_date: date
    rule_code: str
    household_id: str
    person_key: str | None
    evidence: dict[str, Any]


def _ids(items: Any) -> list[str]:
    return [str(i) for i in items or []]


def kinds_for(alert: Alert) -> list[str]:
    """The record kinds the alert's rule reads (module docstring)."""
    assets = ["properties", "accounts"]
    base = ["households", "members", "deaths", "enrollments"]
    return {
        "A01": base,
        "A02": base + assets,
        "A03": base + assets,
        "A04": base + assets + ["claims"],
        "A05": ["households", "members", "enrollments"],
        "A06": base + ["claims"] + (assets if alert.evidence.get("category") == "MARGINAL" else []),
    }[alert.rule_code]


def params_for(alert: Alert) -> dict[str, Any]:
    """Query parameters: the households, the person, enrollment ids and claims."""
    evidence = alert.evidence
    households = [alert.household_id]
    ids: list[str] | None = None
    person = None
    if alert.rule_code in ("A01", "A02"):
        ids = _ids(evidence.get("active_enrollment_ids"))
    if alert.rule_code == "A05":
        enrolled = evidence.get("enrolled_households") or []
        households = sorted({str(h["household_id"]) for h in enrolled})
        ids = sorted({i for h in enrolled for i in _ids(h.get("active_enrollment_ids"))})
        person = alert.person_key
    claims = evidence.get("claims") or []
    return {
        "d": alert.alert_date,
        "hh": households,
        "p": person,
        "ids": ids,
        "claim_ids": [str(c["claim_id"]) for c in claims],
        "claim_versions": [int(c["version"]) for c in claims],
    }


def query(kind: str, relations: Mapping[str, str] | None = None) -> sql.Composed:
    """The query of ``kind`` reading each raw table from ``relations[table]`` (a
    qualified name such as ``pg_temp.bank_balances``), else from ``raw.<table>``."""
    mapped = {**{t: f"raw.{t}" for t in RAW_TABLES}, **(relations or {})}
    names = {t: sql.Identifier(*name.split(".", 1)) for t, name in mapped.items()}
    return sql.SQL(QUERIES[kind]).format(**names)


def delivered_records(
    conn: psycopg.Connection, alert: Alert, relations: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """Every delivered record that entered the rule for ``alert``, ordered by file, line.
    ``relations``: raw table -> relation to read instead (restored dates, ``restore``)."""
    params = params_for(alert)
    rows: list[tuple[str, int, int, dict[str, Any]]] = []
    for kind in kinds_for(alert):
        rows.extend(conn.execute(query(kind, relations), params).fetchall())
    batches = {
        batch_id: (source, path, sha256)
        for batch_id, source, path, sha256 in conn.execute(
            BATCH_FACTS, (sorted({r[1] for r in rows}),)
        ).fetchall()
    }
    records = []
    for table, batch_id, line_no, record in rows:
        source, path, sha256 = batches.get(batch_id, ("", "", None))
        records.append(
            {
                "source": source,
                "table": f"raw.{table}",
                "file": path,
                "line": int(line_no),
                "sha256": sha256,
                "batch_id": int(batch_id),
                "record": record,
            }
        )
    records.sort(key=lambda r: (r["file"], r["line"]))
    return records
