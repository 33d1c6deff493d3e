"""``python -m safetynet.explain ALERT_ID [--date YYYY-MM-DD] [--format text|json]``
(``make explain``, issue 21): one alert's account; exit 2 for an unknown alert, exit 3
when its date is older than the snapshot window and a landing file it must be restored
from is missing or not the file loaded (issue 23)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from safetynet import warehouse
from safetynet.config import Settings
from safetynet.explain import account, lookups, render, restore


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m safetynet.explain", description=__doc__)
    parser.add_argument("alert_id")
    parser.add_argument("--date", type=date.fromisoformat, default=None)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    url = settings.warehouse_url
    warehouse.ensure_schema(url)  # audit.explain_lookups (a no-op once set up)
    try:
        found = account.explain(
            url, args.alert_id, args.date, settings.feed_dir, settings.landing_dir
        )
    except account.UnknownAlert as error:
        lookups.record(url, lookups.os_user(), "cli", args.format, args.alert_id, args.date, False)
        print(f"explain: {error} (预警不存在)", file=sys.stderr)
        return 2
    except restore.RestoreRefused as error:
        lookups.record(url, lookups.os_user(), "cli", args.format, args.alert_id, args.date, True)
        print(f"explain: {error} (无法还原: 落地文件缺失或已变更)", file=sys.stderr)
        return 3
    day = date.fromisoformat(found["alert_date"])
    lookups.record(url, lookups.os_user(), "cli", args.format, args.alert_id, day, True)
    if args.format == "json":
        print(json.dumps(found, ensure_ascii=False, indent=2, default=str))
    else:
        print(render.text(found), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
