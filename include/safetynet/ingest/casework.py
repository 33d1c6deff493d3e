"""Casework decisions the warehouse rejects (contract v2 section 9).

The loader rejects what a row alone shows (status, date, exact repeats). Whether a
row's alert_id names an episode that started before D, and whether decided_on is not
after D nor before the episode, needs the alerts: dbt judges it in
``intermediate.int_casework__checked`` (one row per raw row, ``rejection_reason`` null
when accepted). After ``dbt_build`` this copies D's rejected rows into
``audit.rejected_rows`` beside the loader's (file, line, reason, the fields as a CSV
line masked by ``safetynet.privacy``; the unmasked line in ``raw.rejected_lines``, for
engineers only), replacing those of an earlier run of the same batch: idempotent.

A warehouse rejection is told from a loader one by its line: the loader's rejected
lines never reach raw, the warehouse's are lines of the day's raw batch.

A folder whose own day was blocked (another source failed) and never re-run still
counts for later days (contract v2 sections 5 and 9): the next processed day records
its rejected rows too, those not in the audit trail yet, so none goes unrecorded.
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import date

from safetynet import warehouse
from safetynet.ingest import rejects
from safetynet.ingest.sources import specs_for

log = logging.getLogger(__name__)
CHECKED = "intermediate.int_casework__checked"
FIELDS = ("alert_id", "status", "decided_on", "handler", "note")

REJECTED_QUERY = f"""
select extract_date, batch_id, line_no, alert_id, status, decided_on::text, handler, note,
       rejection_reason
from {CHECKED} as c
where rejection_reason is not null
  and (extract_date = %(day)s
       or (extract_date < %(day)s
           and not exists (select 1 from audit.rejected_rows as r
                           where r.source = 'casework' and r.extract_date = c.extract_date
                             and r.batch_id = c.batch_id and r.line_no = c.line_no)))
order by extract_date, line_no
"""
# The day's warehouse rejections: rejected lines that are lines of the raw batch
# (their raw.rejected_lines go with them: on delete cascade).
FORGET_QUERY = """
delete from audit.rejected_rows as r
where r.source = 'casework' and r.extract_date = %s
  and exists (select 1 from raw.casework_dispositions as c
              where c.extract_date = r.extract_date and c.batch_id = r.batch_id
                and c.line_no = r.line_no)
"""


def as_csv_line(values: tuple[object, ...]) -> str:
    """The fields as the case system's CSV would carry them (empty for null)."""
    text = io.StringIO()
    csv.writer(text, lineterminator="").writerow(["" if v is None else v for v in values])
    return text.getvalue()


def record_warehouse_rejections(url: str, extract_date: date) -> int | None:
    """Copy D's rejected casework rows, and those of earlier folders not recorded yet,
    into audit.rejected_rows; how many (None when the dbt model is not built yet)."""
    (spec,) = specs_for("casework")
    with warehouse.connect(url) as conn:
        found = conn.execute("select to_regclass(%s)", (CHECKED,)).fetchone()
        if not found or not found[0]:
            log.warning("%s does not exist: casework rejections not recorded", CHECKED)
            return None
        rows = conn.execute(REJECTED_QUERY, {"day": extract_date}).fetchall()
        conn.execute(FORGET_QUERY, (extract_date,))
        by_batch: dict[tuple[date, int], list[tuple[int, str | None, str]]] = {}
        for folder_date, batch_id, line_no, *values, reason in rows:
            line = (line_no, as_csv_line(tuple(values)), reason)
            by_batch.setdefault((folder_date, batch_id), []).append(line)
        for (folder_date, batch_id), lines in by_batch.items():
            params = {
                "batch": batch_id,
                "source": "casework",
                "date": folder_date,
                "file": spec.file_name(folder_date),
            }
            rejects.record(conn, spec, params, lines)
    log.info("casework %s: %d rows rejected by the warehouse", extract_date, len(rows))
    return len(rows)
