"""What the change history keeps, and how (issue 23, docs/history-design.md 2.1-2.3).

One ``Spec`` per history-managed table: the snapshot table's columns (names, order and
exact types: the public row type the point-in-time query gives back), the contract key
(section 2 / 6), the columns stored in ``<t>__hist`` (stable part) and ``<t>__histv``
(volatile part, the daily churn), and the public columns that are not stored but
rebuilt (``derived``: an expression over the aliases ``k`` keys, ``h`` stable part,
``v`` volatile part, ``d`` the calendar row ``audit.history_days`` of the date).

The one home the fold, the generated ``sql/history.sql``, the tests and the docs read.
Versions hold no date column, no batch_id and no line_no (design finding 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

RAW = "raw"
MARTS = "marts"
CALENDAR = "audit.history_days"


@dataclass(frozen=True)
class Stored:
    """A column of a version table: its name, type and the expression over the
    snapshot row ``s`` that fills it (default: the snapshot column of that name)."""

    name: str
    type: str
    expr: str = ""

    def source(self) -> str:
        return self.expr or f"s.{self.name}"


@dataclass(frozen=True)
class Spec:
    """One history-managed table (design 2.1)."""

    table: str
    schema: str
    date_column: str
    # the snapshot table's columns in order: (name, format_type) exactly as PostgreSQL
    # shows them; the point-in-time rows have this row type
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]
    stable: tuple[Stored, ...]
    volatile: tuple[Stored, ...] = ()
    # public column -> expression rebuilding it (not stored as such)
    derived: dict[str, str] = field(default_factory=dict)
    # extra joins of the point-in-time query (population: dim_households at the date)
    joins: str = ""
    # the tables whose history those joins read: their fold of a date commits first
    reads: tuple[str, ...] = ()

    @property
    def is_raw(self) -> bool:
        return self.schema == RAW

    def column_type(self, name: str) -> str:
        return dict(self.columns)[name]

    @property
    def snapshot_table(self) -> str:
        """The relation holding the window's whole snapshots of this table."""
        return self.table if self.is_raw else f"{self.table}__recent"

    @property
    def compared(self) -> tuple[str, ...]:
        """The columns whose row text the verification compares: every column but
        line_no and batch_id (raw; the batch is recorded in the calendar)."""
        skip = {"line_no", "batch_id"} if self.is_raw else set()
        return tuple(name for name, _ in self.columns if name not in skip)

    def output(self, name: str) -> str:
        """The point-in-time expression of public column ``name``."""
        if name in self.derived:
            return self.derived[name]
        if name == self.date_column:
            return "d.extract_date"
        if self.is_raw and name == "batch_id":
            return "d.batch_id"
        if self.is_raw and name == "line_no":
            return "null::integer"
        if name in self.key:
            return f"k.{name}"
        if name in {s.name for s in self.volatile}:
            return f"v.{name}"
        return f"h.{name}"


def _raw(
    table: str,
    columns: str,
    key: tuple[str, ...],
    volatile: tuple[str, ...] = (),
    derived: dict[str, str] | None = None,
) -> Spec:
    pairs = _columns(columns)
    head = (("extract_date", "date"), ("batch_id", "bigint"), ("line_no", "integer"))
    derived = derived or {}
    data = [(n, t) for n, t in pairs if n not in key and n not in derived]
    return Spec(
        table=table,
        schema=RAW,
        date_column="extract_date",
        columns=head + pairs,
        key=key,
        stable=tuple(Stored(n, t) for n, t in data if n not in volatile),
        volatile=tuple(Stored(n, t) for n, t in data if n in volatile),
        derived=derived,
    )


def _columns(text: str) -> tuple[tuple[str, str], ...]:
    return tuple(
        (name, type_) for name, type_ in (c.strip().split(" ", 1) for c in text.split(";"))
    )


def _plain(spec_columns: tuple[tuple[str, str], ...], skip: set[str]) -> tuple[Stored, ...]:
    return tuple(Stored(n, t) for n, t in spec_columns if n not in skip)


RAW_SPECS = (
    _raw(
        "civil_affairs_households",
        "household_id text; region_code text; urban_rural text; address text; "
        "head_id_number text; head_person_key bytea; assessed_monthly_income numeric(14,2); "
        "income_assessed_date date",
        key=("household_id",),
    ),
    _raw(
        "civil_affairs_persons",
        "household_id text; id_number text; person_key bytea; name text; gender text; "
        "birth_date date; relation text; disability_grade smallint",
        key=("household_id", "person_key"),
    ),
    _raw(
        "civil_affairs_enrollments",
        "enrollment_id text; household_id text; program text; status text; "
        "start_date date; end_date date; monthly_amount numeric(14,2)",
        key=("enrollment_id",),
    ),
    _raw(
        "housing_properties",
        "cert_no text; owner_id_number text; owner_person_key bytea; property_type text; "
        "floor_area numeric(12,2); region_code text; registered_date date; "
        "cancelled_date date",
        key=("cert_no", "owner_person_key"),
    ),
    # as_of_date equals extract_date on every row: not stored (the verification
    # refuses a day where it does not)
    _raw(
        "bank_balances",
        "bank_code text; account_no text; id_number text; person_key bytea; "
        "account_type text; balance_fen bigint; as_of_date date",
        key=("bank_code", "account_no"),
        volatile=("balance_fen",),
        derived={"as_of_date": "d.extract_date"},
    ),
)

_DIM_COLUMNS = _columns(
    "as_of_date date; household_id text; region_code text; region_name text; "
    "city_code text; urban_rural text; head_person_key text; member_count integer; "
    "deceased_member_count integer; household_size integer; is_tekun boolean; "
    "is_dibao boolean; is_linshi boolean; category text; "
    "assessed_monthly_income numeric(14,2); income_assessed_date date; "
    "per_capita_income numeric; out_of_pocket_30 numeric; out_of_pocket_365 numeric; "
    "adjusted_per_capita_income numeric; financial_assets numeric; "
    "residential_properties integer; asset_test_passed boolean; "
    "dibao_standard numeric(14,2); standard_effective_date date"
)

DIM_HOUSEHOLDS = Spec(
    table="dim_households",
    schema=MARTS,
    date_column="as_of_date",
    columns=_DIM_COLUMNS,
    key=("household_id",),
    stable=_plain(_DIM_COLUMNS, {"as_of_date", "household_id", "financial_assets"}),
    volatile=(Stored("financial_assets", "numeric"),),
)

_POPULATION_COLUMNS = _columns(
    "as_of_date date; household_id text; person_key text; masked_id text; "
    "masked_name text; relation text; region_code text; urban_rural text; category text; "
    "household_size integer; assessed_monthly_income numeric(14,2); "
    "per_capita_income numeric(20,6); out_of_pocket_365 numeric(16,2); "
    "adjusted_per_capita_income numeric(20,6); financial_assets numeric(20,2); "
    "residential_properties integer; dibao_standard numeric(14,2)"
)
# the household columns of the population, rebuilt from dim_households at the same
# date and cast to the population's declared types (design 2.3)
_POPULATION_HOUSEHOLD = tuple(
    name
    for name, _ in _POPULATION_COLUMNS
    if name
    not in {"as_of_date", "household_id", "person_key", "masked_id", "masked_name", "relation"}
)

LOW_INCOME_POPULATION = Spec(
    table="low_income_population",
    schema=MARTS,
    date_column="as_of_date",
    columns=_POPULATION_COLUMNS,
    key=("household_id", "person_key"),
    stable=(
        Stored("masked_id", "text"),
        Stored("masked_name", "text"),
        Stored("relation", "text"),
    ),
    derived={
        name: f"{'dv' if name == 'financial_assets' else 'dh'}.{name}::{type_}"
        for name, type_ in _POPULATION_COLUMNS
        if name in _POPULATION_HOUSEHOLD
    },
    joins=(
        "join marts.dim_households__keys dk on dk.household_id = k.household_id\n"
        "join marts.dim_households__hist dh on dh.key_id = dk.key_id"
        " and dh.valid_from <= d.extract_date"
        " and (dh.valid_to is null or dh.valid_to > d.extract_date)\n"
        # financial_assets valid on the date, open or packed (sql.VALID_AT)
        "join lateral marts.dim_households__histv_at(d.extract_date) dv on dv.key_id = dk.key_id"
    ),
    reads=("dim_households",),
)

_ALERT_COLUMNS = _columns(
    "alert_id text; alert_key text; alert_date date; rule_code text; rule_name text; "
    "severity text; household_id text; person_key text; region_code text; "
    "episode_start date; is_new boolean; evidence jsonb"
)
# the evidence keys that move daily: kept apart as numeric columns while they are
# JSON numbers (any other value stays in the stable part, so the split is exact)
EVIDENCE_VOLATILE = {"financial_assets": "fa", "financial_assets_per_capita": "fapc"}


def _is_number(key: str) -> str:
    return f"coalesce(jsonb_typeof(s.evidence -> '{key}') = 'number', false)"


def _evidence_stable() -> str:
    removed = " || ".join(
        f"case when {_is_number(key)} then array['{key}'] else '{{}}'::text[] end"
        for key in EVIDENCE_VOLATILE
    )
    return f"s.evidence - ({removed})"


def _evidence_output() -> str:
    parts = ["h.ev_stable"] + [
        f"case when h.has_{col} then jsonb_build_object('{key}', v.{col}) else '{{}}'::jsonb end"
        for key, col in EVIDENCE_VOLATILE.items()
    ]
    return " || ".join(parts)


MONITORING_ALERTS = Spec(
    table="monitoring_alerts",
    schema=MARTS,
    date_column="alert_date",
    columns=_ALERT_COLUMNS,
    key=("alert_key",),
    stable=(
        *_plain(_ALERT_COLUMNS, {"alert_key", "alert_date", "is_new", "evidence"}),
        Stored("ev_stable", "jsonb", _evidence_stable()),
        *(Stored(f"has_{c}", "boolean", _is_number(k)) for k, c in EVIDENCE_VOLATILE.items()),
    ),
    volatile=tuple(
        Stored(
            col,
            "numeric",
            f"case when {_is_number(key)} then (s.evidence ->> '{key}')::numeric end",
        )
        for key, col in EVIDENCE_VOLATILE.items()
    ),
    # is_new is true exactly on an episode's first day (the mart's own test)
    derived={"is_new": "h.episode_start = d.extract_date", "evidence": _evidence_output()},
)

_CASE_COLUMNS = _columns(
    "as_of_date date; alert_id text; rule_code text; rule_name text; severity text; "
    "household_id text; person_key text; region_code text; episode_start date; state text; "
    "state_date date; verify_due date; resolve_due date; due_date date; is_overdue boolean; "
    "is_newly_overdue boolean; first_decision_date date"
)

ALERT_CASES = Spec(
    table="alert_cases",
    schema=MARTS,
    date_column="as_of_date",
    columns=_CASE_COLUMNS,
    key=("alert_id",),
    stable=_plain(_CASE_COLUMNS, {"as_of_date", "alert_id"}),
)

MART_SPECS = (DIM_HOUSEHOLDS, LOW_INCOME_POPULATION, MONITORING_ALERTS, ALERT_CASES)
SPECS = RAW_SPECS + MART_SPECS
BY_NAME = {spec.table: spec for spec in SPECS}
# the mart whose dates are the processed dates (design 2.4)
PROCESSED = LOW_INCOME_POPULATION
