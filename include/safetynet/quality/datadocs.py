"""GX Data Docs an auditor can read without internet.

GX's pages draw pass/fail icons with a web font and the index's list of
validation results with scripts from public CDNs: on an isolated network
both are blank. We add a local stylesheet and a plain HTML list.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from urllib.parse import quote

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


def add_static_validation_list(gx_root: Path) -> None:
    """After build_data_docs: index.html draws its list of validation results with
    jQuery/bootstrap-table from public CDNs; add a plain HTML list (hidden when
    those scripts did load) so the index works offline too."""
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
