"""Masking of personal data for everything an auditor, a log or a notification sees
(contract v2 sections 3 and 6): the one home of the rule.

- An **id-like field** (an ``id`` column of ``sources.py``, valid or not): trimmed,
  10 or more characters show the first 6 and the last 4 around ``********``
  (section 3's ``masked_id``); a shorter one shows only ``*``.
- A **name** field: its first character, then ``*`` for each other character
  (section 3's ``masked_name``).
- **Free text** (address, note, handler, a reason, an error message, a field of a
  line that does not parse): every run of 15 to 18 digits (ASCII or full-width;
  the last may be ``X``) is masked like an id-like field.

Used by the loader for rejected rows (``ingest/rejects.py``), by the casework
warehouse rejections, by the data-quality gate (examples, messages, Data Docs) and
by the failure notifier. The raw line of a rejected row is kept for engineers only
(``raw.rejected_lines``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

from safetynet.ingest.sources import SPECS, FileSpec

ID_MASK = "********"
# What str.strip() leaves plus the ideographic space (contract section 3).
_SPACE = " \t\r\n\u3000"
# Contract section 6: a run of 15 to 18 digits (the last may be X) in free text is an
# id number, also when delivered full-width; a longer run (a 19-digit card number) is
# not one and is left as it is.
ID_RUN = re.compile(r"(?<![0-9０-９])[0-9０-９]{14,17}[0-9０-９XxＸｘ](?![0-9０-９XxＸｘ])")
# A field of a line that does not parse and looks like an id (digits and X only).
_ID_LIKE = re.compile(r"^[0-9０-９XxＸｘ]{10,}$")
# Names: the column(s) of the landing that hold a person's name (section 2).
NAME_COLUMNS = frozenset({"name"})
# Columns of the raw tables (and GX examples) holding an id number.
ID_COLUMNS = frozenset(c.name for spec in SPECS for c in spec.columns if c.check == "id")


def mask_id(value: str | None) -> str | None:
    """Section 3's masked_id for whatever the field holds, valid or not."""
    if value is None:
        return None
    text = value.strip(_SPACE)
    if not text:
        return text
    return text[:6] + ID_MASK + text[-4:] if len(text) >= 10 else "*"


def mask_name(value: str | None) -> str | None:
    """Section 3's masked_name: first character, ``*`` for each other character."""
    if value is None:
        return None
    text = value.strip(_SPACE)
    return text[:1] + "*" * (len(text) - 1) if text else text


def mask_text(value: str | None) -> str | None:
    """Free text: every run of 15 to 18 digits (last may be X) masked as an id."""
    if value is None or not value:
        return value
    return ID_RUN.sub(lambda m: mask_id(m.group(0)) or "", value)


def column_kind(name: str | None) -> str:
    """``id``, ``name`` or ``text`` for a column name (raw, landing or GX)."""
    if name in ID_COLUMNS:
        return "id"
    if name in NAME_COLUMNS:
        return "name"
    return "text"


def _kind_of(key: str, inherited: str) -> str:
    own = column_kind(key)
    return own if own != "text" else inherited


def mask_value(value: Any, kind: str = "text") -> Any:
    """Mask one value by its column's kind; non-strings pass (numbers, dates, None)."""
    if isinstance(value, str):
        if kind == "id":
            return mask_id(value)
        if kind == "name":
            return mask_name(value)
        return mask_text(value)
    if isinstance(value, dict):  # a key naming an id or name column sets the kind
        return {k: mask_value(v, _kind_of(str(k), kind)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v, kind) for v in value]
    return value


def mask_fields(spec: FileSpec, values: Iterable[str | None]) -> list[str | None]:
    """The fields of one parsed line of ``spec``'s file, each masked by its column.

    In a file with a name column, a name may have slipped into another column (a
    shifted or swapped row): any other field with non-ASCII letters that is not a
    value its column allows is masked as a name too."""
    has_name = any(c.name in NAME_COLUMNS for c in spec.columns)
    masked = []
    for column, value in zip(spec.columns, values, strict=True):
        kind = column_kind(column.name)
        if has_name and kind == "text" and _stray_name(column.values, value):
            kind = "name"
        masked.append(mask_value(value, kind))
    return masked


def _stray_name(allowed: tuple[str, ...], value: str | None) -> bool:
    text = (value or "").strip(_SPACE)
    if not text or text in allowed:
        return False
    return any(ch.isalpha() and not ch.isascii() for ch in text)


def _conservative(spec: FileSpec, field: str) -> str:
    """A field of a line that does not parse: we cannot tell which column it is."""
    if _ID_LIKE.match(field.strip(_SPACE)):
        return mask_id(field) or ""
    field = mask_text(field) or ""
    if any(c.name in NAME_COLUMNS for c in spec.columns) and any(ch.isalpha() for ch in field):
        known = {v for c in spec.columns for v in c.values} | set(spec.column_names)
        if field.strip(_SPACE) not in known:
            return mask_name(field) or ""
    return field


def split_line(spec: FileSpec, line: str) -> list[str]:
    """The fields of one line as the file's format quotes them (may be any count)."""
    rows = list(csv.reader([line], delimiter=spec.delimiter, quotechar='"', strict=False))
    return rows[0] if len(rows) == 1 else line.split(spec.delimiter)


def join_line(spec: FileSpec, fields: Iterable[str | None]) -> str:
    """Fields back into one line of the file's format (quoted only where needed)."""
    out = _Buffer()
    csv.writer(out, delimiter=spec.delimiter, lineterminator="").writerow(
        ["" if f is None else f for f in fields]
    )
    return out.text


class _Buffer:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)


def mask_line(spec: FileSpec, line: str | None) -> str | None:
    """A delivered line (a rejected row) with ids and names masked, for auditors.

    Parsed by the file's spec: id columns masked as ids, the name column as a name,
    every other field as free text. A line that does not parse into the spec's
    columns (wrong field count, quoting) is masked field by field conservatively:
    id-like fields as ids, 15-to-18-digit runs everywhere, and in a file with a name
    column every field with letters that is no enumeration value as a name.
    """
    if line is None:
        return None
    body = line.rstrip("\r\n")
    try:
        fields = split_line(spec, body)
    except csv.Error:
        fields = body.split(spec.delimiter)
    if len(fields) == len(spec.columns):
        masked = mask_fields(spec, fields)
    else:
        masked = [_conservative(spec, f) for f in fields]
    result = join_line(spec, masked)
    # a last safety net: nothing of the line's digit runs survives the re-join
    return mask_text(result)


def mask_result(value: Any, column: str | None = None) -> Any:
    """A copy of a check's result (GX result dict, examples, observed value) with
    every string masked: as the checked column's kind (id, name, free text), and
    within a dict, a key naming an id or name column masks its value so."""
    return mask_value(value, column_kind(column))
