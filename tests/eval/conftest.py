"""Fixtures of the evaluation tests: the store backend each test runs on (the embedded SQLite
store, a PostgreSQL database, a tracking server over HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eval_helpers import LiveServer

from fresh import release_stores


@pytest.fixture(params=["sqlite", "postgresql", "http"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Runs the test on each backend: CHAINTRACK_TRACKING_URI names it (the embedded store
    under the test's CHAINTRACK_HOME for sqlite)."""
    server = None
    if request.param == "postgresql":
        uri = request.getfixturevalue("postgres_uri")
        monkeypatch.setenv("CHAINTRACK_TRACKING_URI", uri)
    elif request.param == "http":
        server = LiveServer(tmp_path)
        monkeypatch.setenv("CHAINTRACK_TRACKING_URI", server.url)
    yield request.param
    if server is not None:
        release_stores()  # before the server goes: what the test reported reaches it
        server.stop()
