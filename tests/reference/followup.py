"""Independent reference implementation of the Safetynet contract, section 9.

Plain Python (standard library only) re-derivation of alert follow-up:
episodes and alert_id, casework acceptance, state, working-day deadlines and
overdue. Used by tests to cross-check the warehouse (``marts.alert_cases``,
``overdue.csv``, ``audit.rejected_rows``). It shares no code with
include/safetynet or dbt_project/ on purpose, and none with rules.py either:
its input is the alerts that hold on each processed date, wherever they come
from (rules.py, ``marts.monitoring_alerts``, a sample file).

Public API
----------
``compute(holding, landing_dir, workdays_csv=..., v_high=5, v_medium=10,
resolve=20, casework_dates=None) -> Result`` where ``holding`` maps every
processed date (section 5) to the alerts holding on it (an empty iterable for
a processed date without alerts), each an ``Alert(rule_code, household_id,
person_key or '', severity, region_code)``. ``Result`` has

* ``episodes``: {alert_id: Episode} and ``alert_ids``: {(date, rule_code,
  household_id, person_key): alert_id};
* ``accepted`` / ``rejected``: every casework record read, accepted as a
  ``Disposition`` or rejected as a ``Rejection`` (folder date, file, line,
  raw text, reason);
* ``cases``: one ``Case`` per (processed date, alert holding on it), with
  ``Case.row()`` in the column order of ``samples/expected/cases.csv`` and
  ``Case.overdue_row()`` in the order of ``overdue.csv``;
* ``overdue(day)``: the rows of ``<feed>/<day>/overdue.csv`` (no header).

``Calendar`` (``is_workday``, ``add``) and ``alert_id`` are public for unit
tests; ``read_dispositions(path)`` splits a casework file into records.

Interpretation decisions
------------------------
Episodes

E1. Processed dates are the keys of ``holding``, taken in calendar order.
    An episode of (rule, household, person) starts on a processed date on
    which it holds and did not hold on the latest processed date before
    (every alert of the first processed date starts one); it goes on over
    the following processed dates on which it holds. Unprocessed calendar
    days in between do not end it (contract v2, section 5).
E2. alert_id = sha256("rule|household|person_key|YYYY-MM-DD")[:32], the
    person_key empty for household rules.

Reading casework

C1. Folders ``<landing>/casework/<YYYY-MM-DD>/`` holding ``_manifest.json``
    are deliveries (restricted to ``casework_dates`` when given); each one
    is read from ``dispositions.csv``. Row counts and sha256 are not
    checked here (corruption blocks the day in the pipeline: the caller
    leaves such a folder out). A folder counts for every processed date on
    or after its own date, whether or not its own date was processed.
C2. UTF-8 text (a leading BOM is dropped). A record ends at an LF outside
    quotes; a CR right before it is dropped. A field that starts with ``"``
    is quoted, ``""`` inside it is a quote, and it may hold commas and line
    breaks. The line of a record is the physical line where it starts, the
    header being line 1. A quote left open at the end of the file rejects
    only the record's first physical line ("quote left open") and reading
    resumes on the next line. Text after a closing quote and before the
    next comma rejects the record ("malformed quoting").
C3. The header must be exactly ``alert_id,status,decided_on,handler,note``
    (ValueError otherwise: a file-level error, not a row rejection).
C4. alert_id, status and decided_on are trimmed of white space before they
    are judged; handler and note are kept as sent. A blank line is a record
    with the wrong number of fields.
C5. A record is rejected, with every failing reason joined by "; ", when
    it does not have exactly 5 fields; its alert_id is not 32 lower-case
    hex characters ("malformed"), is no known episode ("unknown"), or names
    an episode starting on or after the folder date; its status is not one
    of VERIFYING, CONFIRMED, DISMISSED, RESOLVED (exact, case-sensitive);
    decided_on is not a real YYYY-MM-DD date, is after the folder date, or
    is before the episode's start (checked only when the episode is known).
C6. Exact repeats inside one file: a record whose 5 fields (as parsed,
    before trimming) equal those of an earlier record of the same file is
    rejected as "exact duplicate of line N (counted once)", whether or not
    line N itself was accepted. Across files a repeat is a new record.
C7. Rejection is final: a rejected record never counts for any date.

State and deadlines

S1. State on D of an episode holding on D: among its accepted records of
    folders dated <= D, the greatest (decided_on, folder date, line);
    OPEN if none. state_date = that decided_on (None when OPEN).
S2. Working day: the calendar's ``workday`` rows are working days, its
    ``holiday`` rows rest days; any other date is a working day from
    Monday to Friday. Dates outside the calendar's years follow that
    weekday rule too (``Calendar.covers`` tells which years it covers).
    X + n = the n-th working day after X, X not counted; X + 0 = X.
S3. verify_due = episode_start + V (V by severity: high -> v_high, medium
    -> v_medium), on every row whatever the state. resolve_due = state_date
    + R only when the state is CONFIRMED, else None.
S4. is_overdue on D: OPEN or VERIFYING and D > verify_due, or CONFIRMED and
    D > resolve_due. is_newly_overdue on D: overdue on D and the same
    alert_id was not overdue on the latest processed date before D (not
    holding there counts as not overdue); on the first processed date every
    overdue alert is newly overdue.
S5. overdue.csv of D: the newly overdue cases of D ordered by alert_id;
    due_date = resolve_due when CONFIRMED, else verify_due.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

CONTRACT_DIR = Path(
    os.environ.get("SAFETYNET_CONTRACT_DIR", "") or Path(__file__).resolve().parents[2] / "contract"
)
DEFAULT_WORKDAYS_CSV = CONTRACT_DIR / "reference" / "workdays.csv"

V_HIGH = 5
V_MEDIUM = 10
RESOLVE = 20

SEVERITY = {
    "A01": "high",
    "A02": "high",
    "A03": "medium",
    "A04": "medium",
    "A05": "high",
    "A06": "medium",
}

HEADER = ["alert_id", "status", "decided_on", "handler", "note"]
STATUSES = ("VERIFYING", "CONFIRMED", "DISMISSED", "RESOLVED")
CASES_COLUMNS = (
    "as_of_date",
    "alert_id",
    "rule_code",
    "household_id",
    "person_key",
    "episode_start",
    "state",
    "state_date",
    "verify_due",
    "resolve_due",
    "is_overdue",
    "is_newly_overdue",
)
OVERDUE_COLUMNS = (
    "alert_id",
    "rule_code",
    "severity",
    "household_id",
    "person_key",
    "region_code",
    "episode_start",
    "state",
    "due_date",
)
FILE_NAME = "dispositions.csv"

_ALERT_ID = re.compile(r"[0-9a-f]{32}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


# --------------------------------------------------------------------------
# Working days
# --------------------------------------------------------------------------


class Calendar:
    """Public holidays and make-up working days; weekends otherwise rest."""

    def __init__(self, kinds: Mapping[date, str]) -> None:
        self.kinds = dict(kinds)
        self.covers = {day.year for day in self.kinds}

    @classmethod
    def from_csv(cls, path: Path = DEFAULT_WORKDAYS_CSV) -> Calendar:
        kinds: dict[date, str] = {}
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                kind = row["kind"].strip()
                if kind not in ("holiday", "workday"):
                    raise ValueError(f"{path}: kind {kind!r} on {row['date']}")
                kinds[date.fromisoformat(row["date"].strip())] = kind
        return cls(kinds)

    def is_workday(self, day: date) -> bool:
        kind = self.kinds.get(day)
        if kind is not None:
            return kind == "workday"
        return day.weekday() < 5

    def add(self, start: date, workdays: int) -> date:
        """The ``workdays``-th working day after ``start`` (start + 0 = start)."""
        if workdays < 0:
            raise ValueError("workdays must be >= 0")
        day, left = start, workdays
        while left > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                left -= 1
        return day


# --------------------------------------------------------------------------
# Alerts and episodes
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    """One alert holding on a date (person_key '' for household rules)."""

    rule_code: str
    household_id: str
    person_key: str
    severity: str
    region_code: str

    @property
    def subject(self) -> tuple[str, str, str]:
        return (self.rule_code, self.household_id, self.person_key)


@dataclass
class Episode:
    alert_id: str
    alert: Alert
    start: date
    dates: list[date] = field(default_factory=list)


def alert_id(rule_code: str, household_id: str, person_key: str, episode_start: date) -> str:
    text = f"{rule_code}|{household_id}|{person_key}|{episode_start.isoformat()}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


# --------------------------------------------------------------------------
# Casework files
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One CSV record of a casework file; ``problem`` set when unparsable."""

    line_no: int
    raw: str
    fields: tuple[str, ...]
    problem: str | None = None


def _split_record(text: str, pos: int) -> tuple[list[str], int, str | None] | None:
    """Parse one record from ``pos``: (fields, position after it, problem), or
    None when a quote stays open to the end of the text."""
    fields: list[str] = []
    problem: str | None = None
    n = len(text)
    while True:
        value: list[str] = []
        if pos < n and text[pos] == '"':
            pos += 1
            while True:
                if pos >= n:
                    return None
                ch = text[pos]
                if ch == '"':
                    if pos + 1 < n and text[pos + 1] == '"':
                        value.append('"')
                        pos += 2
                        continue
                    pos += 1
                    break
                value.append(ch)
                pos += 1
            # after the closing quote: a comma, the end of the record, or junk
            while pos < n and text[pos] not in ",\n":
                line_end = text[pos] == "\r" and (pos + 1 == n or text[pos + 1] == "\n")
                if not line_end:
                    problem = "malformed quoting"
                    value.append(text[pos])
                pos += 1
        else:
            while pos < n and text[pos] not in ",\n":
                value.append(text[pos])
                pos += 1
        field_text = "".join(value)
        if pos >= n or text[pos] == "\n":
            fields.append(field_text.removesuffix("\r"))
            return fields, pos + 1, problem
        fields.append(field_text)
        pos += 1  # the comma


def split_records(text: str, first_line: int = 1) -> Iterator[Record]:
    """Records of CSV ``text`` (see C2), numbered by their first physical line."""
    pos, line_no, n = 0, first_line, len(text)
    while pos < n:
        parsed = _split_record(text, pos)
        if parsed is None:
            end = text.find("\n", pos)
            end = n if end < 0 else end + 1
            yield Record(line_no, text[pos:end].rstrip("\n"), (), "quote left open")
            pos, line_no = end, line_no + 1
            continue
        fields, end, problem = parsed
        raw = text[pos:end].removesuffix("\n")
        yield Record(line_no, raw, tuple(fields), problem)
        line_no += text.count("\n", pos, end)
        pos = end


def read_dispositions(path: Path) -> list[Record]:
    """Data records of one dispositions.csv (header checked, not returned)."""
    text = path.read_bytes().decode("utf-8")
    text = text.removeprefix("\ufeff")
    records = list(split_records(text))
    if not records or [f.strip() for f in records[0].fields] != HEADER:
        found = list(records[0].fields) if records else []
        raise ValueError(f"{path}: header {found}, expected {HEADER}")
    return records[1:]


@dataclass(frozen=True)
class Disposition:
    folder_date: date
    line_no: int
    alert_id: str
    status: str
    decided_on: date
    handler: str
    note: str

    @property
    def order(self) -> tuple[date, date, int]:
        return (self.decided_on, self.folder_date, self.line_no)


@dataclass(frozen=True)
class Rejection:
    folder_date: date
    file: str
    line_no: int
    raw: str
    reason: str

    @property
    def kinds(self) -> set[str]:
        """Coarse reasons: fields, alert_id, status, decided_on, duplicate."""
        kinds = set()
        for part in self.reason.split("; "):
            if part.startswith("exact duplicate"):
                kinds.add("duplicate")
            elif part.startswith(("alert_id", "status", "decided_on")):
                kinds.add(part.split(":", 1)[0])
            else:
                kinds.add("fields")
        return kinds


def _parse_date(value: str) -> date | None:
    if not _ISO_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def judge(
    record: Record, folder_date: date, episodes: Mapping[str, Episode]
) -> tuple[Disposition | None, str | None]:
    """Accept a record as a Disposition, or give the reason it is rejected (C5)."""
    if record.problem:
        return None, record.problem
    if len(record.fields) != len(HEADER):
        return None, f"wrong number of fields: expected {len(HEADER)}, got {len(record.fields)}"
    raw_id, raw_status, raw_decided, handler, note = record.fields
    aid, status, decided_text = raw_id.strip(), raw_status.strip(), raw_decided.strip()
    reasons: list[str] = []
    episode = episodes.get(aid)
    if not _ALERT_ID.fullmatch(aid):
        reasons.append(f"alert_id: malformed {aid!r}")
    elif episode is None:
        reasons.append(f"alert_id: unknown {aid}")
    elif episode.start >= folder_date:
        reasons.append(f"alert_id: episode starts {episode.start}, not before {folder_date}")
    if status not in STATUSES:
        reasons.append(f"status: {status!r} not one of {', '.join(STATUSES)}")
    decided = _parse_date(decided_text)
    if decided is None:
        reasons.append(f"decided_on: not a date {decided_text!r}")
    elif decided > folder_date:
        reasons.append(f"decided_on: {decided} after the folder date {folder_date}")
    elif episode is not None and decided < episode.start:
        reasons.append(f"decided_on: {decided} before the episode start {episode.start}")
    if reasons or decided is None:
        return None, "; ".join(reasons)
    return Disposition(folder_date, record.line_no, aid, status, decided, handler, note), None


def casework_folders(landing_dir: Path) -> list[date]:
    """Dates of complete (manifest present) casework deliveries."""
    found = []
    for folder in sorted((Path(landing_dir) / "casework").glob("*")):
        if (folder / "_manifest.json").is_file():
            try:
                found.append(date.fromisoformat(folder.name))
            except ValueError:
                continue
    return found


def folder_files(landing_dir: Path, folder_date: date) -> list[Path]:
    folder = Path(landing_dir) / "casework" / folder_date.isoformat()
    manifest = json.loads((folder / "_manifest.json").read_text(encoding="utf-8"))
    return [folder / entry["name"] for entry in manifest["files"]]


# --------------------------------------------------------------------------
# Follow-up
# --------------------------------------------------------------------------


def _text(value: date | None) -> str:
    return "" if value is None else value.isoformat()


@dataclass(frozen=True)
class Case:
    as_of_date: date
    alert_id: str
    alert: Alert
    episode_start: date
    state: str
    state_date: date | None
    verify_due: date
    resolve_due: date | None
    is_overdue: bool
    is_newly_overdue: bool

    @property
    def due_date(self) -> date:
        if self.state == "CONFIRMED" and self.resolve_due is not None:
            return self.resolve_due
        return self.verify_due

    def row(self) -> tuple[str, ...]:
        """As samples/expected/cases.csv prints it (CASES_COLUMNS)."""
        return (
            self.as_of_date.isoformat(),
            self.alert_id,
            self.alert.rule_code,
            self.alert.household_id,
            self.alert.person_key,
            self.episode_start.isoformat(),
            self.state,
            _text(self.state_date),
            self.verify_due.isoformat(),
            _text(self.resolve_due),
            "true" if self.is_overdue else "false",
            "true" if self.is_newly_overdue else "false",
        )

    def overdue_row(self) -> tuple[str, ...]:
        """As overdue.csv prints it (OVERDUE_COLUMNS)."""
        return (
            self.alert_id,
            self.alert.rule_code,
            self.alert.severity,
            self.alert.household_id,
            self.alert.person_key,
            self.alert.region_code,
            self.episode_start.isoformat(),
            self.state,
            self.due_date.isoformat(),
        )


@dataclass
class Result:
    processed: list[date]
    episodes: dict[str, Episode] = field(default_factory=dict)
    alert_ids: dict[tuple[date, str, str, str], str] = field(default_factory=dict)
    accepted: list[Disposition] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)

    def cases_of(self, day: date) -> list[Case]:
        return [case for case in self.cases if case.as_of_date == day]

    def overdue(self, day: date) -> list[tuple[str, ...]]:
        rows = [c.overdue_row() for c in self.cases_of(day) if c.is_newly_overdue]
        return sorted(rows)

    def rows(self) -> list[tuple[str, ...]]:
        return [case.row() for case in self.cases]


def build_episodes(
    holding: Mapping[date, Iterable[Alert]],
) -> tuple[list[date], dict[str, Episode], dict[tuple[date, str, str, str], str]]:
    """Episodes over the processed dates (E1, E2)."""
    processed = sorted(set(holding))
    episodes: dict[str, Episode] = {}
    ids: dict[tuple[date, str, str, str], str] = {}
    running: dict[tuple[str, str, str], Episode] = {}
    for day in processed:
        today: dict[tuple[str, str, str], Episode] = {}
        for alert in set(holding[day]):
            episode = running.get(alert.subject)
            if episode is None:
                aid = alert_id(alert.rule_code, alert.household_id, alert.person_key, day)
                episode = episodes.setdefault(aid, Episode(aid, alert, day))
            episode.dates.append(day)
            today[alert.subject] = episode
            ids[(day, *alert.subject)] = episode.alert_id
        running = today
    return processed, episodes, ids


def read_casework(
    landing_dir: Path | None,
    episodes: Mapping[str, Episode],
    casework_dates: Iterable[date] | None = None,
) -> tuple[list[Disposition], list[Rejection]]:
    """Every casework record, accepted or rejected with its reason (C1-C7)."""
    accepted: list[Disposition] = []
    rejected: list[Rejection] = []
    if landing_dir is None:
        return accepted, rejected
    dates = casework_folders(landing_dir)
    if casework_dates is not None:
        wanted = set(casework_dates)
        dates = [d for d in dates if d in wanted]
    for folder_date in dates:
        for path in folder_files(landing_dir, folder_date):
            seen: dict[tuple[str, ...], int] = {}
            for record in read_dispositions(path):
                if record.fields and not record.problem and record.fields in seen:
                    reason = f"exact duplicate of line {seen[record.fields]} (counted once)"
                    rejected.append(
                        Rejection(folder_date, path.name, record.line_no, record.raw, reason)
                    )
                    continue
                if record.fields and not record.problem:
                    seen[record.fields] = record.line_no
                disposition, reason = judge(record, folder_date, episodes)
                if disposition is not None:
                    accepted.append(disposition)
                else:
                    rejected.append(
                        Rejection(folder_date, path.name, record.line_no, record.raw, str(reason))
                    )
    return accepted, rejected


def compute(
    holding: Mapping[date, Iterable[Alert]],
    landing_dir: Path | None,
    workdays_csv: Path = DEFAULT_WORKDAYS_CSV,
    *,
    v_high: int = V_HIGH,
    v_medium: int = V_MEDIUM,
    resolve: int = RESOLVE,
    casework_dates: Iterable[date] | None = None,
) -> Result:
    """Section 9 over the processed dates of ``holding`` (see the module doc)."""
    calendar = Calendar.from_csv(workdays_csv)
    verify = {"high": v_high, "medium": v_medium}
    processed, episodes, ids = build_episodes(holding)
    result = Result(processed, episodes, ids)
    result.accepted, result.rejected = read_casework(landing_dir, episodes, casework_dates)
    by_alert: dict[str, list[Disposition]] = defaultdict(list)
    for disposition in result.accepted:
        by_alert[disposition.alert_id].append(disposition)
    overdue_before: set[str] | None = None  # None before the first processed date
    for day in processed:
        overdue_today: set[str] = set()
        for alert in sorted(set(holding[day]), key=lambda a: a.subject):
            aid = ids[(day, *alert.subject)]
            episode = episodes[aid]
            in_force = [d for d in by_alert.get(aid, []) if d.folder_date <= day]
            latest = max(in_force, key=lambda d: d.order) if in_force else None
            state = latest.status if latest else "OPEN"
            state_date = latest.decided_on if latest else None
            verify_due = calendar.add(episode.start, verify[alert.severity])
            resolve_due = (
                calendar.add(state_date, resolve)
                if state == "CONFIRMED" and state_date is not None
                else None
            )
            overdue = (state in ("OPEN", "VERIFYING") and day > verify_due) or (
                state == "CONFIRMED" and resolve_due is not None and day > resolve_due
            )
            newly = overdue and (overdue_before is None or aid not in overdue_before)
            if overdue:
                overdue_today.add(aid)
            result.cases.append(
                Case(
                    day,
                    aid,
                    alert,
                    episode.start,
                    state,
                    state_date,
                    verify_due,
                    resolve_due,
                    overdue,
                    newly,
                )
            )
        overdue_before = overdue_today
    return result
