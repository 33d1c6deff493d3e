"""Change history: older dates kept as row versions, point in time kept (issue 23).

``compact(url, window_days)`` folds every processed date older than the window into
the history tables of ``sql/history.sql``; ``status(url, window_days)`` says what is
where (docs/history.md). The specs of what is kept: ``safetynet.history.specs``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CompactionReport", "FoldResult", "compact", "status"]


def __getattr__(name: str) -> Any:
    # imported on use: sql/specs stay importable without the fold's dependencies
    if name in __all__:
        from safetynet.history import compact as module

        return getattr(module, name)
    raise AttributeError(name)
