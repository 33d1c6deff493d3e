"""raw.*.line_no is the physical line where a record starts, header = line 1 (issue 21):
what ``make explain`` cites without reading the file again. A GB18030 file with CRLF
line ends, a quoted field holding a 4-byte character, a rejected record: every loaded
row's line_no is the line its record starts on, counted independently here from the
delivered bytes. (Records spanning lines: only casework notes may, and
tests/test_casework_load.py checks their start line; a civil_affairs record with a
line break fails the delivery's row count, as the manifest counts lines there.)"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from conftest import PRISTINE_DAY, Stack

from safetynet.ingest import loader
from safetynet_dev.synth import damage

pytestmark = pytest.mark.integration

DAY = date.fromisoformat(PRISTINE_DAY)


def start_lines(path: Path, encoding: str) -> dict[str, int]:
    """household_id -> the physical line (1-based, header = 1) its record starts on."""
    text = path.read_bytes().decode(encoding)
    reader = csv.reader(io.StringIO(text, newline=""))
    starts, previous = {}, 0
    for index, record in enumerate(reader):
        if index:
            starts.setdefault(record[0], previous + 1)
        previous = reader.line_num
    return starts


def test_line_no_is_the_physical_start_line(landed: Stack) -> None:
    folder = landed.landing / "civil_affairs" / PRISTINE_DAY
    path = folder / "households.csv"
    header, records = damage.read_records(path)
    records[0][3] = "幸福路1号, 𠀀巷"  # quoted (a comma), a 4-byte GB18030 character
    broken = list(records[1])
    broken[0], broken[4] = "HBROKEN", "not-an-id"  # rejected: its line still counts
    records.insert(1, broken)
    damage.write_records(path, header, records)
    damage.rewrite_manifest(folder)
    assert path.read_bytes().count(b"\r\n") == len(records) + 1  # CRLF line ends

    loader.load_source(landed.url, landed.landing, "civil_affairs", DAY, landed.key)

    expected = start_lines(path, "gb18030")
    rows = landed.query(
        "select household_id, line_no from raw.civil_affairs_households where extract_date = %s",
        (DAY,),
    )
    assert len(rows) == len(records) - 1
    assert dict(rows) == {h: expected[h] for h, _ in rows}
    assert expected[records[0][0]] == 2 and expected["HBROKEN"] == 3
    assert expected[records[2][0]] == 4  # after the rejected one
    rejected = landed.query(
        "select line_no from audit.rejected_rows where source = 'civil_affairs' "
        "and file_name = 'households.csv'"
    )
    assert rejected == [(3,)]
