"""A case-system simulator: the daily casework delivery of contract v2, section 9.

The street and township offices verify the alerts of the published feeds and
the case system returns their decisions every day as
``<landing>/casework/<day>/dispositions.csv`` + ``_manifest.json``. This
module plays that case system for development and tests (never shipped).

Every alert of a feed published before ``day`` (``<feed>/<date>/alerts.csv``,
date < day, one row per episode start, with ``alert_id`` and
``episode_start``) gets a fixed, seeded life:

* about one in five is never handled, so it falls overdue;
* the others are accepted for verification (``VERIFYING``) a few days after
  the alert, some stay there (overdue again), most get a verdict
  (``CONFIRMED`` or ``DISMISSED``) a few days later, and a confirmed one is
  often ``RESOLVED`` after that; some skip ``VERIFYING``;
* a decision reaches the case system 0-2 days after it was taken (never on
  the episode's first day), so a late ``VERIFYING`` may arrive after the
  verdict it preceded (the latest decided_on stays in force);
* corrections: a verdict re-sent with the other status and the same
  decided_on in a later delivery (the later folder wins), or re-sent by a
  second worker with a note "更正" in the same file;
* exact repeats of a row in one file, notes with commas, quotes, line breaks
  and now and then an id number (free text the warehouse masks);
* ``bad_share`` of each day's rows are bad: an unknown or malformed
  alert_id, a status outside the four, a date that is no date, decided_on
  after the day or before the episode's start.

Each event of an alert's life is delivered on its own day, so ``deliver`` for
one day needs no state: the same seed gives the same bytes. With no feed (or
nothing to say) the day's file is the header alone.

CLI: ``python -m safetynet_dev.synth.casework --landing DIR --feed DIR
--start D --days N [--seed S]`` writes N days of deliveries from the feeds
found at the time (``make data``: header-only before any day is published).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from safetynet_dev.synth.writer import write_manifest

SOURCE = "casework"
FILE_NAME = "dispositions.csv"
MANIFEST = "_manifest.json"
HEADER = ("alert_id", "status", "decided_on", "handler", "note")
STATUSES = ("VERIFYING", "CONFIRMED", "DISMISSED", "RESOLVED")

NEVER_HANDLED = 0.2  # share of alerts nobody handles (they fall overdue)
STUCK_VERIFYING = 0.1  # share accepted for verification and never decided
SKIP_VERIFYING = 0.15  # share decided without a VERIFYING row first
CONFIRMED_SHARE = 0.6  # of the verdicts
RESOLVED_SHARE = 0.6  # of the confirmed
CORRECTED_SHARE = 0.1  # verdicts corrected to the other status in a later delivery
RESENT_SHARE = 0.05  # verdicts re-sent by a second worker in the same file ("更正")
LATE_VERIFYING = 0.1  # VERIFYING delivered only after the verdict
REPEAT_SHARE = 0.04  # rows repeated exactly later in the same file

NOTES = {
    "VERIFYING": ("入户核查", "已受理,待入户核查", "电话联系中", "", "街道已派员核查"),
    "CONFIRMED": (
        "电话核实,情况属实",
        '户主称"已就业",待复核',
        "入户核查属实\n已上报区民政局",
        "银行流水核实,存款超标",
        "",
    ),
    "DISMISSED": (
        "情况不属实",
        '系数据错误,"已更正"',
        "核实为同名人员,\n非本户成员",
        "误报",
        "",
    ),
    "RESOLVED": (
        "已纳入低保",
        "已停发,追回多领资金",
        '已办理"特困供养"\n手续齐全,归档',
        "已处置",
        "",
    ),
}
ID_NOTE = "核对身份证 {id} 与户籍信息一致"
SAMPLE_IDS = ("110101199003074514", "44010319860312345X", "130802194501011234")


@dataclass(frozen=True)
class FeedAlert:
    """An alert of a published feed: the start of an episode."""

    alert_id: str
    rule_code: str
    episode_start: date
    published: date


@dataclass(frozen=True)
class Event:
    """One disposition row and the day the case system delivers it."""

    delivered: date
    alert_id: str
    status: str
    decided_on: str
    handler: str
    note: str

    def row(self) -> tuple[str, str, str, str, str]:
        return (self.alert_id, self.status, self.decided_on, self.handler, self.note)


def published_alerts(
    feed_dir: Path | None, before: date, since: date | None = None
) -> list[FeedAlert]:
    """Alerts of every feed folder dated before ``before`` (and on or after
    ``since``) that was published (``_manifest.json`` present), in date and file
    order."""
    found: list[FeedAlert] = []
    if feed_dir is None or not Path(feed_dir).is_dir():
        return found
    for folder in sorted(Path(feed_dir).iterdir()):
        try:
            published = date.fromisoformat(folder.name)
        except ValueError:
            continue
        if published >= before or (since is not None and published < since):
            continue
        if not (folder / MANIFEST).is_file():
            continue
        with open(folder / "alerts.csv", encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            columns = set(reader.fieldnames or ())
            if not {"alert_id", "episode_start"} <= columns:
                print(
                    f"casework: {folder / 'alerts.csv'} has no alert_id/episode_start "
                    "(feed of contract v1): no decisions for it",
                    file=sys.stderr,
                )
                continue
            for row in reader:
                found.append(
                    FeedAlert(
                        row["alert_id"],
                        row.get("rule_code", ""),
                        date.fromisoformat(row["episode_start"]),
                        published,
                    )
                )
    return found


def _handler(rng: random.Random) -> str:
    return "" if rng.random() < 0.05 else f"S{rng.randrange(10000):04d}"


def _note(rng: random.Random, status: str) -> str:
    if rng.random() < 0.03:
        return ID_NOTE.format(id=rng.choice(SAMPLE_IDS))
    return rng.choice(NOTES[status])


def life(alert: FeedAlert, seed: int) -> list[Event]:
    """Every decision the offices ever take on one alert, with delivery days."""
    rng = random.Random(f"{seed}:casework:{alert.alert_id}")
    start = alert.episode_start
    first_delivery = start + timedelta(days=1)

    def event(decided: date, status: str, lag: int | None = None) -> Event:
        delay = rng.choice((0, 1, 1, 2)) if lag is None else lag
        delivered = max(decided + timedelta(days=delay), first_delivery)
        return Event(
            delivered,
            alert.alert_id,
            status,
            decided.isoformat(),
            _handler(rng),
            _note(rng, status),
        )

    fate = rng.random()
    if fate < NEVER_HANDLED:
        return []
    events: list[Event] = []
    accepted = start + timedelta(days=rng.choice((0, 0, 1, 1, 2, 3)))
    verifying = None if rng.random() < SKIP_VERIFYING else event(accepted, "VERIFYING")
    if fate < NEVER_HANDLED + STUCK_VERIFYING:
        return [verifying or event(accepted, "VERIFYING")]
    decided = accepted + timedelta(days=rng.randint(1, 4))
    status = "CONFIRMED" if rng.random() < CONFIRMED_SHARE else "DISMISSED"
    verdict = event(decided, status)
    events.append(verdict)
    if rng.random() < RESENT_SHARE:
        events.append(
            Event(
                verdict.delivered, alert.alert_id, status, verdict.decided_on, _handler(rng), "更正"
            )
        )
    if verifying is not None:
        if rng.random() < LATE_VERIFYING:
            late = verdict.delivered + timedelta(days=1)
            verifying = Event(late, *verifying.row())
        events.insert(0, verifying)
    if rng.random() < CORRECTED_SHARE:
        status = "DISMISSED" if status == "CONFIRMED" else "CONFIRMED"
        later = verdict.delivered + timedelta(days=rng.randint(1, 2))
        events.append(
            Event(later, alert.alert_id, status, verdict.decided_on, _handler(rng), "更正")
        )
    if status == "CONFIRMED" and rng.random() < RESOLVED_SHARE:
        last = max(e.delivered for e in events)
        resolved = event(decided + timedelta(days=rng.randint(1, 6)), "RESOLVED")
        events.append(resolved if resolved.delivered >= last else Event(last, *resolved.row()))
    return events


def _bad_rows(
    rng: random.Random, alerts: list[FeedAlert], day: date, count: int
) -> Iterator[tuple[str, str, str, str, str]]:
    """``count`` rows the warehouse must reject, each for one reason."""
    for _ in range(count):
        alert = rng.choice(alerts)
        kind = rng.randrange(6)
        decided = min(alert.episode_start + timedelta(days=1), day).isoformat()
        row = [alert.alert_id, "CONFIRMED", decided, _handler(rng), ""]
        if kind == 0:
            row[0] = hashlib.sha256(f"unknown:{rng.random()}".encode()).hexdigest()[:32]
            row[4] = "编号查无此预警"
        elif kind == 1:
            row[0] = rng.choice((f"{alert.rule_code}-{alert.alert_id[:8]}", alert.alert_id[:31]))
        elif kind == 2:
            row[1] = rng.choice(("CLOSED", "confirmed", "核实中", ""))
        elif kind == 3:
            row[2] = rng.choice(("2026-13-01", "2026/10/05", "20261005", "", "2026-02-30"))
        elif kind == 4:
            row[2] = (day + timedelta(days=rng.randint(1, 3))).isoformat()
            row[4] = "录入日期有误"
        else:
            row[2] = (alert.episode_start - timedelta(days=rng.randint(1, 5))).isoformat()
        yield (row[0], row[1], row[2], row[3], row[4])


def day_rows(
    feed_dir: Path | None,
    day: date,
    *,
    seed: int = 0,
    bad_share: float = 0.03,
    feeds_since: date | None = None,
) -> list[tuple[str, str, str, str, str]]:
    """The records of ``day``'s dispositions.csv (header excluded)."""
    published = published_alerts(feed_dir, day, feeds_since)
    alerts = [a for a in published if a.episode_start < day]
    good = [e.row() for a in alerts for e in life(a, seed) if e.delivered == day]
    good.sort(key=lambda r: (r[2], r[0]))
    rng = random.Random(f"{seed}:casework-day:{day.isoformat()}")
    rows = list(good)
    for row in good:  # exact repeats, later in the same file
        if rng.random() < REPEAT_SHARE:
            at = rng.randint(rows.index(row) + 1, len(rows))
            rows.insert(at, row)
    if alerts and good:
        count = int(bad_share * len(good) + rng.random())
        for bad in _bad_rows(rng, alerts, day, count):
            rows.insert(rng.randint(0, len(rows)), bad)
    return rows


def serialise(rows: list[tuple[str, str, str, str, str]]) -> bytes:
    """CSV as the case system writes it: header, comma, ``"`` quoting when needed, LF."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return text.getvalue().encode("utf-8")


def deliver(
    landing_dir: Path,
    feed_dir: Path | None,
    day: date,
    *,
    seed: int = 0,
    bad_share: float = 0.03,
    feeds_since: date | None = None,
) -> Path:
    """Write ``<landing>/casework/<day>/dispositions.csv`` and, last, its manifest
    (``rows`` = CSV records, a note may span lines); return the folder.
    ``feeds_since``: ignore feeds dated before it (left over from another run)."""
    if not 0 <= bad_share <= 1:
        raise ValueError("bad_share must be within [0, 1]")
    folder = Path(landing_dir) / SOURCE / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)
    rows = day_rows(feed_dir, day, seed=seed, bad_share=bad_share, feeds_since=feeds_since)
    data = serialise(rows)
    (folder / FILE_NAME).write_bytes(data)
    listed = {"name": FILE_NAME, "rows": len(rows), "sha256": hashlib.sha256(data).hexdigest()}
    write_manifest(folder, SOURCE, day.isoformat(), [listed])
    return folder


def delivered_rows(folder: Path) -> int:
    """Rows of a delivered folder, as its manifest lists them."""
    document = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    return sum(int(entry["rows"]) for entry in document["files"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m safetynet_dev.synth.casework",
        description="Write the case system's daily casework deliveries (contract section 9).",
    )
    parser.add_argument("--landing", type=Path, required=True, help="landing directory")
    parser.add_argument("--feed", type=Path, default=None, help="feed directory (may be empty)")
    parser.add_argument("--start", type=date.fromisoformat, required=True)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bad-share", type=float, default=0.03)
    args = parser.parse_args(argv)
    for offset in range(args.days):
        day = args.start + timedelta(days=offset)
        folder = deliver(args.landing, args.feed, day, seed=args.seed, bad_share=args.bad_share)
        print(f"casework {day}: {delivered_rows(folder)} rows -> {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
