"""Data Docs load no asset from outside (no server, no browser).

Every outside script, stylesheet and font GX's installed templates and static
styles reference has a vendored copy, and a site built from those templates is
rewritten to use the copies (relative links that resolve, no integrity or
crossorigin left on them). The browser test (test_data_docs_browser) shows the
result rendered with the network off.
"""

from __future__ import annotations

import json
import os
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import great_expectations
import pytest

from safetynet.quality import datadocs

pytestmark = pytest.mark.unit

GX = Path(great_expectations.__file__).parent / "render" / "view"


def gx_outside_tags() -> list[str]:
    """The script/link tags of GX's templates that load an outside URL, as written."""
    tags = []
    for template in sorted((GX / "templates").rglob("*.j2")):
        text = template.read_text(encoding="utf-8")
        tags += [t for t in re.findall(r"<(?:script|link)\b[^>]*>", text) if "//" in t]
    return tags


def gx_outside_assets() -> set[str]:
    """Outside URLs that GX's templates load (script/link tags)."""
    found = set()
    for tag in gx_outside_tags():
        found.update(re.findall(r"""(?:src|href)=["'](https?://[^"']+)["']""", tag))
    return found


def test_every_outside_asset_of_gx_has_a_vendored_copy() -> None:
    assets = gx_outside_assets()
    assert len(assets) >= 10, assets
    assert sorted(assets - set(datadocs.ASSETS)) == []
    for target in datadocs.ASSETS.values():
        assert (datadocs.ASSETS_DIR / target).is_file(), target
    # Font Awesome's stylesheet finds its fonts beside it.
    css = (datadocs.ASSETS_DIR / "fontawesome/css/all.min.css").read_text(encoding="utf-8")
    fonts = set(re.findall(r"url\(\.\./webfonts/([^)]+\.woff2)\)", css))
    assert fonts and all(
        (datadocs.ASSETS_DIR / "fontawesome/webfonts" / f).is_file() for f in fonts
    )
    notice = (datadocs.ASSETS_DIR / "NOTICE.md").read_text(encoding="utf-8")
    for folder in {Path(t).parts[0] for t in datadocs.ASSETS.values()}:
        assert f"| {folder}/ |" in notice, folder
        assert list((datadocs.ASSETS_DIR / folder).glob("LICENSE*")), folder


def test_a_site_is_rewritten_to_the_local_copies(tmp_path: Path) -> None:
    site = tmp_path / "local_site"
    head = "".join(
        tag + ("</script>" if tag.startswith("<script") else "") for tag in gx_outside_tags()
    )
    pages = [site / "index.html", site / "validations" / "suite" / "run" / "page.html"]
    # As GX renders its navbar: the logo from a public bucket, a data context id appended.
    body = (
        '<img class="NO-CACHE" src="https://great-expectations-web-assets.s3.us-east-2.'
        'amazonaws.com/logo-long.png?d=20261204T201440Z&dataContextId=e2ea9d4b" />'
    )
    for page in pages:
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(f"<html><head>{head}</head><body>{body}</body></html>", encoding="utf-8")
    (site / "static" / "images").mkdir(parents=True)  # GX copies its images there
    (site / "static" / "images" / "logo-long.png").write_bytes(b"png")
    styles = site / "static" / "styles" / "data_docs_default_styles.css"
    styles.parent.mkdir(parents=True)
    styles.write_text((GX / "static" / "styles" / "data_docs_default_styles.css").read_text())

    assert datadocs.serve_assets_locally(site) == []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not datadocs.OUTSIDE.search(text), page
        assert "integrity=" not in text and "crossorigin=" not in text
        links = re.findall(r"""(?:src|href)="([^"]+)\"""", text)
        assert links and all((page.parent / link).resolve().is_file() for link in links), links
    assert "amazonaws" not in styles.read_text(encoding="utf-8")


def test_index_links_to_suite_pages_that_were_not_built_are_dropped(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "expectations").mkdir(parents=True)
    (site / "expectations" / "built.html").write_text("<html></html>")
    link = (
        '<a class="ge-index-page-table-expectation-suite-link" href="expectations/{}.html" >{}</a>'
    )
    (site / "index.html").write_text(link.format("built", "built") + link.format("gone", "gone"))
    datadocs.serve_assets_locally(site)
    text = (site / "index.html").read_text()
    assert 'href="expectations/built.html"' in text and "expectations/gone.html" not in text
    assert '<span class="ge-index-page-table-expectation-suite-link">gone</span>' in text


# (issue 23) a run's Data Docs work does not grow with the site
CDN = '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>'
RESULT = ("raw", "bank_balances", "2026-10-0{d} raw run_{d}", "{time}", "warehouse-x.json")


def _result(gx_root: Path, d: int, ran: datetime) -> tuple[Path, Path]:
    """A stored validation result of day ``d`` that ran at ``ran``, and its page."""
    parts = [p.format(d=d, time=ran.strftime(datadocs.RUN_TIME_FORMAT)) for p in RESULT]
    result = gx_root.joinpath(datadocs.RESULTS, *parts)
    result.parent.mkdir(parents=True)
    result.write_text(json.dumps({"success": True, "suite_name": "raw.bank_balances"}))
    page = gx_root.joinpath(datadocs.SITE, datadocs.PAGES, *parts).with_suffix(".html")
    page.parent.mkdir(parents=True)
    page.write_text(f'<html><head>{CDN}<link href="../../../../../index.html"></head></html>')
    return result, page


def test_results_older_than_the_window_are_archived_with_their_pages(tmp_path: Path) -> None:
    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    days = timedelta(days=datadocs.RESULTS_KEPT_DAYS)
    old_result, old_page = _result(tmp_path, 1, now - days - timedelta(minutes=1))
    new_result, new_page = _result(tmp_path, 2, now - days + timedelta(minutes=1))
    other = tmp_path / datadocs.RESULTS / ".ge_store_backend_id.json"
    other.write_text("{}")

    assert datadocs.archive_old_results(tmp_path, now) == 1
    assert new_result.is_file() and new_page.is_file() and other.is_file()
    assert not old_result.exists() and not old_page.exists()
    moved = tmp_path / datadocs.ARCHIVE / old_result.relative_to(tmp_path / datadocs.RESULTS)
    assert json.loads(moved.read_text())["success"] is True
    site = tmp_path / datadocs.SITE
    archived = site / datadocs.ARCHIVED_PAGES / old_page.relative_to(site / datadocs.PAGES)
    # the same depth under the site: its relative links reach the same files
    (site / "index.html").write_text("<html></html>")
    link = re.search(r'href="([^"]+)"', archived.read_text()).group(1)  # type: ignore[union-attr]
    assert (archived.parent / link).resolve() == (site / "index.html").resolve()
    assert datadocs.archive_old_results(tmp_path, now) == 0


def test_a_run_rewrites_only_the_pages_its_build_wrote(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    _, earlier_page = _result(tmp_path, 1, now - timedelta(days=1))
    site = tmp_path / datadocs.SITE
    (site / "index.html").write_text(f'<html><head>{CDN}</head><div id="Validation-Results">')
    since = time.time()
    os.utime(earlier_page, (since - 3600, since - 3600))
    for path in (tmp_path / datadocs.RESULTS).rglob("*.json"):
        os.utime(path, (since - 3600, since - 3600))
    _, page = _result(tmp_path, 2, now)

    datadocs.add_static_validation_list(tmp_path, since=since)
    assert "code.jquery.com" in earlier_page.read_text()  # built by an earlier run: not read
    assert "code.jquery.com" not in page.read_text()
    index = (site / "index.html").read_text()
    assert "code.jquery.com" not in index
    assert index.count("<tr><td>") == 2  # the fallback list: every result in the store
