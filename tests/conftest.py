"""Fixtures shared by every test: an isolated store per test, and a clean process state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chaintrack import store
from chaintrack.sdk import writer
from chaintrack.sdk.task import Task


@pytest.fixture(autouse=True)
def chaintrack_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own embedded store under a temporary CHAINTRACK_HOME."""
    home = tmp_path / "chaintrack-home"
    monkeypatch.setenv("CHAINTRACK_HOME", str(home))
    monkeypatch.delenv("CHAINTRACK_TRACKING_URI", raising=False)
    monkeypatch.delenv("CHAINTRACK_QUEUE_SIZE", raising=False)
    monkeypatch.delenv("CHAINTRACK_SPOOL_DIR", raising=False)
    monkeypatch.setenv("CHAINTRACK_AUTO_CONNECT_STREAMS", "0")
    yield home
    for task in Task.open_tasks():
        task.close()
    Task._current = None
    writer.drain_all(10)
    writer.forget_writers()
    store.close_all()
