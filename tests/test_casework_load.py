"""The casework source (contract v2 section 9) at the load stage, real PostgreSQL.

Quoted notes with commas, quotes and line breaks reach raw intact, line numbers are
the line where a record starts, exact repeats are rejected with the line they repeat,
rejected rows never block casework, and a corrupt or missing delivery blocks it.
"""

from __future__ import annotations

import shutil
from datetime import date

import pytest
from casework_landing import write_casework
from conftest import SAMPLES, Stack

from safetynet.ingest import loader, manifest
from safetynet.ingest.manifest import DeliveryError
from safetynet_dev.synth import damage

pytestmark = pytest.mark.integration

pytestmark = pytest.mark.integration
D2, D3 = date(2026, 10, 2), date(2026, 10, 3)
NOTE = '入户核查, 户主称"已就业",\n待复核'  # comma, quotes, a line break
LONG_NOTE = "第一行\n第二行\n第三行"
ROWS = [
    ("b2bdc627ab8e11a3bff1ed6fa35c61ec", "VERIFYING", "2026-10-01", "S4534", NOTE),  # 2-3
    ("87404fbf532af0448ca5b35f7e677227", "CONFIRMED", "2026-10-01", "", ""),  # 4
    ("b2bdc627ab8e11a3bff1ed6fa35c61ec", "VERIFYING", "2026-10-01", "S4534", NOTE),  # 5-6
    ("6bd4b724b57e071965e5489eb124bbd6", "REOPENED", "2026-10-01", "S0002", "x"),  # 7
    ("1a0bfad9544425b689f35e4fe0f0505a", "RESOLVED", "2026-13-01", "S0006", "not a date"),  # 8
    ("760da27839991705ae4ee18452122354", "RESOLVED", "2026-10-02", "S6493", LONG_NOTE),  # 9-11
    ("87404fbf532af0448ca5b35f7e677227", "CONFIRMED", "2026-10-01", "S4759", "更正"),  # 12
]


def load(stack: Stack, day: date) -> loader.FileResult:
    (result,) = loader.load_source(stack.url, stack.landing, "casework", day, stack.key)
    return result


def test_quoted_multiline_notes_reach_raw_intact_with_their_start_line(stack: Stack) -> None:
    write_casework(stack.landing, D2, ROWS)
    result = load(stack, D2)
    assert (result.rows, result.loaded, result.rejected) == (7, 4, 3)
    stored = stack.query(
        "select line_no, alert_id, status, decided_on::text, handler, note "
        "from raw.casework_dispositions where extract_date = %s order by line_no",
        (D2,),
    )
    assert stored == [
        (2, *ROWS[0][:4], NOTE),
        (4, ROWS[1][0], "CONFIRMED", "2026-10-01", None, None),
        (9, *ROWS[5]),
        (12, *ROWS[6]),
    ]
    rejected = stack.query(
        "select line_no, reason, raw_line from audit.rejected_rows "
        "join raw.rejected_lines using (reject_id) "
        "where source = 'casework' order by line_no"
    )
    assert [(line, reason) for line, reason, _ in rejected] == [
        (5, "exact duplicate of line 2"),
        (7, "invalid status"),
        (8, "invalid decided_on"),
    ]
    assert rejected[0][2] == '{},{},{},{},"{}"'.format(*ROWS[2][:4], NOTE.replace('"', '""'))
    batch = stack.query(
        "select status, manifest_rows, loaded_rows, rejected_rows, message "
        "from audit.load_batches where source = 'casework'"
    )
    assert batch == [("loaded", 7, 4, 3, "3 rows rejected (rejected rows never block this source)")]


def test_rows_of_a_multiline_file_are_records_as_the_filter_splits_them() -> None:
    data = b'h1,h2\na,"x\ny"\nb,c\nd,"unterminated\ne,f\n'
    # header, a (2 lines), b, d (broken: its first line only), e
    assert manifest.count_records(data) == 5
    assert manifest.count_records(b"h\n") == 1 and manifest.count_records(b"") == 0
    assert manifest.count_records(b'h\n"a\n""b"""\nc') == 3


def test_sample_casework_days_load(stack: Stack) -> None:
    shutil.copytree(SAMPLES / "landing" / "casework", stack.landing / "casework")
    empty = load(stack, date(2026, 10, 1))
    assert (empty.rows, empty.loaded, empty.rejected) == (0, 0, 0)
    assert (load(stack, D2).loaded, load(stack, D3).loaded) == (5, 5)
    (reason,) = stack.query(
        "select reason from audit.rejected_rows where source = 'casework' and line_no = 5"
    )[0]
    assert reason == "invalid decided_on"  # 2026-13-01 is not a date: rejected at load
    # a re-run replaces the date's partition
    assert load(stack, D3).loaded == 5
    assert stack.query(
        "select count(*) from raw.casework_dispositions where extract_date = %s", (D3,)
    ) == [(5,)]


def test_a_file_of_rejected_rows_still_loads(stack: Stack) -> None:
    """More than 1% (here all) rejected: casework is not blocked, the rest would be."""
    write_casework(stack.landing, D2, [("x", "DONE", "soon", "", "")] * 2 + [ROWS[1]])
    result = load(stack, D2)
    assert (result.loaded, result.rejected) == (1, 2)


@pytest.mark.parametrize("damage_kind", ["flip", "truncate", "no_manifest", "drop_column"])
def test_corrupt_or_missing_casework_blocks(stack: Stack, damage_kind: str) -> None:
    path = write_casework(stack.landing, D2, ROWS)
    if damage_kind == "flip":
        damage.flip_byte(path)
        check = "checksum"
    elif damage_kind == "truncate":
        damage.truncate_file(path, 0.5)
        check = "row_count"
    elif damage_kind == "no_manifest":
        (path.parent / "_manifest.json").unlink()
        check = "manifest_missing"
    else:
        lines = path.read_bytes().replace(b"alert_id,status,", b"alert_id,state,", 1)
        write_casework(stack.landing, D2, data=lines)
        check = "schema_drift"
    with pytest.raises(DeliveryError) as error:
        load(stack, D2)
    assert error.value.check == check
    assert stack.query("select count(*) from raw.casework_dispositions") == [(0,)]
    assert stack.query("select status from audit.load_batches") == [("failed",)]
