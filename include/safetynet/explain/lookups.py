"""Who looked up which alert / 预警查询记录 (issue 21): one row per lookup in
``audit.explain_lookups`` (auditors may read it)."""

from __future__ import annotations

import getpass
import os
from datetime import date

from safetynet import privacy, warehouse


def os_user() -> str:
    """The OS user running the command line (``SUDO_USER`` when run through sudo)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    sudo = os.environ.get("SUDO_USER")
    return f"{sudo} (as {user})" if sudo and sudo != user else user


def record(
    url: str,
    who: str,
    channel: str,
    output_format: str,
    alert_id: str,
    alert_date: date | None,
    found: bool,
) -> None:
    """Write one lookup (its own transaction: a failed explanation is recorded too). An
    alert_id that named no alert is stored masked (privacy.mask_text): someone may have
    typed an id number into the search."""
    shown = alert_id if found else (privacy.mask_text(alert_id) or "")
    with warehouse.connect(url, autocommit=True) as conn:
        conn.execute(
            """insert into audit.explain_lookups
                   (who, channel, output_format, alert_id, alert_date, found)
               values (%s, %s, %s, %s, %s, %s)""",
            (who, channel, output_format, shown[:200], alert_date, found),
        )
