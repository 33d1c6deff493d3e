"""make demo's summary names where each user finds what the run produced."""

from __future__ import annotations

import socket

import pytest

from safetynet.config import Settings
from safetynet_dev import summary


@pytest.mark.unit
def test_dashboards_line_says_how_to_start_superset_or_where_it_runs(monkeypatch) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    monkeypatch.setenv("SAFETYNET_SUPERSET_PORT", str(port))
    assert summary._superset_where().startswith("make superset")
    with socket.socket() as running:
        running.bind(("127.0.0.1", port))
        running.listen()
        assert summary._superset_where().startswith(f"Superset http://127.0.0.1:{port}/")


@pytest.mark.integration
def test_history_section_on_a_warehouse_without_marts(stack, monkeypatch) -> None:
    """(issue 23) make demo's summary says what stays whole and what is folded."""
    for name, value in stack.environ().items():
        monkeypatch.setenv(name, value)
    text = summary._history(Settings.from_env())  # set up, no marts built yet
    assert "变更历史" in text and "nothing processed yet" in text
