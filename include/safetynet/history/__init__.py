"""Change history: older dates kept as row versions, point in time kept (issue 23).

``compact(url, window_days)`` folds every processed date older than the window into
the history tables of ``sql/history.sql``; ``status(url, window_days)`` says what is
where (docs/history.md). The specs of what is kept: ``safetynet.history.specs``;
the fold itself: ``safetynet.history.fold``; the entry: ``safetynet.history.compaction``.
"""

from __future__ import annotations

from safetynet.history.compaction import (
    CompactionReport,
    FoldResult,
    compact,
    compact_leased,
    status,
)
from safetynet.history.fold import HistoryVerificationError

__all__ = [
    "CompactionReport",
    "FoldResult",
    "HistoryVerificationError",
    "compact",
    "compact_leased",
    "status",
]
