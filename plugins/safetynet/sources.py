"""What each source delivers (contract section 2), as data the loader reads.

A ``FileSpec`` names a file, its format, the raw table it lands in and the
rules a row must pass. Column rules are small SQL predicates over the
delivered text (``{c}`` is the column); a row failing one is rejected with
that rule's reason, never silently dropped.

Two kinds of predicate keep the hot path fast: ``rule`` is cheap and always
applied (enumerations, lengths); ``strict`` guards a typed cast (dates,
amounts) and is only evaluated when the optimistic load, which lets the
cast itself detect bad values, fails (see ``rowcheck``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

ISO_DATE = "raw.is_iso_date({c})"
MONEY = "{c} ~ '^[0-9]+(\\.[0-9]{{1,2}})?$'"
NUMBER = "{c} ~ '^[0-9]+(\\.[0-9]+)?$'"
INTEGER = "{c} ~ '^[0-9]{{1,9}}$'"
FEN = "{c} ~ '^[0-9]{{1,15}}$'"


def one_of(*values: str) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return "{c} in (" + quoted + ")"


DECIMALS_AT_MOST_2 = "(position('.' in {c}) = 0 or octet_length({c}) - position('.' in {c}) <= 2)"
ALNUM = "ltrim({c}, '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz') = ''"
NOT_NEGATIVE = "{c} not like '-%'"
ISO_SHAPE = "(octet_length({c}) = 10 and substr({c}, 5, 1) = '-' and substr({c}, 8, 1) = '-')"
EIGHT_DIGITS = "(octet_length({c}) = 8 and ltrim({c}, '0123456789') = '')"
SIX_DIGITS = "(octet_length({c}) = 6 and ltrim({c}, '0123456789') = '')"


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str = "text"
    strict: str | None = None  # guards the cast; evaluated by the careful pass only
    required: bool = True
    identity: str | None = None  # name of the person_key column it feeds
    rule: str | None = None  # cheap predicate over the delivered text, always applied

    @property
    def rules(self) -> list[str]:
        cheap = [self.rule] if self.rule else []
        if self.sql_type.startswith("numeric"):
            cheap += [DECIMALS_AT_MOST_2, NOT_NEGATIVE]
        elif self.sql_type in ("bigint", "integer", "smallint"):
            cheap.append(NOT_NEGATIVE)
        elif self.sql_type == "date":
            cheap.append(ISO_SHAPE)
        elif self.sql_type == "date_compact":
            cheap.append(EIGHT_DIGITS)
        return cheap

    def cast(self, expr: str) -> str:
        if self.sql_type == "date_compact":  # 8 digits: PostgreSQL reads ISO 8601 basic
            return f"({expr})::date"
        if self.sql_type == "text":
            return expr
        return f"({expr})::{self.sql_type}"

    @property
    def target_type(self) -> str:
        return "date" if self.sql_type == "date_compact" else self.sql_type


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
    options: dict[str, str] = field(default_factory=dict)

    def file_name(self, extract_date: date) -> str:
        return self.name_pattern.format(yyyymmdd=extract_date.strftime("%Y%m%d"))

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _id(name: str, key_column: str) -> Column:
    return Column(name, identity=key_column)  # validated by rowcheck (GB 11643)


CIVIL = dict(source="civil_affairs", encoding="GB18030", line_end="\r\n")
SPECS: tuple[FileSpec, ...] = (
    FileSpec(
        **CIVIL, table="civil_affairs_households", name_pattern="households.csv",
        key=("household_id",),
        columns=(
            Column("household_id", rule=ALNUM),
            Column("region_code", rule=SIX_DIGITS),
            Column("urban_rural", rule=one_of("城镇", "农村")),
            Column("address", required=False),
            _id("head_id_number", "head_person_key"),
            Column("assessed_monthly_income", "numeric(14,2)", MONEY),
            Column("income_assessed_date", "date", ISO_DATE, required=False),
        ),
    ),
    FileSpec(
        **CIVIL, table="civil_affairs_persons", name_pattern="persons.csv",
        key=("household_id", "id_number"),
        columns=(
            Column("household_id", rule=ALNUM),
            _id("id_number", "person_key"),
            Column("name"),
            Column("gender", rule=one_of("男", "女")),
            Column("birth_date", "date", ISO_DATE, required=False),
            Column("relation", rule=one_of("户主", "配偶", "子女", "父母", "其他")),
            Column("disability_grade", "smallint", rule="{c} in ('0','1','2','3','4')"),
        ),
    ),
    FileSpec(
        **CIVIL, table="civil_affairs_enrollments", name_pattern="enrollments.csv",
        key=("enrollment_id",),
        columns=(
            Column("enrollment_id"),
            Column("household_id", rule=ALNUM),
            Column("program", rule=one_of("DIBAO", "TEKUN", "LINSHI")),
            Column("status", rule=one_of("active", "suspended", "terminated")),
            Column("start_date", "date", ISO_DATE),
            Column("end_date", "date", ISO_DATE, required=False),
            Column("monthly_amount", "numeric(14,2)", MONEY, required=False),
        ),
    ),
    FileSpec(
        source="health", table="health_medical_claims", name_pattern="medical_claims.csv",
        key=("claim_id", "version"),
        columns=(
            Column("claim_id"),
            Column("version", "integer", INTEGER),
            _id("id_number", "person_key"),
            Column("hospital_code", required=False),
            Column("admission_date", "date", ISO_DATE, required=False),
            Column("settlement_date", "date", ISO_DATE),
            Column("diagnosis_code", required=False),
            Column("total_cost", "numeric(14,2)", MONEY, required=False),
            Column("fund_paid", "numeric(14,2)", MONEY, required=False),
            Column("out_of_pocket", "numeric(14,2)", MONEY),
        ),
    ),
    FileSpec(
        source="health", table="health_deaths", name_pattern="deaths.csv",
        key=("id_number",),
        columns=(
            _id("id_number", "person_key"),
            Column("death_date", "date", ISO_DATE),
            Column("registered_date", "date", ISO_DATE, required=False),
        ),
    ),
    FileSpec(
        source="housing", table="housing_properties", name_pattern="properties.csv",
        key=("cert_no", "owner_id_number"), bom=True,
        columns=(
            Column("cert_no"),
            _id("owner_id_number", "owner_person_key"),
            Column("property_type", rule=one_of("住宅", "商业", "车位", "其他")),
            Column("floor_area", "numeric(12,2)", NUMBER, required=False),
            Column("region_code", rule=SIX_DIGITS, required=False),
            Column("registered_date", "date", ISO_DATE, required=False),
            Column("cancelled_date", "date", ISO_DATE, required=False),
        ),
    ),
    FileSpec(
        source="bank", table="bank_balances", name_pattern="balances_{yyyymmdd}.txt",
        key=("bank_code", "account_no"), header=False, delimiter="|",
        columns=(
            Column("bank_code"),
            Column("account_no"),
            _id("id_number", "person_key"),
            Column("account_type", rule=one_of("D", "T", "W")),
            Column("balance_fen", "bigint", FEN),
            Column("as_of_date", "date_compact", "raw.is_compact_date({c})"),
        ),
    ),
)


def specs_for(source: str) -> list[FileSpec]:
    return [spec for spec in SPECS if spec.source == source]
