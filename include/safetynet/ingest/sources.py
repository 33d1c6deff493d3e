"""What each source delivers (contract section 2), as data the loader reads.

A ``FileSpec`` names a file, its format, the raw table it lands in and the
rule each column's value must pass. The rules are carried out by the
compiled row filter (``native/rowfilter.c``, driven by ``rowfilter.py``);
a row failing one is rejected with that rule's reason, never silently
dropped. Values are trimmed first; an empty value is null.

Rule kinds (``Column.check``):

======== ==============================================================
text     anything
alnum    ASCII letters and digits only
digits6  exactly 6 digits (region codes, GB/T 2260)
enum     one of ``Column.values``
id       an id number: normalised and GB 11643-checked (section 3); the
         column after it in the raw table holds its person_key
money    digits with at most 2 decimals, fits numeric(14,2)
number   digits with at most 2 decimals, fits numeric(12,2)
integer  1-9 digits
fen      1-15 digits (an amount in fen, bigint)
date     YYYY-MM-DD, a real calendar date
date8    YYYYMMDD, a real calendar date
======== ==============================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

CHECKS = (
    "text",
    "alnum",
    "digits6",
    "enum",
    "id",
    "money",
    "number",
    "integer",
    "fen",
    "date",
    "date8",
)


@dataclass(frozen=True)
class Column:
    name: str
    check: str = "text"
    required: bool = True
    values: tuple[str, ...] = ()  # the allowed values of an ``enum``
    identity: str | None = None  # the person_key column an ``id`` feeds

    def __post_init__(self) -> None:
        if self.check not in CHECKS or (self.check == "enum") != bool(self.values):
            raise ValueError(f"column {self.name}: bad check {self.check!r} / {self.values!r}")


def one_of(name: str, *values: str) -> Column:
    return Column(name, "enum", values=values)


@dataclass(frozen=True)
class FileSpec:
    source: str
    table: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    encoding: str = "UTF8"
    header: bool = True
    delimiter: str = ","
    name_pattern: str = ""  # e.g. 'balances_{yyyymmdd}.txt'
    line_end: str = "\n"
    bom: bool = False
    # Quoted values may hold line breaks (a casework note): the manifest's ``rows``
    # then counts CSV records, as the row filter splits them, not physical lines.
    multiline: bool = False

    def file_name(self, extract_date: date) -> str:
        return self.name_pattern.format(yyyymmdd=extract_date.strftime("%Y%m%d"))

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _id(name: str, key_column: str) -> Column:
    return Column(name, "id", identity=key_column)


CIVIL: dict[str, Any] = {"source": "civil_affairs", "encoding": "GB18030", "line_end": "\r\n"}
SPECS: tuple[FileSpec, ...] = (
    FileSpec(
        **CIVIL,
        table="civil_affairs_households",
        name_pattern="households.csv",
        key=("household_id",),
        columns=(
            Column("household_id", "alnum"),
            Column("region_code", "digits6"),
            one_of("urban_rural", "城镇", "农村"),
            Column("address", required=False),
            _id("head_id_number", "head_person_key"),
            Column("assessed_monthly_income", "money"),
            Column("income_assessed_date", "date", required=False),
        ),
    ),
    FileSpec(
        **CIVIL,
        table="civil_affairs_persons",
        name_pattern="persons.csv",
        key=("household_id", "id_number"),
        columns=(
            Column("household_id", "alnum"),
            _id("id_number", "person_key"),
            Column("name"),
            one_of("gender", "男", "女"),
            Column("birth_date", "date", required=False),
            one_of("relation", "户主", "配偶", "子女", "父母", "其他"),
            one_of("disability_grade", "0", "1", "2", "3", "4"),
        ),
    ),
    FileSpec(
        **CIVIL,
        table="civil_affairs_enrollments",
        name_pattern="enrollments.csv",
        key=("enrollment_id",),
        columns=(
            Column("enrollment_id"),
            Column("household_id", "alnum"),
            one_of("program", "DIBAO", "TEKUN", "LINSHI"),
            one_of("status", "active", "suspended", "terminated"),
            Column("start_date", "date"),
            Column("end_date", "date", required=False),
            Column("monthly_amount", "money", required=False),
        ),
    ),
    FileSpec(
        source="health",
        table="health_medical_claims",
        name_pattern="medical_claims.csv",
        key=("claim_id", "version"),
        columns=(
            Column("claim_id"),
            Column("version", "integer"),
            _id("id_number", "person_key"),
            Column("hospital_code", required=False),
            Column("admission_date", "date", required=False),
            Column("settlement_date", "date"),
            Column("diagnosis_code", required=False),
            Column("total_cost", "money", required=False),
            Column("fund_paid", "money", required=False),
            Column("out_of_pocket", "money"),
        ),
    ),
    FileSpec(
        source="health",
        table="health_deaths",
        name_pattern="deaths.csv",
        key=("id_number",),
        columns=(
            _id("id_number", "person_key"),
            Column("death_date", "date"),
            Column("registered_date", "date", required=False),
        ),
    ),
    FileSpec(
        source="housing",
        table="housing_properties",
        name_pattern="properties.csv",
        key=("cert_no", "owner_id_number"),
        bom=True,
        columns=(
            Column("cert_no"),
            _id("owner_id_number", "owner_person_key"),
            one_of("property_type", "住宅", "商业", "车位", "其他"),
            Column("floor_area", "number", required=False),
            Column("region_code", "digits6", required=False),
            Column("registered_date", "date", required=False),
            Column("cancelled_date", "date", required=False),
        ),
    ),
    FileSpec(
        source="bank",
        table="bank_balances",
        name_pattern="balances_{yyyymmdd}.txt",
        key=("bank_code", "account_no"),
        header=False,
        delimiter="|",
        columns=(
            Column("bank_code"),
            Column("account_no"),
            _id("id_number", "person_key"),
            one_of("account_type", "D", "T", "W"),
            Column("balance_fen", "fen"),
            Column("as_of_date", "date8"),
        ),
    ),
    # (v2) casework, section 9: no key (several rows for one alert_id are normal); the
    # key is every column, so a row repeated exactly is rejected as an exact duplicate
    # of its first line. Whether alert_id names a real episode and decided_on fits it
    # is judged in the warehouse (int_casework__checked), not here.
    FileSpec(
        source="casework",
        table="casework_dispositions",
        name_pattern="dispositions.csv",
        key=("alert_id", "status", "decided_on", "handler", "note"),
        multiline=True,
        columns=(
            Column("alert_id"),
            one_of("status", "VERIFYING", "CONFIRMED", "DISMISSED", "RESOLVED"),
            Column("decided_on", "date"),
            Column("handler", required=False),
            Column("note", required=False),
        ),
    ),
)


def specs_for(source: str) -> list[FileSpec]:
    return [spec for spec in SPECS if spec.source == source]
