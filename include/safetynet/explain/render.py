"""The account of one alert as text (Chinese and English labels) and as HTML for
the auditors' page beside the Data Docs (issue 21)."""

from __future__ import annotations

import html
import json
from typing import Any

LABELS = {
    "alert": "预警 Alert",
    "rule": "规则版本 Rule version",
    "evidence": "证据 Evidence",
    "sources": "来源记录 Source records",
    "checks": "数据质量检查 Data-quality checks",
    "publication": "发布 Publication",
    "lineage": "数据血缘 Lineage (OpenLineage)",
}
ALERT_FIELDS = (
    ("alert_id", "预警编号 alert_id"),
    ("rule_code", "规则 rule"),
    ("alert_date", "预警日期 date"),
    ("household_id", "户编号 household"),
    ("person_key", "人员键 person_key"),
    ("run_id", "运行 run"),
)


def _value(value: Any) -> str:
    return "—" if value is None else str(value)


def _failed(checks: list[dict[str, Any]]) -> int:
    return sum(not c["success"] for c in checks)


def text(account: dict[str, Any]) -> str:
    """A readable account for the terminal."""
    lines = [f"== {LABELS['alert']}"]
    lines += [f"  {label}: {_value(account[key])}" for key, label in ALERT_FIELDS]
    rule = account["rule"]
    lines += [
        f"== {LABELS['rule']}",
        f"  模型 model: {rule['model']}",
        f"  提交 commit: {_value(rule['commit'])}",
        f"  校验和 checksum: {_value(rule['checksum'])}",
        f"== {LABELS['evidence']}",
        "  " + json.dumps(account["evidence"], ensure_ascii=False, sort_keys=True),
        f"== {LABELS['sources']} ({len(account['sources'])})",
    ]
    for s in account["sources"]:
        record = json.dumps(s["record"], ensure_ascii=False, sort_keys=True)
        lines.append(f"  {s['file']}:{s['line']}  batch {s['batch_id']}  {record}")
        lines.append(f"      sha256 {s['sha256']}")
    checks = account["checks"]
    lines.append(f"== {LABELS['checks']} ({len(checks)}, 失败 failed {_failed(checks)})")
    for c in checks:
        mark = "通过 ok  " if c["success"] else "失败 FAIL"
        column = f" [{c['column']}]" if c["column"] else ""
        lines.append(f"  {mark} {c['severity']:<8} {c['suite']}: {c['expectation']}{column}")
    pub = account["publication"]
    lines += [
        f"== {LABELS['publication']}",
        f"  alerts.csv: {_value(pub['file'])}:{_value(pub['line'])}"
        f"  sha256 {_value(pub['sha256'])}",
        f"  逾期升级 escalated: {'是 yes' if pub['escalated'] else '否 no'}",
    ]
    lines += [
        f"  overdue.csv: {o['file']}:{o['line']}  sha256 {_value(o['sha256'])}"
        for o in pub["overdue"]
    ]
    lines.append(f"== {LABELS['lineage']} ({len(account['lineage'])})")
    lines += [f"  {e['event_time']}  {e['job_name']}  {e['run_id']}" for e in account["lineage"]]
    return "\n".join(lines) + "\n"


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_value(v))}</td>" for v in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_body(account: dict[str, Any]) -> str:
    """The account as an HTML fragment (every value escaped)."""
    rule, pub = account["rule"], account["publication"]
    parts = [
        f"<h2>{LABELS['alert']}</h2>",
        _table(["", ""], [[label, account[key]] for key, label in ALERT_FIELDS]),
        f"<h2>{LABELS['rule']}</h2>",
        _table(
            ["模型 model", "提交 commit", "校验和 checksum"],
            [[rule["model"], rule["commit"], rule["checksum"]]],
        ),
        f"<h2>{LABELS['evidence']}</h2>",
        "<pre>"
        + html.escape(json.dumps(account["evidence"], ensure_ascii=False, indent=2))
        + "</pre>",
        f"<h2>{LABELS['sources']} ({len(account['sources'])})</h2>",
        _table(
            ["来源 source", "文件 file", "行 line", "批次 batch", "记录 record", "sha256"],
            [
                [
                    s["source"],
                    s["file"],
                    s["line"],
                    s["batch_id"],
                    json.dumps(s["record"], ensure_ascii=False, sort_keys=True),
                    s["sha256"],
                ]
                for s in account["sources"]
            ],
        ),
        f"<h2>{LABELS['checks']} ({len(account['checks'])}, "
        f"失败 failed {_failed(account['checks'])})</h2>",
        _table(
            ["套件 suite", "期望 expectation", "列 column", "级别 severity", "通过 success"],
            [
                [c["suite"], c["expectation"], c["column"], c["severity"], c["success"]]
                for c in account["checks"]
            ],
        ),
        f"<h2>{LABELS['publication']}</h2>",
        _table(
            ["文件 file", "行 line", "sha256"],
            [[pub["file"], pub["line"], pub["sha256"]]]
            + [[o["file"], o["line"], o["sha256"]] for o in pub["overdue"]],
        ),
        f"<h2>{LABELS['lineage']}</h2>",
        _table(
            ["作业 job", "运行 run", "时间 time"],
            [[e["job_name"], e["run_id"], e["event_time"]] for e in account["lineage"]],
        ),
    ]
    return "".join(parts)
