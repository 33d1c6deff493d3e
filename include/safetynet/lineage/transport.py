"""(issue 21) Where the local OpenLineage file transport writes: the deployment's reports
folder (``<SAFETYNET_REPORTS_DIR>/lineage/events-<timestamp>.json``).

The transport's path is static configuration (``AIRFLOW__OPENLINEAGE__TRANSPORT``), but
each deployment (and each test stack) has its own reports folder: the transport's
``filesystem`` option names ``reports_filesystem``, an fsspec filesystem rooted at that
folder, so the events of one deployment never land in another's folder (and the
folder is created on first use).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetynet.config import Settings

FILESYSTEM = "safetynet.lineage.transport.reports_filesystem"
EVENTS = "events"  # file name prefix: events-<timestamp>.json
# The local stack's transport (tools/safetynet_dev/stack/env.py).
DEFAULT_TRANSPORT = json.dumps(
    {"type": "file", "log_file_path": EVENTS, "append": False, "filesystem": FILESYSTEM}
)


def event_dir(reports_dir: Path | None = None) -> Path:
    return (reports_dir or Settings.from_env().reports_dir) / "lineage"


def reports_filesystem() -> Any:
    """The transport's filesystem: local files under ``event_dir()``."""
    from fsspec.implementations.dirfs import DirFileSystem  # type: ignore[import-untyped]
    from fsspec.implementations.local import LocalFileSystem  # type: ignore[import-untyped]

    root = event_dir()
    root.mkdir(parents=True, exist_ok=True)
    return DirFileSystem(path=str(root), fs=LocalFileSystem())
