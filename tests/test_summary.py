"""make demo's summary names where each user finds what the run produced."""

from __future__ import annotations

import socket

import pytest

from safetynet_dev import summary

pytestmark = pytest.mark.unit


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
