"""GX Data Docs an auditor can read without internet.

GX's pages load Bootstrap, jQuery, bootstrap-table, Font Awesome, Popper, the
datepicker and Vega from public CDNs: on an isolated network they render
unstyled, and anywhere they pull outside scripts into the origin the reports
are served from. After each build every such reference is rewritten to a copy
vendored under ``data_docs_assets/`` (the same versions, from their npm
packages, with their licences: ``data_docs_assets/NOTICE.md``), copied into
the site's ``static/vendor/``. The pass/fail text stylesheet and the plain
HTML list of validation results stay as fallbacks.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import shutil
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


def add_static_validation_list(gx_root: Path) -> None:
    """After build_data_docs: serve every asset from the site itself
    (``serve_assets_locally``), and add a plain HTML list of the validation results
    to index.html (hidden when jQuery/bootstrap-table did load) as a fallback."""
    serve_assets_locally(gx_root / "uncommitted" / "data_docs" / "local_site")
    site = gx_root / "uncommitted" / "data_docs" / "local_site"
    store = gx_root / "uncommitted" / "validations"
    index = site / "index.html"
    rows = []
    for result in store.rglob("*.json"):
        page = Path("validations") / result.relative_to(store).with_suffix(".html")
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
        f"<th>Expectation Suite</th></tr></thead><tbody>{items}</tbody></table></div>"
        "<script>if (window.jQuery && jQuery.fn.bootstrapTable) "
        f"document.getElementById('{STATIC_LIST_ID}').style.display = 'none';</script>"
    )
    text = index.read_text(encoding="utf-8")
    marker = 'id="Validation-Results"'
    at = text.find(">", text.find(marker)) + 1 if marker in text else text.find("<body")
    index.write_text(text[:at] + block + text[at:], encoding="utf-8")


def serve_assets_locally(site: Path) -> list[str]:
    """Copy the vendored assets into ``site``/static/vendor and point every page and
    stylesheet of the site at them. Returns the pages and stylesheets that still
    reference an outside asset (logged as a warning: a GX upgrade added one)."""
    if not site.is_dir():
        return []
    vendor = site / VENDOR
    shutil.copytree(ASSETS_DIR, vendor, dirs_exist_ok=True)
    outside = []
    for path in sorted([*site.rglob("*.html"), *site.rglob("*.css")]):
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
