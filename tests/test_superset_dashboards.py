"""The Superset dashboards as code (issue 22, content part): superset/assets/.

Unit: the committed bundle is what superset/assets/build_bundle.py writes; every
dataset reads marts or granted audit tables only (never raw or staging); every
chart keeps a saved query context; every dashboard has the date, city and county
filters; the dbt exposures name the three dashboards.

End to end on demo-like data (tests/superset_stack.py, ``make superset``): the
analyst lists the cockpit and the alerts dashboards and every chart of them returns
rows from ``/api/v1/chart/<id>/data/``; the auditor sees all three and the
data-quality charts return rows; the analyst and the leader do not see the
data-quality dashboard. Headless Chromium opens each dashboard as its user and every
chart renders (no error, no "no data" tile); screenshots go to
var/test-artifacts/superset/.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from browser import chromium, wait_for
from superset_stack import SupersetStack, superset_stack_fixture  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "superset" / "assets"
BUNDLE = ASSETS / "safetynet_dashboards"
ARTIFACTS = ROOT / "var" / "test-artifacts" / "superset"
SLUGS = {
    "cockpit": "safetynet-cockpit",
    "alerts": "safetynet-alerts",
    "data_quality": "safetynet-data-quality",
}
FOR_EVERYONE = {SLUGS["cockpit"], SLUGS["alerts"]}
TIMEOUT = 120
unit = pytest.mark.unit
e2e = pytest.mark.e2e


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def bundle_files(kind: str) -> dict[str, dict[str, Any]]:
    return {path.name: load(path) for path in sorted((BUNDLE / kind).glob("*.yaml"))}


def dashboard_charts(dashboard: dict[str, Any]) -> set[str]:
    """The chart uuids placed on a dashboard."""
    return {
        node["meta"]["uuid"]
        for node in dashboard["position"].values()
        if isinstance(node, dict) and node.get("type") == "CHART"
    }


# ------------------------------------------------------------------------------ unit


@unit
def test_bundle_is_what_build_bundle_writes(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("build_bundle", ASSETS / "build_bundle.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_bundle"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    module.BUNDLE = tmp_path / "bundle"
    module.main()
    written = {p.relative_to(module.BUNDLE): p.read_text() for p in module.BUNDLE.rglob("*.yaml")}
    committed = {p.relative_to(BUNDLE): p.read_text() for p in BUNDLE.rglob("*.yaml")}
    assert written.keys() == committed.keys()
    stale = [str(path) for path, text in written.items() if committed[path] != text]
    assert not stale, f"run superset/assets/build_bundle.py: {stale}"


@unit
def test_datasets_read_marts_or_granted_audit_tables_only() -> None:
    granted_audit = {"audit.dq_results", "audit.rejected_rows", "audit.source_arrivals"}
    for name, dataset in bundle_files("datasets").items():
        sql = dataset["sql"] or f"{dataset['schema']}.{dataset['table_name']}"
        tables = set(re.findall(r"\b(?:from|join)\s+([a-z_]+\.[a-z_]+)", sql, re.IGNORECASE))
        assert tables, f"{name}: no table found in {sql!r}"
        for table in tables:
            schema = table.split(".")[0]
            assert schema == "marts" or table in granted_audit, f"{name} reads {table}"
        if any(table.startswith("audit.") for table in tables):
            assert dataset["database_uuid"] == "8b291304-b40f-45a5-8558-247f4d15c599", name


@unit
def test_every_chart_keeps_a_saved_query_context_on_a_bundled_dataset() -> None:
    datasets = {dataset["uuid"] for dataset in bundle_files("datasets").values()}
    for name, chart in bundle_files("charts").items():
        assert chart["dataset_uuid"] in datasets, name
        context = json.loads(chart["query_context"])
        assert context["queries"] and context["queries"][0]["metrics"], name
        assert context["form_data"]["viz_type"] == chart["viz_type"], name


@unit
def test_dashboards_have_their_slugs_charts_and_filters() -> None:
    dashboards = bundle_files("dashboards")
    charts = {chart["uuid"] for chart in bundle_files("charts").values()}
    assert {d["slug"] for d in dashboards.values()} == set(SLUGS.values())
    placed: set[str] = set()
    for name, dashboard in dashboards.items():
        on_it = dashboard_charts(dashboard)
        assert on_it and on_it <= charts, name
        placed |= on_it
        filters = dashboard["metadata"]["native_filter_configuration"]
        kinds = {
            (f["filterType"], (f["targets"][0].get("column") or {}).get("name")) for f in filters
        }
        assert kinds == {
            ("filter_time", None),
            ("filter_select", "city_name"),
            ("filter_select", "region_name"),
        }, name
        assert re.search(r"[\u4e00-\u9fff]", dashboard["dashboard_title"]), name
        assert re.search(r"[A-Za-z]{4}", dashboard["dashboard_title"]), name
    assert placed == charts, "a chart of the bundle is on no dashboard"


@unit
def test_access_and_exposures_name_the_three_dashboards() -> None:
    access = load(ROOT / "superset" / "access.yml")["dashboards"]
    assert set(access) == set(SLUGS.values())
    assert not {"leader", "analyst"} & set(access[SLUGS["data_quality"]])
    exposures = load(ROOT / "dbt_project" / "models" / "marts" / "_exposures.yml")["exposures"]
    urls = {exposure["url"] for exposure in exposures if exposure["type"] == "dashboard"}
    assert urls == {f"/superset/dashboard/{slug}/" for slug in SLUGS.values()}


# ------------------------------------------------------------------------------- e2e


def listed_dashboards(stack: SupersetStack, session: requests.Session) -> dict[str, int]:
    """slug -> id of the dashboards the session's user may see."""
    answer = session.get(
        f"{stack.url}/api/v1/dashboard/",
        params={"q": json.dumps({"page_size": 100})},
        timeout=TIMEOUT,
    )
    answer.raise_for_status()
    return {row["slug"]: row["id"] for row in answer.json()["result"]}


def chart_rows(stack: SupersetStack, session: requests.Session, dashboard: int) -> dict[str, int]:
    """slice name -> row count of its saved query, for each chart of a dashboard."""
    answer = session.get(f"{stack.url}/api/v1/dashboard/{dashboard}/charts", timeout=TIMEOUT)
    answer.raise_for_status()
    rows = {}
    for chart in answer.json()["result"]:
        data = session.get(f"{stack.url}/api/v1/chart/{chart['id']}/data/", timeout=TIMEOUT)
        assert data.status_code == 200, (
            f"{chart['slice_name']}: {data.status_code} {data.text[:300]}"
        )
        rows[chart["slice_name"]] = sum(result["rowcount"] for result in data.json()["result"])
    return rows


def bundled_chart_count(slug: str) -> int:
    for dashboard in bundle_files("dashboards").values():
        if dashboard["slug"] == slug:
            return len(dashboard_charts(dashboard))
    raise AssertionError(f"no dashboard {slug} in the bundle")


@e2e
def test_analyst_lists_dashboards_and_every_chart_returns_rows(
    superset_stack: SupersetStack,
) -> None:
    session = superset_stack.api("analyst")
    dashboards = listed_dashboards(superset_stack, session)
    assert set(dashboards) == FOR_EVERYONE
    for slug in sorted(FOR_EVERYONE):
        rows = chart_rows(superset_stack, session, dashboards[slug])
        assert len(rows) == bundled_chart_count(slug), rows
        empty = [name for name, count in rows.items() if count == 0]
        assert not empty, f"{slug}: charts without rows: {empty}"


@e2e
def test_auditor_sees_every_dashboard_and_data_quality_rows(
    superset_stack: SupersetStack,
) -> None:
    session = superset_stack.api("auditor")
    dashboards = listed_dashboards(superset_stack, session)
    assert set(dashboards) == set(SLUGS.values())
    rows = chart_rows(superset_stack, session, dashboards[SLUGS["data_quality"]])
    assert len(rows) == bundled_chart_count(SLUGS["data_quality"])
    assert all(count > 0 for count in rows.values()), rows


@e2e
@pytest.mark.parametrize("role", ["analyst", "leader"])
def test_data_quality_dashboard_is_hidden_from(superset_stack: SupersetStack, role: str) -> None:
    session = superset_stack.api(role)
    assert set(listed_dashboards(superset_stack, session)) == FOR_EVERYONE
    answer = session.get(
        f"{superset_stack.url}/api/v1/dashboard/{SLUGS['data_quality']}", timeout=TIMEOUT
    )
    assert answer.status_code in (403, 404), answer.text[:200]


# ---------------------------------------------------------------------------- browser

# A chart that drew something: an ECharts canvas or SVG, a table, a big number.
DRAWN = "canvas, svg, table, .header-line"
# A tile that failed or has nothing to show.
FAILED = "[role=alert], .ant-alert-error, [data-test=empty-state]"
NO_DATA = ("No results were returned", "此查询没有数据返回", "Unexpected error", "错误")


def browser_login(stack: SupersetStack, driver: Any, role: str) -> None:
    """Log in through Superset's login form (requests), then hand the cookie to Chromium."""
    user, password = stack.superset.password(role)
    session = requests.Session()
    page = session.get(f"{stack.url}/login/", timeout=TIMEOUT).text
    token = re.search(r'id="csrf_token"[^>]*value="([^"]+)"', page)
    assert token, "no CSRF token on the login page"
    answer = session.post(
        f"{stack.url}/login/",
        data={"csrf_token": token.group(1), "username": user, "password": password},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert answer.status_code == 302 and "login" not in answer.headers["Location"], answer.text
    driver.get(f"{stack.url}/static/assets/images/favicon.png")
    for cookie in session.cookies:
        driver.add_cookie({"name": cookie.name, "value": cookie.value, "path": "/"})


def tile_states(driver: Any) -> dict[str, str]:
    """Each chart tile's title -> drawn | failed | loading."""
    from selenium.webdriver.common.by import By

    states = {}
    for tile in driver.find_elements(By.CSS_SELECTOR, "[data-test=chart-grid-component]"):
        title = tile.find_element(By.CSS_SELECTOR, "[data-test=editable-title]").text
        text = tile.text
        if tile.find_elements(By.CSS_SELECTOR, FAILED) or any(word in text for word in NO_DATA):
            states[title] = "failed: " + text[:200].replace("\n", " ")
        elif tile.find_elements(By.CSS_SELECTOR, DRAWN):
            states[title] = "drawn"
        else:
            states[title] = "loading"
    return states


@e2e
@pytest.mark.parametrize(
    ("role", "dashboard"),
    [("leader", "cockpit"), ("analyst", "alerts"), ("auditor", "data_quality")],
)
def test_every_chart_renders_in_the_browser(
    superset_stack: SupersetStack, role: str, dashboard: str
) -> None:
    slug = SLUGS[dashboard]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium(ARTIFACTS / f"{slug}-{role}") as driver:
        driver.set_window_size(1600, 2000)
        browser_login(superset_stack, driver, role)
        driver.get(f"{superset_stack.url}/superset/dashboard/{slug}/")
        expected = bundled_chart_count(slug)

        def settled() -> dict[str, str] | None:
            states = tile_states(driver)
            done = len(states) == expected and "loading" not in states.values()
            return states if done else None

        states = wait_for(settled, timeout=120, what=f"{expected} charts of {slug} to settle")
        time.sleep(2)  # animations end before the picture
        driver.save_screenshot(str(ARTIFACTS / f"{slug}.png"))
    failed = {title: state for title, state in states.items() if state != "drawn"}
    assert not failed, f"{slug} as {role}: {failed}"


@e2e
def test_city_filter_narrows_every_chart_to_that_city(superset_stack: SupersetStack) -> None:
    """The 市 City native filter (marts.dim_regions) reaches the charts: after choosing
    one city, the cockpit's county table lists only that city's counties."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    slug = SLUGS["cockpit"]
    with chromium(ARTIFACTS / f"{slug}-city-filter") as driver:
        driver.set_window_size(1600, 2000)
        browser_login(superset_stack, driver, "analyst")
        driver.get(f"{superset_stack.url}/superset/dashboard/{slug}/")
        expected = bundled_chart_count(slug)

        def settled() -> bool:
            states = tile_states(driver)
            return len(states) == expected and "loading" not in states.values()

        wait_for(settled, timeout=120, what=f"{slug} to settle")
        city_select = driver.find_elements(By.CSS_SELECTOR, "[data-test=filter-bar] .ant-select")[0]
        city_select.click()
        option = wait_for(
            lambda: driver.find_elements(By.CSS_SELECTOR, ".ant-select-item-option"),
            what="the city options",
        )[0]
        city = option.get_attribute("title") or option.text
        city_select.find_element(By.CSS_SELECTOR, "input").send_keys(city, Keys.ENTER)
        driver.find_element(By.CSS_SELECTOR, "[data-test=filter-bar__apply-button]").click()

        def cities_in_table() -> set[str] | None:
            if not settled():
                return None
            table = driver.find_elements(By.CSS_SELECTOR, "[data-test=chart-grid-component] table")[
                -1
            ]
            cells = table.find_elements(By.CSS_SELECTOR, "tbody tr td:first-child")
            return {cell.text for cell in cells if cell.text} or None

        wait_for(lambda: cities_in_table() == {city}, timeout=60, what=f"only {city} in the table")
