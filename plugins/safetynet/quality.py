"""The data-quality gate: the YAML checks in ``expectations/`` run as Great
Expectations checkpoints, results stored in ``audit.dq_results`` and
rendered into GX Data Docs. A failed ``critical`` check blocks the day.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from safetynet import datadocs, warehouse
from safetynet.config import PROJECT_ROOT

log = logging.getLogger(__name__)
CHECKS_DIR = PROJECT_ROOT / "expectations"
PLACEHOLDER = re.compile(r"^\{(\w+)\}$")
RESERVED = {"expect", "severity", "description"}


class QualityGateFailed(Exception):
    """Critical checks failed; the message lists them."""


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
        return [CHECKS_DIR / "delivery.yml", *sorted((CHECKS_DIR / "raw").glob("*.yml"))]
    return sorted((CHECKS_DIR / layer).glob("*.yml"))


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
    import great_expectations as gx

    kwargs = {k: _fill(v, params) for k, v in check.items() if k not in RESERVED}
    expectation_class = getattr(gx.expectations, _class_name(check["expect"]))
    return expectation_class(
        **kwargs, severity=check["severity"],
        description=check.get("description") or None,
    )


def _context(reports_dir: Path, url: str) -> Any:
    import great_expectations as gx

    os.environ["SAFETYNET_GX_CONNECTION"] = _sqlalchemy_url(url)
    context = gx.get_context(mode="file", project_root_dir=str(reports_dir))
    context.variables.progress_bars = {"globally": False}
    _forget_previous_run(context)
    context.data_sources.add_postgres(
        name="warehouse", connection_string="${SAFETYNET_GX_CONNECTION}"
    )
    return context


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
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _applies(path: Path, params: dict[str, Any]) -> bool:
    """A raw table's suite runs only when this run loaded a batch of it."""
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    table = spec.get("expected_rows_of")
    return table is None or table in params.get("per_suite", {})


def _validate_file(context: Any, path: Path, params: dict[str, Any], run_id: str) -> Any:
    import great_expectations as gx

    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    name = spec["suite"]
    source = context.data_sources.get("warehouse")
    asset = source.add_query_asset(name=name, query=spec["query"].format(**params))
    batch = asset.add_batch_definition_whole_table(f"{name} batch")
    file_params = {**params, **params.get("per_suite", {}).get(name, {})}
    suite = gx.ExpectationSuite(
        name=name, expectations=[build_expectation(c, file_params) for c in spec["checks"]]
    )
    suite = context.suites.add_or_update(suite)
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=name, data=batch, suite=suite)
    )
    return definition


def run_checks(
    url: str, reports_dir: Path, layer: str, extract_date: date, run_id: str,
    params: dict[str, Any] | None = None,
) -> list[CheckResult]:
    """Validate every check file of ``layer`` for D, store and render the results."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    all_params = {"date": extract_date.isoformat(), **(params or {})}
    context = _context(reports_dir, url)
    definitions = [_validate_file(context, p, all_params, run_id)
                   for p in check_files(layer) if _applies(p, all_params)]
    checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
        name=f"{layer}_checkpoint", validation_definitions=definitions, actions=[],
        result_format="SUMMARY",
    ))
    run = RunIdentifier(run_name=f"{extract_date.isoformat()} {layer} {run_id}")
    result = checkpoint.run(run_id=run)
    # Render only this run's pages (plus the index), not the whole history again.
    gx_root = reports_dir / "gx"
    datadocs.prepare_offline_styles(gx_root)
    context.build_data_docs(resource_identifiers=list(result.run_results))
    datadocs.add_static_validation_list(gx_root)
    checks = list(_flatten(result))
    store_results(url, run_id, extract_date, checks)
    return checks


def _flatten(result: Any) -> Any:
    for validation in result.run_results.values():
        suite = validation.suite_name
        for item in validation.results:
            config = item.expectation_config
            kwargs = config.kwargs
            observed = item.result.get("observed_value", item.result.get("unexpected_count"))
            partial = item.result.get("partial_unexpected_list")
            yield CheckResult(
                suite=suite, expectation=config.type,
                column=kwargs.get("column") or _joined(kwargs.get("column_list")),
                severity=_severity(config),
                success=bool(item.success),
                observed=json.dumps({"observed": observed, "examples": partial}, default=str,
                                    ensure_ascii=False),
                description=config.description or "",
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
            [(run_id, extract_date, c.suite, c.expectation, c.column, c.severity, c.success,
              c.observed, json.dumps({"description": c.description}, ensure_ascii=False))
             for c in checks],
        )


def enforce(checks: list[CheckResult], extract_date: date) -> None:
    """Raise when a critical check failed; log warnings."""
    for check in checks:
        if not check.success and check.severity != "critical":
            log.warning("DQ warning %s: %s %s observed %s", check.suite, check.expectation,
                        check.column or "", check.observed)
    failed = [c for c in checks if not c.success and c.severity == "critical"]
    if failed:
        lines = [f"- {c.suite}: {c.expectation}({c.column or ''}) observed {c.observed}"
                 for c in failed]
        raise QualityGateFailed(
            f"data-quality gate failed for {extract_date}: {len(failed)} critical check(s)\n"
            + "\n".join(lines)
        )


def data_docs_index(reports_dir: Path) -> Path:
    return reports_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
