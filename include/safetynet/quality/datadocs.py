"""GX Data Docs an auditor can read without internet.

GX's pages load Bootstrap, jQuery, bootstrap-table, Font Awesome, Popper, the
datepicker and Vega from public CDNs: on an isolated network they render
unstyled, and anywhere they pull outside scripts into the origin the reports
are served from. After each build every such reference is rewritten to a copy
vendored under ``data_docs_assets/`` (the same versions, from their npm
packages, with their licences: ``data_docs_assets/NOTICE.md``), copied into
the site's ``static/vendor/``. The pass/fail text stylesheet and the plain
HTML list of validation results stay as fallbacks.

(issue 23) A run's work stays the same size as the site grows: GX's index loads every
validation result in its store and our pass rewrote every page, so a check task took
~2.5 s longer per ~1,500 results kept (about 50 days of runs). Now a run rewrites only
the pages its own build wrote, and results older than ``RESULTS_KEPT_DAYS`` leave GX's
store (``archive_old_results``): the result to ``uncommitted/validations_archive/``,
its page to the site's ``archive/`` (the same path under it as under ``validations/``,
so its links still work; GX deletes a page whose result left its store). The index
lists the results of the window; every check of every run stays in
``audit.dq_results``.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import shutil
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

log = logging.getLogger(__name__)
ASSETS_DIR = Path(__file__).with_name("data_docs_assets")
VENDOR = Path("static") / "vendor"  # inside the site
# Every outside asset GX 1.x's templates reference -> its copy under ASSETS_DIR.
ASSETS = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": (
        "bootstrap/css/bootstrap.min.css"
    ),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": (
        "bootstrap/js/bootstrap.min.js"
    ),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/"
    "bootstrap-prefers-dark.css": "bootstrap-dark/bootstrap-prefers-dark.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/"
    "bootstrap-datepicker.min.css": "bootstrap-datepicker/css/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/"
    "bootstrap-datepicker.min.js": "bootstrap-datepicker/js/bootstrap-datepicker.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        "fontawesome/css/all.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": (
        "popper/popper.min.js"
    ),
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": (
        "bootstrap-table/bootstrap-table.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        "bootstrap-table/bootstrap-table.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.css": (
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.css": (
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.js": (
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.js"
    ),
    "https://cdn.jsdelivr.net/npm/vega@5": "vega/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega/vega-embed.min.js",
}
# GX's navbar logo (with the data context id appended: a tracking request) and its
# default stylesheet's dark-mode logo come from a public bucket: the local PNG instead.
GX_BUCKET = re.compile(
    r"https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/[\w.-]+\.png"
    r"(?:\?[^\"'\s)<>]*)?"
)
LOGO = Path("static") / "images" / "logo-long.png"
# The index links each suite name to its expectation suite page, which this project
# does not build: such a link is dropped when its page is not there.
SUITE_LINK = re.compile(
    r'<a (class="ge-index-page-table-expectation-suite-link") href="([^"]+)"[^>]*>(.*?)</a>',
    re.DOTALL,
)
# An outside reference that makes the browser fetch: script/link/img/iframe sources,
# CSS url() and @import. (Plain <a href> links are only followed when clicked.)
OUTSIDE = re.compile(
    r"""<(?:script|link|img|iframe|source)\b[^>]*?\b(?:src|href)\s*=\s*["']?(https?:)?//"""
    r"""|url\(\s*["']?(?:https?:)?//|@import\s+["']?(?:https?:)?//""",
    re.IGNORECASE,
)

OFFLINE_CSS = """
/* safetynet: pass/fail readable without the Font Awesome webfont (no internet) */
.fa-times.text-danger::before, .ge-failed-icon::before {
  content: "\\2717  failed"; font: bold 0.9rem sans-serif; color: #b00020; }
.fa-check-circle.text-success::before, .ge-success-icon::before {
  content: "\\2713  passed"; font: 0.9rem sans-serif; color: #1b7f3b; }
"""
STATIC_LIST_ID = "safetynet-validation-list"
# (issue 23) days of validation results in GX's store and the site's index (a check task
# renders the index from all of them: ~0.2 s per 100); older ones are archived
RESULTS_KEPT_DAYS = 7
RESULTS = Path("uncommitted") / "validations"  # GX's validation results store
ARCHIVE = Path("uncommitted") / "validations_archive"
SITE = Path("uncommitted") / "data_docs" / "local_site"
PAGES, ARCHIVED_PAGES = "validations", "archive"  # folders of the site
RUN_TIME_FORMAT = "%Y%m%dT%H%M%S.%fZ"  # a result's run_time folder (GX's run identifier)


def prepare_offline_styles(gx_root: Path) -> None:
    """Before build_data_docs: GX inlines this file into every page it renders."""
    styles = gx_root / "plugins" / "custom_data_docs" / "styles"
    styles.mkdir(parents=True, exist_ok=True)
    (styles / "data_docs_custom_styles.css").write_text(OFFLINE_CSS, encoding="utf-8")


def cache_compiled_templates() -> None:
    """(issue 23) Before build_data_docs: GX makes a new Jinja environment for every page
    it renders and compiles its templates again each time (~36 compiles per build,
    ~0.1 s of a sample-size check task). Jinja's own bytecode cache (a folder of the
    user's in the temp directory, Jinja's default) keeps them compiled between pages and
    runs; the pages are the same. Once per process; best effort (no usable folder, or a
    GX view without ``env``: compiled as before)."""
    from great_expectations.render.view.view import DefaultJinjaView
    from jinja2 import FileSystemBytecodeCache

    if getattr(DefaultJinjaView, "_safetynet_bytecode_cache", None) is not None:
        return
    try:
        cache = FileSystemBytecodeCache()  # Jinja checks the folder is the user's own, 0700
    except (OSError, RuntimeError) as error:  # no usable temp folder: compile as GX does
        log.warning("Data Docs templates not cached: %s", error)
        return
    init = DefaultJinjaView.__init__

    def cached_init(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if getattr(self, "env", None) is not None:
            self.env.bytecode_cache = cache

    DefaultJinjaView.__init__ = cached_init  # type: ignore[method-assign]
    DefaultJinjaView._safetynet_bytecode_cache = cache  # type: ignore[attr-defined]


def archive_old_results(gx_root: Path, now: datetime | None = None) -> int:
    """Before build_data_docs: move the validation results that ran more than
    ``RESULTS_KEPT_DAYS`` before ``now`` from GX's store to ``ARCHIVE``, and their pages
    from the site's ``validations/`` to its ``archive/`` (same paths). Returns how many
    moved."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=RESULTS_KEPT_DAYS)
    store, site, moved = gx_root / RESULTS, gx_root / SITE, 0
    for result in store.rglob("*.json"):
        try:
            ran = datetime.strptime(result.parent.name, RUN_TIME_FORMAT).replace(tzinfo=UTC)
        except ValueError:  # not a result's run_time folder: left where it is
            continue
        if ran < cutoff:
            relative = result.relative_to(store)
            page = relative.with_suffix(".html")
            _move(site / PAGES / page, site / ARCHIVED_PAGES / page)
            _move(result, gx_root / ARCHIVE / relative)
            moved += 1
    if moved:
        log.info(
            "Data Docs: %d validation results older than %d days archived in %s",
            moved,
            RESULTS_KEPT_DAYS,
            gx_root / ARCHIVE,
        )
    return moved


def _archive_note(site: Path) -> str:
    if not (site / ARCHIVED_PAGES).is_dir():
        return ""
    return (
        f"<p>Results older than {RESULTS_KEPT_DAYS} days: their pages under "
        f'<a href="{ARCHIVED_PAGES}/">{ARCHIVED_PAGES}/</a>; every check of every run in '
        "audit.dq_results.</p>"
    )


def _move(source: Path, target: Path) -> None:
    if source.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        source.replace(target)


def pages_built_since(gx_root: Path, since: float, results: list[Path]) -> list[Path]:
    """The pages and stylesheets a build begun at ``since`` wrote: the index, GX's
    static files and the pages of those ``results`` (of its store) it stored since."""
    site, store = gx_root / SITE, gx_root / RESULTS
    pages = [site / "index.html"]
    pages += [p for p in (site / "static").rglob("*.css") if VENDOR.parts[-1] not in p.parts]
    for result in results:
        if result.stat().st_mtime >= since:
            pages.append(site / PAGES / result.relative_to(store).with_suffix(".html"))
    return [p for p in pages if p.is_file()]


def add_static_validation_list(gx_root: Path, since: float | None = None) -> None:
    """After build_data_docs: serve every asset from the site itself
    (``serve_assets_locally``: of the pages built since ``since``, or of every page),
    and add a plain HTML list of the validation results to index.html (hidden when
    jQuery/bootstrap-table did load) as a fallback."""
    site, store = gx_root / SITE, gx_root / RESULTS
    results = list(store.rglob("*.json"))  # the store is walked once a run
    pages = None if since is None else pages_built_since(gx_root, since, results)
    serve_assets_locally(site, pages)
    index = site / "index.html"
    rows = []
    for result in results:
        page = Path(PAGES) / result.relative_to(store).with_suffix(".html")
        if not (site / page).exists():
            continue
        data = json.loads(result.read_text(encoding="utf-8"))
        meta = data.get("meta", {})
        run = meta.get("run_id") or {}
        suite = str(data.get("suite_name") or meta.get("expectation_suite_name", ""))
        rows.append(
            (
                str(run.get("run_time", "")),
                str(run.get("run_name", "")),
                suite,
                bool(data.get("success")),
                page.as_posix(),
            )
        )
    rows.sort(reverse=True)
    items = "".join(
        f"<tr><td>{'&#10003; passed' if ok else '<b>&#10007; failed</b>'}</td>"
        f"<td>{html.escape(run_time[:19])}</td><td>{html.escape(run_name)}</td>"
        f'<td><a href="{quote(link)}">{html.escape(suite)}</a></td></tr>'
        for run_time, run_name, suite, ok, link in rows
    )
    block = (
        f'<div id="{STATIC_LIST_ID}"><table class="table table-sm">'
        "<thead><tr><th>Status</th><th>Run Time</th><th>Run Name</th>"
        f"<th>Expectation Suite</th></tr></thead><tbody>{items}</tbody></table>"
        f"{_archive_note(site)}</div>"
        "<script>if (window.jQuery && jQuery.fn.bootstrapTable) "
        f"document.getElementById('{STATIC_LIST_ID}').style.display = 'none';</script>"
    )
    text = index.read_text(encoding="utf-8")
    marker = 'id="Validation-Results"'
    at = text.find(">", text.find(marker)) + 1 if marker in text else text.find("<body")
    index.write_text(text[:at] + block + text[at:], encoding="utf-8")


def serve_assets_locally(site: Path, pages: Iterable[Path] | None = None) -> list[str]:
    """Copy the vendored assets into ``site``/static/vendor and point ``pages`` (default:
    every page and stylesheet of the site) at them. Returns the pages and stylesheets
    that still reference an outside asset (logged as a warning: a GX upgrade added one)."""
    if not site.is_dir():
        return []
    vendor = site / VENDOR
    shutil.copytree(ASSETS_DIR, vendor, dirs_exist_ok=True, copy_function=_copy_if_changed)
    if pages is None:
        pages = [*site.rglob("*.html"), *site.rglob("*.css")]
    outside = []
    for path in sorted(pages):
        if vendor in path.parents:
            continue
        text = path.read_text(encoding="utf-8")
        local = _localise(text, path, site)
        if local != text:
            path.write_text(local, encoding="utf-8")
        if OUTSIDE.search(local):
            outside.append(str(path.relative_to(site)))
    if outside:
        log.warning("Data Docs still load outside assets in %s", outside[:5])
    return outside


def _copy_if_changed(source: str, target: str) -> str:
    """A vendored asset is copied only when the site has no copy of the same size and
    age: the same ~40 files, every run."""
    there, here = Path(target), Path(source).stat()
    if there.is_file():
        copied = there.stat()
        if copied.st_size == here.st_size and copied.st_mtime >= here.st_mtime:
            return target
    return str(shutil.copy2(source, target))


def _localise(text: str, path: Path, site: Path) -> str:
    def local(relative: Path) -> str:
        return Path(os.path.relpath(site / relative, path.parent)).as_posix()

    for url, target in ASSETS.items():
        if url not in text:
            continue
        # Subresource integrity and CORS mode are for the CDN copy: a file:// page
        # cannot satisfy crossorigin="anonymous", so both go with the URL.
        tag = re.compile(
            r"<[^<>]*" + re.escape(url) + r"[^<>]*>",
        )
        text = tag.sub(
            lambda m: re.sub(r'\s+(?:integrity|crossorigin)="[^"]*"', "", m.group(0)), text
        )
        text = text.replace(url, local(VENDOR / target))
    text = GX_BUCKET.sub(lambda _: local(LOGO), text)
    if path.name == "index.html":
        text = SUITE_LINK.sub(
            lambda m: m.group(0)
            if (path.parent / m.group(2)).is_file()
            else f"<span {m.group(1)}>{m.group(3)}</span>",
            text,
        )
    return text
