"""An auditor opens the Data Docs of a blocked day in headless Chromium.

One real Airflow run of the worked example's 2026-10-01 with a column dropped
from the civil-affairs persons file: the delivery check of the GX gate fails
and blocks the day. The auditor opens the report's index.html (file://, as the
README documents), goes to that day's failed validation and reads which check
failed and why.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin

import pytest
from browser import body_text, chromium, require_chromium, wait_for
from conftest import SAMPLES, Stack, isolated_stack

from safetynet.quality import gate
from safetynet_dev.synth import damage

pytestmark = pytest.mark.e2e

DAY = "2026-10-01"
DROPPED = "gender"


@dataclass
class Blocked:
    stack: Stack
    index: Path
    failed: list[dict]  # failed critical checks of the day, from audit.dq_results


@pytest.fixture(scope="module", autouse=True)
def browser_here() -> None:
    """Before the Airflow run: without Chromium skipped (failed under CI)."""
    require_chromium()


@pytest.fixture(scope="module")
def blocked(local_stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Blocked]:
    root = tmp_path_factory.mktemp("data_docs")
    name = f"t_data_docs_{uuid.uuid4().hex[:8]}"  # unique: test sessions may run side by side
    with isolated_stack(local_stack, root, name, key="sample-key") as stack:
        shutil.copytree(SAMPLES / "landing", stack.landing)
        damage.drop_column(stack.landing, "civil_affairs", DAY, "persons.csv", DROPPED)
        yield _blocked_day(stack)


def _blocked_day(stack: Stack) -> Blocked:
    run = stack.run_dag(DAY)

    assert run.returncode != 0, "a dropped column must block the day"
    assert not (stack.feed / DAY).exists()
    rows = stack.query(
        """select suite, expectation, column_name, observed_value, details->>'description'
           from audit.dq_results
           where extract_date = %s and not success and severity = 'critical'""",
        (DAY,),
    )
    failed = [
        dict(zip(("suite", "expectation", "column", "observed", "description"), r, strict=True))
        for r in rows
    ]
    assert failed, "the gate blocked the day, so audit.dq_results names a failed check"
    index = gate.data_docs_index(stack.reports)
    assert index.exists(), f"no Data Docs at {index}"
    return Blocked(stack, index, failed)


# Read in one script, not element by element: bootstrap-table redraws a page after load,
# and a row found before the redraw goes stale (StaleElementReferenceException).
ROW_LINKS = """return Array.from(document.querySelectorAll('tr[data-href]'),
                         row => row.getAttribute('data-href'));"""
FAILED_ROWS = """return Array.from(document.querySelectorAll('table tbody tr'))
    .filter(row => row.querySelector('.text-danger, .fa-times'))
    .map(row => row.innerText);"""


def validation_links(driver, index: Path) -> list[str]:
    """Links of the index's validation results: clickable rows when the index's table
    is rendered, else the rows the page carries for it (its table data)."""
    rendered = driver.execute_script(ROW_LINKS)
    if rendered:
        return [urljoin(index.as_uri(), link) for link in rendered if link]
    carried = re.findall(
        r"""['"]_table_row_link_path['"]:\s*['"]([^'"]+)['"]""", driver.page_source
    )
    return [urljoin(index.as_uri(), link) for link in carried]


def test_auditor_finds_the_failed_check_of_the_blocked_day(
    blocked: Blocked, tmp_path: Path
) -> None:
    with chromium(screenshots=tmp_path) as driver:
        driver.get(blocked.index.as_uri())
        wait_for(lambda: "Data Docs" in body_text(driver), 30, "the Data Docs index")
        links = validation_links(driver, blocked.index)
        suites = {check["suite"] for check in blocked.failed}
        day_links = [link for link in links if f"/{DAY} " in unquote(link) or f"/{DAY}%20" in link]
        failed_pages = [
            link
            for link in day_links
            if any(f"/validations/{s.replace('.', '/')}/" in unquote(link) for s in suites)
        ]
        assert failed_pages, (
            f"index.html lists no validation of {DAY} for {sorted(suites)}; "
            f"it lists {[unquote(x) for x in links][:20]}"
        )

        driver.get(failed_pages[0])
        text = wait_for(
            lambda: (t := body_text(driver)) and "Status:" in t and t, 30, "the validation page"
        )
        assert "Expectation Validation Result" in text
        assert re.search(r"Status:\s*Failed", text), text[:800]
        assert DAY in text  # the run name carries the extract date
        assert "persons.csv" in text and DROPPED in text, "the page names the file and why"

        # Every failed critical check of this suite is on the page, in a row marked
        # failed, named the way it is configured (its description) with what was found.
        suite = next(
            s for s in suites if f"/validations/{s.replace('.', '/')}/" in unquote(failed_pages[0])
        )
        failed_rows = driver.execute_script(FAILED_ROWS)
        for check in (c for c in blocked.failed if c["suite"] == suite):
            name = check["description"] or check["expectation"]
            matching = [row for row in failed_rows if name in row]
            assert matching, (
                f"failed check {name!r} ({check['column']}) not shown as failed; "
                f"failed rows on the page: {failed_rows}"
            )
            assert "unexpected value" in matching[0], matching[0]
            examples = json.loads(check["observed"]).get("examples") or []
            assert any(str(example) in matching[0] for example in examples), (
                f"the unexpected values {examples} are not on the page: {matching[0]}"
            )


VISIBLE_FAILURE = """
    const row = arguments[0];
    const icon = row.querySelector('.fa-times, .ge-failed-icon');
    const drawn = icon && icon.getBoundingClientRect().width > 0;
    return Boolean(row.offsetParent) && (drawn || /failed/i.test(row.innerText));
"""


def test_auditor_sees_and_clicks_the_failure_without_internet(
    blocked: Blocked, tmp_path: Path
) -> None:
    """What a person sees: a visible failed entry of the day in index.html, clicked,
    and on its page the failed check visibly marked as failed."""
    from selenium.webdriver.common.by import By

    def click_failed_entry() -> bool:
        # bootstrap-table redraws the index after load: rows found before that go
        # stale, so finding and clicking are retried together (wait_for)
        failed = [
            row
            for row in driver.find_elements(By.CSS_SELECTOR, "table tbody tr")
            if DAY in row.text and driver.execute_script(VISIBLE_FAILURE, row)
        ]
        if not failed:
            return False
        links = failed[0].find_elements(By.TAG_NAME, "a")
        (links[0] if links else failed[0]).click()
        return True

    def marked_failed() -> list[str]:
        return [
            row.text
            for row in driver.find_elements(By.CSS_SELECTOR, "table tbody tr")
            if any(d in row.text for d in descriptions)
            and driver.execute_script(VISIBLE_FAILURE, row)
        ]

    descriptions = [c["description"] or c["expectation"] for c in blocked.failed]
    with chromium(screenshots=tmp_path) as driver:
        driver.get(blocked.index.as_uri())
        wait_for(lambda: "Data Docs" in body_text(driver), 30, "the Data Docs index")
        wait_for(click_failed_entry, 30, "a visible failed validation of the blocked day")
        wait_for(
            lambda: "Expectation Validation Result" in body_text(driver), 30, "the validation page"
        )
        wait_for(marked_failed, 30, f"a failed check visibly marked failed ({descriptions})")


BOOTSTRAP_STYLED = """
    const probe = document.createElement('div');
    probe.className = 'container-fluid';
    const button = document.createElement('button');
    button.className = 'btn btn-primary';
    document.body.append(probe, button);
    const box = getComputedStyle(probe), look = getComputedStyle(button);
    const styled = {padding: box.paddingLeft, radius: look.borderTopLeftRadius,
                    background: look.backgroundColor,
                    jquery: Boolean(window.jQuery),
                    table: Boolean(window.jQuery && jQuery.fn.bootstrapTable)};
    probe.remove(); button.remove();
    return styled;
"""


def test_reports_are_styled_offline_and_load_nothing_from_outside(
    blocked: Blocked, tmp_path: Path
) -> None:
    """With no network at all (no proxy reachable, no name resolves), the index and a
    validation page are styled by Bootstrap, Font Awesome's font is there, and every
    request the browser made stayed on this machine."""
    from browser import is_local, requested_urls

    with chromium(screenshots=tmp_path) as driver:
        driver.get(blocked.index.as_uri())
        wait_for(lambda: "Data Docs" in body_text(driver), 30, "the Data Docs index")
        pages = [blocked.index.as_uri(), *validation_links(driver, blocked.index)[:1]]
        requested: list[str] = []
        for page in pages:
            driver.get(page)
            wait_for(lambda: body_text(driver), 30, page)
            styled = driver.execute_script(BOOTSTRAP_STYLED)
            assert styled["padding"] == "15px", (page, styled)  # .container-fluid
            assert styled["radius"] == "4px", (page, styled)  # .btn, 0.25rem
            assert styled["background"] == "rgb(0, 123, 255)", (page, styled)  # .btn-primary
            assert styled["jquery"] and styled["table"], (page, styled)
            fonts = driver.execute_async_script(
                "const done = arguments[0];"
                "document.fonts.load('900 16px \"Font Awesome 6 Free\"')"
                ".then(f => done(f.length), () => done(0));"
            )
            assert fonts > 0, f"Font Awesome's font did not load on {page}"
            requested += requested_urls(driver)
        outside = sorted({url for url in requested if not is_local(url)})
        assert requested and outside == [], f"requests left this machine: {outside}"
