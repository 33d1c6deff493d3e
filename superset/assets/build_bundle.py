"""Write the Superset bundle superset/assets/safetynet_dashboards/ (issue 22).

Dashboards as code: the three Safetynet dashboards (低收入人口驾驶舱 cockpit,
监测预警 monitoring alerts, 数据质量 data quality) in Superset 6.1's export
format (metadata.yaml, databases/, datasets/, charts/, dashboards/). Every
chart keeps its saved query context, so `/api/v1/chart/<id>/data/` answers
without the browser. Every dataset reads a mart (analyst connection) or a
granted audit table (auditor connection), never raw or staging.

Run `python superset/assets/build_bundle.py` after editing this file and
commit the YAML it writes; UUIDs are uuid5 of fixed names, so they are
stable across runs (superset/assets/README.md lists the databases').
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

BUNDLE = Path(__file__).resolve().parent / "safetynet_dashboards"
NAMESPACE = uuid.UUID("5a6e7f10-2201-4c0e-9a22-000000000022")
TIME_FILTER_DEFAULT = "No filter"


def uid(name: str) -> str:
    """A stable UUID for one asset, from its kind and name."""
    return str(uuid.uuid5(NAMESPACE, name))


# ---------------------------------------------------------------- databases

DATABASES = {
    "analyst": {
        "database_name": "warehouse_analyst",
        "uuid": "45e814e5-9e3d-46ea-a6f4-eda6002a8899",
        "user": "superset_analyst",
    },
    "auditor": {
        "database_name": "warehouse_auditor",
        "uuid": "8b291304-b40f-45a5-8558-247f4d15c599",
        "user": "superset_auditor",
    },
}
"""The connections of superset/access.yml (superset-platform): same names and uuids,
so the import keeps the connection `make superset` made (its login and password)."""


def database_yaml(key: str) -> dict[str, Any]:
    """A database connection without its password (given at import)."""
    spec = DATABASES[key]
    return {
        "database_name": spec["database_name"],
        "sqlalchemy_uri": (
            f"postgresql+psycopg2://{spec['user']}:XXXXXXXXXX@127.0.0.1:55432/warehouse"
        ),
        "cache_timeout": None,
        "expose_in_sqllab": True,
        "allow_run_async": False,
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_dml": False,
        "allow_csv_upload": False,
        "extra": {
            "allows_virtual_table_explore": True,
            "metadata_params": {},
            "engine_params": {},
            "schemas_allowed_for_file_upload": [],
        },
        "uuid": spec["uuid"],
        "version": "1.0.0",
    }


# ----------------------------------------------------------------- datasets


@dataclass
class Column:
    """A dataset column: name, type, label (Chinese + English)."""

    name: str
    type: str
    label: str
    is_dttm: bool = False


@dataclass
class Dataset:
    """A virtual (SQL) or physical dataset on one of the two connections."""

    key: str
    database: str
    table_name: str
    description: str
    columns: list[Column]
    metrics: dict[str, tuple[str, str]] = field(default_factory=dict)
    sql: str | None = None
    schema: str = "marts"
    main_dttm_col: str | None = None

    @property
    def uuid(self) -> str:
        return uid(f"dataset:{self.key}")

    def to_yaml(self) -> dict[str, Any]:
        return {
            "table_name": self.table_name,
            "main_dttm_col": self.main_dttm_col,
            "description": self.description,
            "default_endpoint": None,
            "offset": 0,
            "cache_timeout": None,
            "catalog": None,
            "schema": self.schema,
            "sql": self.sql,
            "params": None,
            "template_params": None,
            "filter_select_enabled": True,
            "fetch_values_predicate": None,
            "extra": None,
            "normalize_columns": False,
            "uuid": self.uuid,
            "metrics": [
                {
                    "metric_name": name,
                    "verbose_name": label,
                    "metric_type": None,
                    "expression": expression,
                    "description": None,
                    "d3format": ",.1%" if name.endswith("precision") else None,
                    "extra": {},
                    "warning_text": None,
                }
                for name, (expression, label) in self.metrics.items()
            ],
            "columns": [
                {
                    "column_name": col.name,
                    "verbose_name": col.label,
                    "is_dttm": col.is_dttm,
                    "is_active": True,
                    "type": col.type,
                    "advanced_data_type": None,
                    "groupby": True,
                    "filterable": True,
                    "expression": None,
                    "description": None,
                    "python_date_format": None,
                    "extra": {},
                }
                for col in self.columns
            ],
            "version": "1.0.0",
            "database_uuid": DATABASES[self.database]["uuid"],
        }


REGION_COLUMNS = [
    Column("region_code", "TEXT", "区县代码 County code"),
    Column("region_name", "TEXT", "区县 County"),
    Column("city_code", "TEXT", "市代码 City code"),
    Column("city_name", "TEXT", "市 City"),
]

RULE_LABEL = """case {col}
            when 'A01' then 'A01 死亡人员仍享受待遇 Deceased beneficiary'
            when 'A02' then 'A02 资产核查不通过 Asset test failed'
            when 'A03' then 'A03 低收入未覆盖 Uncovered low income'
            when 'A04' then 'A04 支出型贫困 Expenditure poverty'
            when 'A05' then 'A05 重复享受 Duplicate enrollment'
            when 'A06' then 'A06 大病冲击 Medical shock'
            else {col}
        end"""

CATEGORY_LABEL = """case s.category
            when 'TEKUN' then '特困 TEKUN'
            when 'DIBAO' then '低保 DIBAO'
            when 'MARGINAL' then '低保边缘 MARGINAL'
            when 'RIGID_EXPENSE' then '刚性支出困难 RIGID_EXPENSE'
            else s.category
        end"""


def region_dataset(database: str) -> Dataset:
    return Dataset(
        key=f"dim_regions:{database}",
        database=database,
        table_name=f"regions_{database}",
        description="区划维度 Cities and counties (marts.dim_regions): source of the filters.",
        columns=REGION_COLUMNS,
        sql="select region_code, region_name, city_code, city_name from marts.dim_regions",
    )


POPULATION = Dataset(
    key="cockpit_population",
    database="analyst",
    table_name="cockpit_population",
    description=(
        "低收入人口区县日汇总 Households and persons per processed date, county "
        "and category (marts.population_daily_summary + marts.dim_regions), with "
        "the change since the previous processed date of the same county and "
        "category, and is_latest_date (the latest processed date)."
    ),
    sql=f"""select
    s.as_of_date,
    s.region_code,
    r.region_name,
    r.city_code,
    r.city_name,
    {CATEGORY_LABEL} as category,
    s.households,
    s.persons,
    s.households - lag(s.households) over w as households_change,
    s.persons - lag(s.persons) over w as persons_change,
    s.as_of_date = max(s.as_of_date) over () as is_latest_date
from marts.population_daily_summary as s
inner join marts.dim_regions as r on s.region_code = r.region_code
window w as (partition by s.region_code, s.category order by s.as_of_date)""",
    columns=[
        Column("as_of_date", "DATE", "日期 Date", is_dttm=True),
        *REGION_COLUMNS,
        Column("category", "TEXT", "类别 Category"),
        Column("households", "INTEGER", "户数 Households"),
        Column("persons", "INTEGER", "人数 Persons"),
        Column("households_change", "INTEGER", "户数变化 Households change"),
        Column("persons_change", "INTEGER", "人数变化 Persons change"),
        Column("is_latest_date", "BOOLEAN", "最新日期 Latest date"),
    ],
    metrics={
        "persons_total": ("SUM(persons)", "人数 Persons"),
        "households_total": ("SUM(households)", "户数 Households"),
        "persons_change_total": ("SUM(persons_change)", "人数较前日 Persons vs previous day"),
        "households_change_total": (
            "SUM(households_change)",
            "户数较前日 Households vs previous day",
        ),
    },
    main_dttm_col="as_of_date",
)

ALERTS = Dataset(
    key="alerts_by_region",
    database="analyst",
    table_name="alerts_by_region",
    description=(
        "监测预警 Alerts per processed date (marts.monitoring_alerts + "
        "marts.dim_regions): rule, county, new (新增) or continuing (持续)."
    ),
    sql=f"""select
    a.alert_date as as_of_date,
    a.rule_code,
    {RULE_LABEL.format(col="a.rule_code")} as rule_label,
    a.severity,
    case when a.is_new then '新增 New' else '持续 Continuing' end as novelty,
    a.region_code,
    r.region_name,
    r.city_code,
    r.city_name,
    a.alert_date = max(a.alert_date) over () as is_latest_date
from marts.monitoring_alerts as a
inner join marts.dim_regions as r on a.region_code = r.region_code""",
    columns=[
        Column("as_of_date", "DATE", "日期 Date", is_dttm=True),
        Column("rule_code", "TEXT", "规则 Rule"),
        Column("rule_label", "TEXT", "预警规则 Rule"),
        Column("severity", "TEXT", "等级 Severity"),
        Column("novelty", "TEXT", "新增/持续 New or continuing"),
        *REGION_COLUMNS,
        Column("is_latest_date", "BOOLEAN", "最新日期 Latest date"),
    ],
    metrics={
        "alerts": ("COUNT(*)", "预警数 Alerts"),
        "new_alerts": ("SUM(CASE WHEN novelty = '新增 New' THEN 1 ELSE 0 END)", "新增 New"),
    },
    main_dttm_col="as_of_date",
)

FOLLOWUP = Dataset(
    key="alert_followup_by_region",
    database="analyst",
    table_name="alert_followup_by_region",
    description=(
        "预警核查日汇总 Follow-up per processed date, county and rule "
        "(marts.alert_followup_daily + marts.dim_regions): states, overdue, "
        "and the 90-day field precision counts."
    ),
    sql=f"""select
    f.as_of_date,
    f.rule_code,
    {RULE_LABEL.format(col="f.rule_code")} as rule_label,
    f.region_code,
    r.region_name,
    r.city_code,
    r.city_name,
    f.alerts_holding,
    f.open_alerts,
    f.verifying_alerts,
    f.confirmed_alerts,
    f.dismissed_alerts,
    f.resolved_alerts,
    f.overdue_alerts,
    f.newly_overdue_alerts,
    f.episodes_started_90d,
    f.confirmed_or_resolved_90d,
    f.dismissed_90d,
    f.as_of_date = max(f.as_of_date) over () as is_latest_date
from marts.alert_followup_daily as f
inner join marts.dim_regions as r on f.region_code = r.region_code""",
    columns=[
        Column("as_of_date", "DATE", "日期 Date", is_dttm=True),
        Column("rule_code", "TEXT", "规则 Rule"),
        Column("rule_label", "TEXT", "预警规则 Rule"),
        *REGION_COLUMNS,
        Column("alerts_holding", "INTEGER", "在预警 Holding"),
        Column("open_alerts", "INTEGER", "待核查 Open"),
        Column("verifying_alerts", "INTEGER", "核实中 Verifying"),
        Column("confirmed_alerts", "INTEGER", "情况属实 Confirmed"),
        Column("dismissed_alerts", "INTEGER", "情况不属实 Dismissed"),
        Column("resolved_alerts", "INTEGER", "已处置 Resolved"),
        Column("overdue_alerts", "INTEGER", "逾期 Overdue"),
        Column("newly_overdue_alerts", "INTEGER", "新增逾期 Newly overdue"),
        Column("episodes_started_90d", "INTEGER", "90日新增事件 Episodes (90 d)"),
        Column("confirmed_or_resolved_90d", "INTEGER", "90日属实 Confirmed (90 d)"),
        Column("dismissed_90d", "INTEGER", "90日不属实 Dismissed (90 d)"),
        Column("is_latest_date", "BOOLEAN", "最新日期 Latest date"),
    ],
    metrics={
        "holding": ("SUM(alerts_holding)", "在预警 Holding"),
        "open": ("SUM(open_alerts)", "待核查 Open"),
        "verifying": ("SUM(verifying_alerts)", "核实中 Verifying"),
        "confirmed": ("SUM(confirmed_alerts)", "情况属实 Confirmed"),
        "dismissed": ("SUM(dismissed_alerts)", "情况不属实 Dismissed"),
        "resolved": ("SUM(resolved_alerts)", "已处置 Resolved"),
        "overdue": ("SUM(overdue_alerts)", "逾期 Overdue"),
        "newly_overdue": ("SUM(newly_overdue_alerts)", "新增逾期 Newly overdue"),
        "episodes_90d": ("SUM(episodes_started_90d)", "90日新增事件 Episodes (90 d)"),
        "confirmed_90d": ("SUM(confirmed_or_resolved_90d)", "属实 Confirmed/resolved (90 d)"),
        "dismissed_90d": ("SUM(dismissed_90d)", "不属实 Dismissed (90 d)"),
        "field_precision": (
            "SUM(confirmed_or_resolved_90d)::numeric"
            " / NULLIF(SUM(confirmed_or_resolved_90d) + SUM(dismissed_90d), 0)",
            "核查准确率 Field precision",
        ),
    },
    main_dttm_col="as_of_date",
)

DQ_RESULTS = Dataset(
    key="audit_dq_results",
    database="auditor",
    table_name="audit_dq_results",
    schema="audit",
    description="数据质量检查 Data-quality check results (audit.dq_results).",
    sql="""select
    extract_date,
    suite,
    expectation,
    severity,
    success
from audit.dq_results""",
    columns=[
        Column("extract_date", "DATE", "数据日期 Extract date", is_dttm=True),
        Column("suite", "TEXT", "检查套件 Suite"),
        Column("expectation", "TEXT", "检查项 Expectation"),
        Column("severity", "TEXT", "级别 Severity"),
        Column("success", "BOOLEAN", "通过 Passed"),
    ],
    metrics={
        "checks_passed": ("SUM(CASE WHEN success THEN 1 ELSE 0 END)", "通过 Passed"),
        "checks_failed": ("SUM(CASE WHEN success THEN 0 ELSE 1 END)", "未通过 Failed"),
    },
    main_dttm_col="extract_date",
)

REJECTS = Dataset(
    key="audit_rejected_rows",
    database="auditor",
    table_name="audit_rejected_rows",
    schema="audit",
    description=(
        "拒收行 Rejected rows (audit.rejected_rows, masked): per source and "
        "reason kind (the reason with its dates, ids and numbers replaced by #)."
    ),
    sql="""select
    extract_date,
    source,
    regexp_replace(
        reason, '[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9a-f]{32}|[0-9]+', '#', 'g'
    ) as reason_kind
from audit.rejected_rows""",
    columns=[
        Column("extract_date", "DATE", "数据日期 Extract date", is_dttm=True),
        Column("source", "TEXT", "来源 Source"),
        Column("reason_kind", "TEXT", "原因 Reason"),
    ],
    metrics={"rejected_rows": ("COUNT(*)", "拒收行数 Rejected rows")},
    main_dttm_col="extract_date",
)

ARRIVALS = Dataset(
    key="audit_source_arrivals",
    database="auditor",
    table_name="audit_source_arrivals",
    schema="audit",
    description=(
        "数据到达 Deliveries (audit.source_arrivals): 准时 on time (manifest there "
        "at the first check), 迟到 late (arrived while the run waited), 缺失 "
        "missing (not there at SAFETYNET_SOURCE_TIMEOUT), 等待中 waiting."
    ),
    sql="""select
    extract_date,
    source,
    case
        when status = 'arrived' and coalesce(waited_seconds, 0) < 60 then '准时 On time'
        when status = 'arrived' then '迟到 Late'
        when status = 'late' then '缺失 Missing'
        else '等待中 Waiting'
    end as delivery_state,
    waited_seconds
from audit.source_arrivals""",
    columns=[
        Column("extract_date", "DATE", "数据日期 Extract date", is_dttm=True),
        Column("source", "TEXT", "来源 Source"),
        Column("delivery_state", "TEXT", "到达状态 Delivery"),
        Column("waited_seconds", "NUMERIC", "等待秒数 Waited (s)"),
    ],
    metrics={
        "deliveries": ("COUNT(*)", "交付数 Deliveries"),
        "late_or_missing": (
            "SUM(CASE WHEN delivery_state IN ('迟到 Late', '缺失 Missing') THEN 1 ELSE 0 END)",
            "迟到或缺失 Late or missing",
        ),
    },
    main_dttm_col="extract_date",
)

# ------------------------------------------------------------------- charts


@dataclass
class Chart:
    """One chart: its viz, dataset and the form data the frontend needs."""

    key: str
    name: str
    viz: str
    dataset: Dataset
    params: dict[str, Any]
    width: int = 6
    height: int = 50
    latest_only: bool = False
    description: str | None = None

    @property
    def uuid(self) -> str:
        return uid(f"chart:{self.key}")

    @property
    def time_column(self) -> str:
        return self.dataset.main_dttm_col or "as_of_date"

    def adhoc_filters(self) -> list[dict[str, Any]]:
        filters = [
            {
                "clause": "WHERE",
                "subject": self.time_column,
                "operator": "TEMPORAL_RANGE",
                "comparator": TIME_FILTER_DEFAULT,
                "expressionType": "SIMPLE",
            }
        ]
        if self.latest_only:
            filters.append(
                {
                    "clause": "WHERE",
                    "subject": "is_latest_date",
                    "operator": "IS TRUE",
                    "comparator": None,
                    "expressionType": "SIMPLE",
                }
            )
        return filters

    def form_data(self) -> dict[str, Any]:
        return {
            "datasource": f"{self.dataset.uuid}__table",
            "viz_type": self.viz,
            "adhoc_filters": self.adhoc_filters(),
            "extra_form_data": {},
            "dashboards": [],
            **self.params,
        }

    def query(self) -> dict[str, Any]:
        """The saved query of the chart (what /api/v1/chart/<id>/data/ runs)."""
        params = self.params
        metrics = params.get("metrics") or [params["metric"]]
        columns: list[Any] = []
        x_axis = params.get("x_axis")
        if x_axis == self.time_column:
            columns.append(
                {
                    "timeGrain": params.get("time_grain_sqla", "P1D"),
                    "columnType": "BASE_AXIS",
                    "sqlExpression": x_axis,
                    "label": x_axis,
                    "expressionType": "SQL",
                }
            )
        elif x_axis:
            columns.append(x_axis)
        columns += params.get("groupby", [])
        filters: list[dict[str, Any]] = [
            {"col": self.time_column, "op": "TEMPORAL_RANGE", "val": TIME_FILTER_DEFAULT}
        ]
        if self.latest_only:
            filters.append({"col": "is_latest_date", "op": "IS TRUE"})
        return {
            "filters": filters,
            "extras": {"having": "", "where": ""},
            "applied_time_extras": {},
            "columns": columns,
            "metrics": metrics,
            "orderby": [[metrics[0], False]] if self.viz == "table" else [],
            "annotation_layers": [],
            "row_limit": params.get("row_limit", 1000),
            "series_limit": 0,
            "order_desc": True,
            "url_params": {},
            "custom_params": {},
            "custom_form_data": {},
            "time_range": TIME_FILTER_DEFAULT,
            "post_processing": [],
        }

    def to_yaml(self) -> dict[str, Any]:
        form_data = self.form_data()
        query_context = {
            "datasource": {"id": 0, "type": "table"},
            "force": False,
            "queries": [self.query()],
            "form_data": form_data,
            "result_format": "json",
            "result_type": "full",
        }
        return {
            "slice_name": self.name,
            "description": self.description,
            "certified_by": None,
            "certification_details": None,
            "viz_type": self.viz,
            "params": form_data,
            "query_context": json.dumps(query_context, ensure_ascii=False),
            "cache_timeout": None,
            "uuid": self.uuid,
            "version": "1.0.0",
            "dataset_uuid": self.dataset.uuid,
        }


def big_number(metric: str, time_column: str = "as_of_date") -> dict[str, Any]:
    """Big number with a daily trendline and the change against the day before."""
    return {
        "x_axis": time_column,
        "time_grain_sqla": "P1D",
        "metric": metric,
        "show_trend_line": True,
        "start_y_axis_at_zero": True,
        "compare_lag": 1,
        "compare_suffix": "较前一日 vs previous day",
        "aggregation": "LAST_VALUE",
        "header_font_size": 0.4,
        "subheader_font_size": 0.15,
        "y_axis_format": "SMART_NUMBER",
        "time_format": "%Y-%m-%d",
        "rolling_type": "None",
    }


def big_number_total(metric: str, subheader: str) -> dict[str, Any]:
    return {
        "metric": metric,
        "subheader": subheader,
        "header_font_size": 0.4,
        "subheader_font_size": 0.15,
        "y_axis_format": "SMART_NUMBER",
        "time_format": "smart_date",
    }


def bar(x_axis: str, metrics: list[str], groupby: list[str] | None = None) -> dict[str, Any]:
    """An ECharts bar chart; a date x-axis is daily, any other is categorical."""
    params: dict[str, Any] = {
        "x_axis": x_axis,
        "metrics": metrics,
        "groupby": groupby or [],
        "stack": "Stack",
        "row_limit": 10000,
        "truncate_metric": True,
        "show_legend": True,
        "legendType": "scroll",
        "legendOrientation": "top",
        "rich_tooltip": True,
        "y_axis_format": "SMART_NUMBER",
        "x_axis_sort_asc": True,
        "x_axis_sort_series": "name",
        "x_axis_sort_series_ascending": True,
        "order_desc": True,
        "color_scheme": "supersetColors",
        "show_value": False,
        "orientation": "vertical",
        "comparison_type": "values",
        "annotation_layers": [],
        "forecastPeriods": 10,
        "forecastInterval": 0.8,
        "x_axis_title_margin": 15,
        "y_axis_title_margin": 15,
        "y_axis_title_position": "Left",
        "xAxisLabelRotation": 30,
    }
    return params


def line(x_axis: str, metrics: list[str], groupby: list[str] | None = None) -> dict[str, Any]:
    params = with_time_grain(bar(x_axis, metrics, groupby))
    params.pop("stack")
    params["markerEnabled"] = True
    return params


def table(
    groupby: list[str], metrics: list[str], percent: list[str] | None = None
) -> dict[str, Any]:
    column_config: dict[str, Any] = {name: {"d3NumberFormat": ",.1%"} for name in percent or []}
    return {
        "query_mode": "aggregate",
        "groupby": groupby,
        "metrics": metrics,
        "all_columns": [],
        "percent_metrics": [],
        "order_by_cols": [],
        "row_limit": 1000,
        "server_page_length": 10,
        "order_desc": True,
        "table_timestamp_format": "%Y-%m-%d",
        "show_cell_bars": True,
        "color_pn": True,
        "column_config": column_config,
        "allow_rearrange_columns": False,
        "conditional_formatting": [],
    }


def with_time_grain(params: dict[str, Any]) -> dict[str, Any]:
    """A daily time axis, dates written as 2026-10-03."""
    params["time_grain_sqla"] = "P1D"
    params["x_axis_time_format"] = "%Y-%m-%d"
    params["tooltipTimeFormat"] = "%Y-%m-%d"
    params["xAxisLabelRotation"] = 0
    return params


COCKPIT_CHARTS = [
    Chart(
        "cockpit_persons",
        "低收入人口人数 Persons (较前一日 vs previous day)",
        "big_number",
        POPULATION,
        big_number("persons_total"),
        width=4,
        height=40,
    ),
    Chart(
        "cockpit_households",
        "低收入人口户数 Households (较前一日 vs previous day)",
        "big_number",
        POPULATION,
        big_number("households_total"),
        width=4,
        height=40,
    ),
    Chart(
        "cockpit_households_vs_persons",
        "户数与人数 Households vs persons, by category",
        "echarts_timeseries_bar",
        POPULATION,
        {**bar("category", ["households_total", "persons_total"]), "stack": None},
        width=4,
        height=40,
        latest_only=True,
    ),
    Chart(
        "cockpit_persons_by_county",
        "各区县低收入人口 Persons by county and category (最新日期 latest date)",
        "echarts_timeseries_bar",
        POPULATION,
        bar("region_name", ["persons_total"], ["category"]),
        width=12,
        latest_only=True,
    ),
    Chart(
        "cockpit_persons_over_time",
        "人数走势 Persons over time, by category",
        "echarts_timeseries_line",
        POPULATION,
        line("as_of_date", ["persons_total"], ["category"]),
        width=6,
    ),
    Chart(
        "cockpit_households_over_time",
        "户数走势 Households over time, by category",
        "echarts_timeseries_line",
        POPULATION,
        line("as_of_date", ["households_total"], ["category"]),
        width=6,
    ),
    Chart(
        "cockpit_change_by_county",
        "较前一日变化 Change since the previous day, by county and category",
        "table",
        POPULATION,
        table(
            ["city_name", "region_name", "category"],
            [
                "households_total",
                "households_change_total",
                "persons_total",
                "persons_change_total",
            ],
        ),
        width=12,
        height=60,
        latest_only=True,
    ),
]

ALERT_CHARTS = [
    Chart(
        "alerts_holding",
        "在预警数 Alerts holding (较前一日 vs previous day)",
        "big_number",
        ALERTS,
        big_number("alerts"),
        width=4,
        height=40,
    ),
    Chart(
        "alerts_new",
        "新增预警 New alerts (较前一日 vs previous day)",
        "big_number",
        ALERTS,
        big_number("new_alerts"),
        width=4,
        height=40,
    ),
    Chart(
        "alerts_overdue",
        "逾期预警 Overdue alerts (较前一日 vs previous day)",
        "big_number",
        FOLLOWUP,
        big_number("overdue"),
        width=4,
        height=40,
    ),
    Chart(
        "alerts_by_rule_novelty",
        "各规则预警 Alerts by rule: new vs continuing (最新日期 latest date)",
        "echarts_timeseries_bar",
        ALERTS,
        bar("rule_label", ["alerts"], ["novelty"]),
        width=6,
        latest_only=True,
    ),
    Chart(
        "alerts_by_county",
        "各区县预警 Alerts by county and rule (最新日期 latest date)",
        "echarts_timeseries_bar",
        ALERTS,
        bar("region_name", ["alerts"], ["rule_label"]),
        width=6,
        latest_only=True,
    ),
    Chart(
        "alerts_new_over_time",
        "新增预警走势 New vs continuing alerts over time",
        "echarts_timeseries_bar",
        ALERTS,
        with_time_grain(bar("as_of_date", ["alerts"], ["novelty"])),
        width=6,
    ),
    Chart(
        "alerts_followup_state",
        "核查状态 Follow-up state by rule (最新日期 latest date)",
        "echarts_timeseries_bar",
        FOLLOWUP,
        bar("rule_label", ["open", "verifying", "confirmed", "dismissed", "resolved"]),
        width=6,
        latest_only=True,
    ),
    Chart(
        "alerts_overdue_by_county",
        "逾期 Overdue by county and rule (最新日期 latest date)",
        "table",
        FOLLOWUP,
        table(["city_name", "region_name", "rule_label"], ["holding", "overdue", "newly_overdue"]),
        width=6,
        height=60,
        latest_only=True,
    ),
    Chart(
        "alerts_field_precision",
        "核查准确率 Field precision by rule (近90日 last 90 days)",
        "table",
        FOLLOWUP,
        table(
            ["rule_label"],
            ["episodes_90d", "confirmed_90d", "dismissed_90d", "field_precision"],
            percent=["field_precision"],
        ),
        width=6,
        height=60,
        latest_only=True,
        description=(
            "核查准确率 = (情况属实 + 已处置) / (情况属实 + 已处置 + 情况不属实), over the "
            "episodes started in the 90 days up to the latest date, by their state in force "
            "(marts.alert_followup_daily). Field precision: the share of decided alerts "
            "that street offices found true."
        ),
    ),
]

DQ_CHARTS = [
    Chart(
        "dq_checks_failed",
        "未通过检查 Failed checks (较前一日 vs previous day)",
        "big_number",
        DQ_RESULTS,
        big_number("checks_failed", "extract_date"),
        width=4,
        height=40,
    ),
    Chart(
        "dq_rejected_total",
        "拒收行数 Rejected rows",
        "big_number_total",
        REJECTS,
        big_number_total("rejected_rows", "所选日期 in the selected dates"),
        width=4,
        height=40,
    ),
    Chart(
        "dq_late_or_missing",
        "迟到或缺失交付 Late or missing deliveries",
        "big_number_total",
        ARRIVALS,
        big_number_total("late_or_missing", "所选日期 in the selected dates"),
        width=4,
        height=40,
    ),
    Chart(
        "dq_checks_per_day",
        "每日检查 Checks passed and failed per day",
        "echarts_timeseries_bar",
        DQ_RESULTS,
        with_time_grain(bar("extract_date", ["checks_passed", "checks_failed"])),
        width=6,
    ),
    Chart(
        "dq_checks_per_suite",
        "各套件检查 Checks per day and suite",
        "table",
        DQ_RESULTS,
        table(["extract_date", "suite"], ["checks_failed", "checks_passed"]),
        width=6,
        height=60,
    ),
    Chart(
        "dq_rejected_by_source",
        "拒收行 Rejected rows by source and reason",
        "echarts_timeseries_bar",
        REJECTS,
        bar("source", ["rejected_rows"], ["reason_kind"]),
        width=6,
    ),
    Chart(
        "dq_deliveries",
        "数据到达 Deliveries by source: on time, late, missing",
        "echarts_timeseries_bar",
        ARRIVALS,
        bar("source", ["deliveries"], ["delivery_state"]),
        width=6,
    ),
]

# --------------------------------------------------------------- dashboards


@dataclass
class Dashboard:
    """A dashboard: title, slug, its charts in rows and its filters."""

    key: str
    title: str
    slug: str
    description: str
    charts: list[Chart]
    regions: Dataset
    intro: str

    @property
    def uuid(self) -> str:
        return uid(f"dashboard:{self.key}")

    def position(self) -> dict[str, Any]:
        pos: dict[str, Any] = {
            "DASHBOARD_VERSION_KEY": "v2",
            "ROOT_ID": {"children": ["GRID_ID"], "id": "ROOT_ID", "type": "ROOT"},
            "HEADER_ID": {"id": "HEADER_ID", "meta": {"text": self.title}, "type": "HEADER"},
        }
        rows: list[list[dict[str, Any]]] = [[]]
        used = 0
        markdown = {"kind": "markdown", "width": 12, "height": 14}
        for item in [markdown, *self.charts]:
            width = item["width"] if isinstance(item, dict) else item.width
            if used + width > 12:
                rows.append([])
                used = 0
            rows[-1].append(item)  # type: ignore[arg-type]
            used += width
        grid_children = []
        for row_no, items in enumerate(rows):
            row_id = f"ROW-{self.key}-{row_no}"
            grid_children.append(row_id)
            children = []
            for item in items:
                if isinstance(item, dict):
                    node_id = f"MARKDOWN-{self.key}"
                    pos[node_id] = {
                        "children": [],
                        "id": node_id,
                        "meta": {"code": self.intro, "width": 12, "height": 14},
                        "parents": ["ROOT_ID", "GRID_ID", row_id],
                        "type": "MARKDOWN",
                    }
                else:
                    chart_no = self.charts.index(item) + 1
                    node_id = f"CHART-{item.key}"
                    pos[node_id] = {
                        "children": [],
                        "id": node_id,
                        "meta": {
                            "chartId": chart_no,
                            "height": item.height,
                            "sliceName": item.name,
                            "uuid": item.uuid,
                            "width": item.width,
                        },
                        "parents": ["ROOT_ID", "GRID_ID", row_id],
                        "type": "CHART",
                    }
                children.append(node_id)
            pos[row_id] = {
                "children": children,
                "id": row_id,
                "meta": {"background": "BACKGROUND_TRANSPARENT"},
                "parents": ["ROOT_ID", "GRID_ID"],
                "type": "ROW",
            }
        pos["GRID_ID"] = {
            "children": grid_children,
            "id": "GRID_ID",
            "parents": ["ROOT_ID"],
            "type": "GRID",
        }
        return pos

    def native_filters(self) -> list[dict[str, Any]]:
        scope = {"rootPath": ["ROOT_ID"], "excluded": []}
        empty_mask = {"extraFormData": {}, "filterState": {}, "ownState": {}}
        city_id = f"NATIVE_FILTER-{self.key}-city"
        select_controls = {
            "enableEmptyFilter": False,
            "defaultToFirstItem": False,
            "multiSelect": True,
            "searchAllOptions": False,
            "inverseSelection": False,
        }
        return [
            {
                "id": f"NATIVE_FILTER-{self.key}-date",
                "name": "日期 Date",
                "filterType": "filter_time",
                "targets": [{}],
                "controlValues": {"enableEmptyFilter": False},
                "defaultDataMask": empty_mask,
                "cascadeParentIds": [],
                "scope": scope,
                "type": "NATIVE_FILTER",
                "description": "数据日期 Processed (extract) date range.",
            },
            {
                "id": city_id,
                "name": "市 City",
                "filterType": "filter_select",
                "targets": [{"datasetUuid": self.regions.uuid, "column": {"name": "city_name"}}],
                "controlValues": select_controls,
                "defaultDataMask": empty_mask,
                "cascadeParentIds": [],
                "scope": scope,
                "type": "NATIVE_FILTER",
                "description": "市 City (marts.dim_regions).",
            },
            {
                "id": f"NATIVE_FILTER-{self.key}-county",
                "name": "区县 County",
                "filterType": "filter_select",
                "targets": [{"datasetUuid": self.regions.uuid, "column": {"name": "region_name"}}],
                "controlValues": select_controls,
                "defaultDataMask": empty_mask,
                "cascadeParentIds": [city_id],
                "scope": scope,
                "type": "NATIVE_FILTER",
                "description": "区县 County (marts.dim_regions), within the chosen city.",
            },
        ]

    def to_yaml(self) -> dict[str, Any]:
        return {
            "dashboard_title": self.title,
            "description": self.description,
            "css": "",
            "slug": self.slug,
            "certified_by": None,
            "certification_details": None,
            "published": True,
            "uuid": self.uuid,
            "position": self.position(),
            "metadata": {
                "color_scheme": "supersetColors",
                "refresh_frequency": 0,
                "expanded_slices": {},
                "label_colors": {},
                "shared_label_colors": [],
                "map_label_colors": {},
                "color_scheme_domain": [],
                "timed_refresh_immune_slices": [],
                "cross_filters_enabled": False,
                "default_filters": "{}",
                "chart_configuration": {},
                "global_chart_configuration": {
                    "scope": {"rootPath": ["ROOT_ID"], "excluded": []},
                    "chartsInScope": [],
                },
                "native_filter_configuration": self.native_filters(),
            },
            "version": "1.0.0",
        }


ANALYST_REGIONS = region_dataset("analyst")
AUDITOR_REGIONS = region_dataset("auditor")

DASHBOARDS = [
    Dashboard(
        "cockpit",
        "低收入人口驾驶舱 Low-income population cockpit",
        "safetynet-cockpit",
        "低收入人口 by category and county: latest date, over time, change since the day before.",
        COCKPIT_CHARTS,
        ANALYST_REGIONS,
        "**低收入人口驾驶舱** Low-income population cockpit — 特困、低保、低保边缘、"
        "刚性支出困难 by county; 最新日期 = the latest processed date; 较前一日 = "
        "against the previous processed date. Source: marts.population_daily_summary.",
    ),
    Dashboard(
        "alerts",
        "监测预警 Monitoring alerts",
        "safetynet-alerts",
        "Alerts by rule and county, new vs continuing, follow-up state, overdue, field precision.",
        ALERT_CHARTS,
        ANALYST_REGIONS,
        "**监测预警** Monitoring alerts (rules A01–A06) and their follow-up (线下核查). "
        "核查准确率 Field precision = (属实 + 已处置) / (属实 + 已处置 + 不属实) over the "
        "episodes started in the last 90 days. Sources: marts.monitoring_alerts, "
        "marts.alert_followup_daily (from marts.alert_cases).",
    ),
    Dashboard(
        "data_quality",
        "数据质量 Data quality (审计 auditors)",
        "safetynet-data-quality",
        "Checks passed and failed, rejected rows, late or missing deliveries (auditors only).",
        DQ_CHARTS,
        AUDITOR_REGIONS,
        "**数据质量** Data quality, for auditors: checks (audit.dq_results), rejected rows "
        "(audit.rejected_rows, masked), deliveries (audit.source_arrivals). The audit "
        "tables have no region: the city and county filters do not apply to them.",
    ),
]


class Dumper(yaml.SafeDumper):
    """yamllint-clean YAML: indented block sequences, multi-line strings as blocks."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


Dumper.add_representer(str, _str)


def dump(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.dump(data, Dumper=Dumper, allow_unicode=True, sort_keys=False, width=80)
    path.write_text("---\n" + text, encoding="utf-8")


def file_name(name: str) -> str:
    return name.replace(":", "_") + ".yaml"


def main() -> None:
    """Write the bundle from scratch."""
    if BUNDLE.exists():
        shutil.rmtree(BUNDLE)
    dump(
        BUNDLE / "metadata.yaml",
        {"version": "1.0.0", "type": "Dashboard", "timestamp": "2026-12-04T00:00:00+00:00"},
    )
    for key in DATABASES:
        dump(BUNDLE / "databases" / file_name(DATABASES[key]["database_name"]), database_yaml(key))
    datasets = [ANALYST_REGIONS, AUDITOR_REGIONS, POPULATION, ALERTS, FOLLOWUP]
    datasets += [DQ_RESULTS, REJECTS, ARRIVALS]
    for dataset in datasets:
        dump(BUNDLE / "datasets" / file_name(dataset.key), dataset.to_yaml())
    for dashboard in DASHBOARDS:
        for chart in dashboard.charts:
            dump(BUNDLE / "charts" / file_name(chart.key), chart.to_yaml())
        dump(BUNDLE / "dashboards" / file_name(dashboard.key), dashboard.to_yaml())


if __name__ == "__main__":
    main()
