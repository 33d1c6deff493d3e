"""Explain an alert down to the source lines / 解释预警 (issue 21).

``sources``: the delivered records (file, line, sha256, batch) that entered the
rule for one alert; ``versions``: the git commit and dbt model checksums each
run used (``audit.rule_versions``); ``account``: the whole account as one JSON
document; ``render``: text (Chinese and English labels) and HTML;
``lookups``: who looked up which alert (``audit.explain_lookups``).
Run as ``python -m safetynet.explain ALERT_ID [--date D] [--format json]``.
"""
