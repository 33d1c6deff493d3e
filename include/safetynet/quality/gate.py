"""The data-quality gate: the YAML checks in ``expectations/`` run as Great
Expectations checkpoints, results stored in ``audit.dq_results`` and
rendered into GX Data Docs. A failed ``critical`` check blocks the day.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import yaml
from psycopg import sql

from safetynet import privacy, warehouse
from safetynet.config import checks_dir
from safetynet.quality import datadocs, gximport, value_sets

log = logging.getLogger(__name__)

PLACEHOLDER = re.compile(r"^\{(\w+)\}$")
RESERVED = {"expect", "severity", "description", "via", "value_set_of"}
KEY_RESULT = "_key_result_table"  # set by key_results(): where its GROUP BY was stored
# Each suite's batch is a view in this schema, created for the run and dropped after it.
CHECKS_SCHEMA = "dq_checks"
SCHEMA_LOCK = 7_100_003  # advisory lock ids: warehouse 7_100_001, person keys 7_100_002
VIEW_COMMENT = "safetynet data-quality batch, created"
# BASIC: the verdict, the unexpected count and up to 20 example values for auditors.
# Not SUMMARY/COMPLETE: their unexpected index lists and value counts are extra
# full-batch queries, and COMPLETE fetches every unexpected value into Python.
EXAMPLES = 20
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": EXAMPLES}
# (issue 23) The checkpoint counts only: GX's example query (``... where <unexpected>
# limit 20``) reads the whole batch when no value is unexpected (~11 s of check_raw at
# 5M persons). The examples of a failed check come after, its expectation validated
# again alone with RESULT_FORMAT (_add_examples).
COUNTS_FORMAT = {**RESULT_FORMAT, "partial_unexpected_count": 0}


class QualityGateFailed(Exception):
    """Critical checks failed; the message lists them (examples masked)."""

    def __init__(self, message: str, failed: list[CheckResult] | None = None) -> None:
        super().__init__(message)
        self.failed = failed or []


@dataclass(frozen=True)
class CheckResult:
    suite: str
    expectation: str
    column: str | None
    severity: str
    success: bool
    observed: str
    description: str


def check_files(layer: str) -> list[Path]:
    """``raw`` → delivery.yml + raw/*.yml; ``marts`` → marts/*.yml."""
    if layer == "raw":
        return [checks_dir() / "delivery.yml", *sorted((checks_dir() / "raw").glob("*.yml"))]
    return sorted((checks_dir() / layer).glob("*.yml"))


def _fill(value: Any, params: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = PLACEHOLDER.match(value)
        return params[whole.group(1)] if whole else value
    if isinstance(value, list):
        return [_fill(v, params) for v in value]
    return value


def _class_name(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def build_expectation(check: dict[str, Any], params: dict[str, Any]) -> Any:
    gx = gximport.load()

    if check.get("via") == "group_by":
        return _key_expectation(check)
    kwargs = {k: _fill(v, params) for k, v in check.items() if k not in RESERVED}
    if "value_set_of" in check:  # a list of values from its one home (value_sets.py)
        kwargs["value_set"] = value_sets.resolve(check["value_set_of"])
    expectation_class = getattr(gx.expectations, _class_name(check["expect"]))
    return expectation_class(
        **kwargs,
        severity=check["severity"],
        description=check.get("description") or None,
    )


def key_query(check: dict[str, Any], batch: str) -> str:
    """The keys of ``batch`` that are missing or occur more than once (one GROUP BY)."""
    columns = [
        sql.Identifier(c).as_string(None) for c in check.get("column_list") or [check["column"]]
    ]
    quoted = ", ".join(columns)
    query = (
        f"select {quoted}, count(*) as copies from {batch} group by {quoted} having count(*) > 1"
    )
    if check.get("ignore_row_if") != "never":  # else a null is a value of the key
        query += "".join(f" or {c} is null" for c in columns)
    return query


def _key_expectation(check: dict[str, Any]) -> Any:
    """A key check (``expect_column_values_to_be_unique`` / ``..._compound_columns_...``)
    as one GROUP BY over the batch: the keys that are missing or occur more than once.

    GX's own SQL for compound uniqueness joins every row to the group counts, and runs
    that once for the count and again for the examples (8-15 s on 1.5M rows, see
    docs/benchmark.md). GX's query expectation would still run the GROUP BY twice (its
    count, then its rows), so ``run_checks`` computes it once into a table of the run
    (``KEY_RESULT``) and the expectation reads that table. Stored in audit.dq_results
    under the check's own name; the observed value is the number of offending keys,
    the examples are those keys.
    """
    gx = gximport.load()

    columns = check.get("column_list") or [check["column"]]
    # the comment names the batch for GX (which warns about a query without {batch})
    query = f'select * from "{CHECKS_SCHEMA}"."{check[KEY_RESULT]}" /* keys of {{batch}} */'
    what = f"key ({', '.join(columns)}) present and unique"
    return gx.expectations.UnexpectedRowsExpectation(
        unexpected_rows_query=query,
        severity=check["severity"],
        description=(check.get("description") or what)
        + f" — computed once per run as: {key_query(check, 'the batch')}",
        meta={"safetynet_check": check["expect"], "columns": columns},
    )


def key_results(specs: list[dict[str, Any]], views: list[str], token: str) -> dict[str, str]:
    """Per key check (``via: group_by``): table name of the run → its GROUP BY query.

    The table name is written into the check (``KEY_RESULT``) for ``_key_expectation``.
    """
    tables = {}
    for spec, view in zip(specs, views, strict=True):
        batch = sql.Identifier(CHECKS_SCHEMA, view).as_string(None)
        for index, check in enumerate(spec["checks"]):
            if check.get("via") == "group_by":
                table = f"{_slug(spec['suite'])[:40]}__{token}_k{index}"
                check[KEY_RESULT] = table
                tables[table] = key_query(check, batch)
    return tables


QUOTED_PLACEHOLDER = re.compile(r"'\{(\w+)\}'")


def render_query(query: str, params: dict[str, Any]) -> str:
    """A check's query with each ``'{name}'`` replaced by the value as a SQL literal,
    quoted by psycopg (a view's definition takes no bind parameters): a run id such as
    ``manual__it's`` stays a value. A placeholder outside quotes is refused."""
    rendered = QUOTED_PLACEHOLDER.sub(
        lambda m: sql.Literal(str(params[m.group(1)])).as_string(None), query
    )
    if re.search(r"\{\w+\}", rendered):
        raise ValueError(f"unquoted placeholder in check query: {query!r}")
    return rendered


@contextlib.contextmanager
def _gx_lock(reports_dir: Path) -> Iterator[None]:
    """The GX file context (``reports_dir``) is rewritten by every run (its data source,
    definitions, checkpoint): one run at a time, across processes (flock)."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    with open(reports_dir / ".gx_context.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _context(reports_dir: Path, url: str) -> Any:
    gx = gximport.load()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    os.environ["SAFETYNET_GX_CONNECTION"] = _sqlalchemy_url(url)
    context = gx.get_context(mode="file", project_root_dir=str(reports_dir))
    _read_config_variables_once(context)
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    _forget_previous_run(context)
    context.data_sources.add_postgres(
        name="warehouse", connection_string="${SAFETYNET_GX_CONNECTION}"
    )
    return context


def _read_config_variables_once(context: Any) -> None:
    """(issue 23) GX reads and parses ``uncommitted/config_variables.yml`` again each time
    it reads one of the context's settings: ~380 times per check run (~0.1 s CPU of
    ~1.5 s on a sample-size day). Nothing writes that file during a run: read it once."""
    from great_expectations.core.config_provider import (
        _ConfigurationVariablesConfigurationProvider as FileVariables,
    )

    provider = context.config_provider.get_provider(FileVariables)
    if provider is not None:
        values = provider.get_values()
        provider.get_values = lambda: dict(values)


@contextlib.contextmanager
def _config_saved_once(context: Any) -> Iterator[None]:
    """(issue 23) GX rewrites the whole ``great_expectations.yml`` after each table asset
    and batch definition it adds: 18 writes of the same file per check run (~0.1 s CPU
    on a sample-size day). Inside this block nothing is written; after it the file is
    written once, with the content the last of those writes would have had."""
    save = context._save_project_config
    context._save_project_config = lambda: None
    try:
        yield
    finally:
        del context._save_project_config  # the class's method again
    save()


def _forget_previous_run(context: Any) -> None:
    """Assets, definitions and checkpoints are per run; results (and docs) are kept."""
    for checkpoint in list(context.checkpoints.all()):
        context.checkpoints.delete(checkpoint.name)
    for definition in list(context.validation_definitions.all()):
        context.validation_definitions.delete(definition.name)
    if "warehouse" in [ds.name for ds in context.data_sources.all().values()]:
        context.data_sources.delete("warehouse")


def _sqlalchemy_url(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _applies(path: Path, params: dict[str, Any]) -> bool:
    """A raw table's suite runs only when this run loaded a batch of it."""
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    table = spec.get("expected_rows_of")
    return table is None or table in params.get("per_suite", {})


def _slug(suite: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", suite.lower().replace(".", "__"))


def _view_name(suite: str, token: str) -> str:
    """``raw.bank_balances`` + run token → ``raw__bank_balances__1a2b3c4d`` (< 63 chars)."""
    return _slug(suite)[:48] + "__" + token


def create_views(url: str, views: dict[str, str], tables: dict[str, str] | None = None) -> None:
    """One view per suite in ``CHECKS_SCHEMA``: the day's batch, defined by the suite's query.

    GX reflects the columns of a *table* asset with the inspector (catalogue only);
    for a *query* asset it runs the whole query with no LIMIT and the result lands
    in Python (docs/benchmark.md, section 2). So each suite reads a view.
    """
    schema = sql.Identifier(CHECKS_SCHEMA)
    created = sql.Literal(f"{VIEW_COMMENT} {datetime.now(UTC).isoformat()}")
    with warehouse.connect(url) as conn:
        conn.execute("select pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        conn.execute(sql.SQL("create schema if not exists {}").format(schema))
        _drop_stale_views(conn)
        for view, query in views.items():
            name = sql.Identifier(CHECKS_SCHEMA, view)
            conn.execute(sql.SQL("create or replace view {} as {}").format(name, sql.SQL(query)))
            conn.execute(sql.SQL("comment on view {} is {}").format(name, created))
        for table, query in (tables or {}).items():
            name = sql.Identifier(CHECKS_SCHEMA, table)
            conn.execute(sql.SQL("create table {} as {}").format(name, sql.SQL(query)))
            conn.execute(sql.SQL("comment on table {} is {}").format(name, created))


def drop_views(url: str, views: list[str], tables: list[str] | None = None) -> None:
    with warehouse.connect(url) as conn:
        for table in tables or []:
            conn.execute(
                sql.SQL("drop table if exists {}").format(sql.Identifier(CHECKS_SCHEMA, table))
            )
        for view in views:
            conn.execute(
                sql.SQL("drop view if exists {}").format(sql.Identifier(CHECKS_SCHEMA, view))
            )


def _drop_stale_views(conn: psycopg.Connection) -> None:
    """Views and key tables of a check process that was killed before it dropped them
    (older than a day)."""
    relations = conn.execute(
        """select c.relname, c.relkind, obj_description(c.oid, 'pg_class') from pg_class c
           join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = %s and c.relkind in ('v', 'r')""",
        (CHECKS_SCHEMA,),
    ).fetchall()
    day_ago = datetime.now(UTC) - timedelta(days=1)
    for name, kind, comment in relations:
        created = (comment or "").removeprefix(VIEW_COMMENT).strip()
        try:
            stale = datetime.fromisoformat(created) < day_ago
        except ValueError:
            stale = True
        if stale:
            drop = "drop table if exists {}" if kind == "r" else "drop view if exists {}"
            conn.execute(sql.SQL(drop).format(sql.Identifier(CHECKS_SCHEMA, name)))


def _validate_file(context: Any, spec: dict[str, Any], view: str, params: dict[str, Any]) -> Any:
    gx = gximport.load()

    name = spec["suite"]
    source = context.data_sources.get("warehouse")
    with warnings.catch_warnings():
        # GX 1.14+ prefers the schema in the connection; ours differs per asset.
        warnings.simplefilter("ignore", DeprecationWarning)
        asset = source.add_table_asset(name=name, table_name=view, schema_name=CHECKS_SCHEMA)
    batch = asset.add_batch_definition_whole_table(f"{name} batch")
    file_params = {**params, **params.get("per_suite", {}).get(name, {})}
    suite = gx.ExpectationSuite(
        name=name, expectations=[build_expectation(c, file_params) for c in spec["checks"]]
    )
    suite = context.suites.add_or_update(suite)
    return context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=name, data=batch, suite=suite)
    )


def run_checks(
    url: str,
    reports_dir: Path,
    layer: str,
    extract_date: date,
    run_id: str,
    params: dict[str, Any] | None = None,
) -> list[CheckResult]:
    """Validate every check file of ``layer`` for D, store and render the results."""
    gx = gximport.load()
    from great_expectations.core.run_identifier import RunIdentifier

    all_params = {"date": extract_date.isoformat(), **(params or {})}
    specs = [
        yaml.safe_load(p.read_text(encoding="utf-8"))
        for p in check_files(layer)
        if _applies(p, all_params)
    ]
    token = uuid.uuid4().hex[:10]  # per call: concurrent runs never share a view
    views = {
        _view_name(spec["suite"], token): render_query(spec["query"], all_params) for spec in specs
    }
    tables = key_results(specs, list(views), token)
    create_views(url, views, tables)
    # one GX file context per reports folder: concurrent runs take turns (_gx_lock)
    with _gx_lock(reports_dir):
        started = time.time()  # this run's results and pages are written after it
        try:
            context = _context(reports_dir, url)
            with _config_saved_once(context):
                definitions = [
                    _validate_file(context, spec, view, all_params)
                    for spec, view in zip(specs, views, strict=True)
                ]
            checkpoint = context.checkpoints.add_or_update(
                gx.Checkpoint(
                    name=f"{layer}_checkpoint",
                    validation_definitions=definitions,
                    actions=[],
                    result_format=COUNTS_FORMAT,
                )
            )
            run = RunIdentifier(run_name=f"{extract_date.isoformat()} {layer} {run_id}")
            result = checkpoint.run(run_id=run)
            _add_examples(definitions, result)
            examples = _key_examples(url, result)
            # (v2, contract section 6) before anything is rendered: ids, names masked
            mask_results(context, result)
        finally:
            drop_views(url, list(views), list(tables))
        # Render only this run's pages (plus the index), not the whole history again.
        gx_root = reports_dir / "gx"
        datadocs.prepare_offline_styles(gx_root)
        datadocs.cache_compiled_templates()
        datadocs.archive_old_results(gx_root)  # (issue 23) the index stays a window
        context.build_data_docs(resource_identifiers=list(result.run_results))
        datadocs.add_static_validation_list(gx_root, since=started)
    checks = list(_flatten(result, examples))
    store_results(url, run_id, extract_date, checks)
    return checks


def _add_examples(definitions: list[Any], result: Any) -> None:
    """Up to EXAMPLES unexpected values of each failed column check (the checkpoint
    ran with COUNTS_FORMAT), into its result before it is masked and stored: the
    expectation validated again, alone, on the same batch."""
    batches = {d.suite.name: d.data for d in definitions}
    for validation in result.run_results.values():
        failed = [
            item
            for item in validation.results
            if not item.success
            and (item.result or {}).get("unexpected_count")
            and "safetynet_check" not in (item.expectation_config.meta or {})
        ]
        if not failed:
            continue
        batch = batches[validation.suite_name].get_batch()
        for item in failed:
            again = batch.validate(
                item.expectation_config.to_domain_obj(), result_format=RESULT_FORMAT
            )
            item.result["partial_unexpected_list"] = again.result.get("partial_unexpected_list", [])


def _key_examples(url: str, result: Any) -> dict[tuple, list]:
    """Up to EXAMPLES offending keys of each *failed* key check (GX's BASIC result of a
    query expectation carries only the count); nothing is queried when keys are fine."""
    examples: dict[tuple, list] = {}
    with warehouse.connect(url) as conn:
        for validation in result.run_results.values():
            for item in validation.results:
                config = item.expectation_config
                if item.success or "safetynet_check" not in (config.meta or {}):
                    continue
                # the run's key table (KEY_RESULT), still there: views and tables are
                # dropped after this
                query = config.kwargs["unexpected_rows_query"]
                rows = conn.execute(
                    sql.SQL("select * from ({}) as k limit %s").format(sql.SQL(query)), (EXAMPLES,)
                )
                names = [c.name for c in rows.description or []]
                examples[(validation.suite_name, _query_key(config))] = [
                    privacy.mask_result(dict(zip(names, r, strict=True))) for r in rows.fetchall()
                ]
    return examples


def mask_results(context: Any, result: Any) -> None:
    """Mask every check result of a checkpoint run in place (examples and observed
    values of id columns as masked ids, of name columns as masked names, 15-to-18-digit
    runs anywhere: ``privacy``) and store the masked results over GX's, so the
    validation files and the Data Docs rendered from them hold no raw id or name."""
    store = context.validation_results_store
    for identifier, validation in result.run_results.items():
        for item in validation.results:
            kwargs = item.expectation_config.kwargs
            item.result = privacy.mask_result(item.result or {}, kwargs.get("column"))
            if item.exception_info:
                item.exception_info = privacy.mask_result(item.exception_info)
        store.set(identifier, validation)


def _query_key(config: Any) -> str:
    return str(config.kwargs.get("unexpected_rows_query"))


def _flatten(result: Any, examples: dict[tuple, list] | None = None) -> Any:
    for validation in result.run_results.values():
        suite = validation.suite_name
        for item in validation.results:
            config = item.expectation_config
            kwargs = config.kwargs
            meta = config.meta or {}
            if "safetynet_check" in meta:  # a key check run as one GROUP BY (_key_expectation)
                expectation, column = meta["safetynet_check"], _joined(meta.get("columns"))
                observed = item.result.get("observed_value")
                partial = (examples or {}).get((suite, _query_key(config)))
            else:
                expectation = config.type
                column = kwargs.get("column") or _joined(kwargs.get("column_list"))
                observed = item.result.get("observed_value", item.result.get("unexpected_count"))
                partial = item.result.get("partial_unexpected_list")
            yield CheckResult(
                suite=suite,
                expectation=expectation,
                column=column,
                severity=_severity(config),
                success=bool(item.success),
                observed=json.dumps(
                    privacy.mask_result({"observed": observed, "examples": partial}, column),
                    default=str,
                    ensure_ascii=False,
                ),
                description=privacy.mask_text(config.description) or "",
            )


def _severity(config: Any) -> str:
    return str(getattr(config, "severity", None) or "critical").split(".")[-1].lower()


def _joined(columns: list[str] | None) -> str | None:
    return ",".join(columns) if columns else None


def store_results(url: str, run_id: str, extract_date: date, checks: list[CheckResult]) -> None:
    with warehouse.connect(url) as conn, conn.cursor() as cur:
        cur.executemany(
            """insert into audit.dq_results (run_id, extract_date, suite, expectation, column_name,
                   severity, success, observed_value, details)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            [
                (
                    run_id,
                    extract_date,
                    c.suite,
                    c.expectation,
                    c.column,
                    c.severity,
                    c.success,
                    c.observed,
                    json.dumps({"description": c.description}, ensure_ascii=False),
                )
                for c in checks
            ],
        )


def enforce(checks: list[CheckResult], extract_date: date) -> None:
    """Raise when a critical check failed; log warnings."""
    for check in checks:
        if not check.success and check.severity != "critical":
            log.warning(
                "DQ warning %s: %s %s observed %s",
                check.suite,
                check.expectation,
                check.column or "",
                check.observed,
            )
    failed = [c for c in checks if not c.success and c.severity == "critical"]
    if failed:
        lines = [
            f"- {c.suite}: {c.expectation}({c.column or ''}) observed {c.observed}" for c in failed
        ]
        raise QualityGateFailed(
            f"data-quality gate failed for {extract_date}: {len(failed)} critical check(s)\n"
            + "\n".join(lines),
            failed,
        )


def data_docs_index(reports_dir: Path) -> Path:
    return reports_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


def quality_facets(checks: list[CheckResult]) -> dict[str, Any]:
    """(issue 21) The checks as OpenLineage data-quality facets, one per suite:
    ``{suite: DataQualityAssertionsDatasetFacet}`` (assertion = the expectation, its
    column, success, severity). Built here rather than with openlineage-integration-
    common's GX action, which targets GX 0.x (docs/lineage.md)."""
    from openlineage.client.generated.data_quality_assertions_dataset import (
        Assertion,
        DataQualityAssertionsDatasetFacet,
    )

    suites: dict[str, list[Any]] = {}
    for check in checks:
        suites.setdefault(check.suite, []).append(
            Assertion(
                assertion=check.expectation,
                success=check.success,
                column=check.column,
                severity=check.severity,
            )
        )
    return {suite: DataQualityAssertionsDatasetFacet(assertions=a) for suite, a in suites.items()}
