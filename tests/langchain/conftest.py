"""Fixtures of the LangChain handler's tests: strict mode, and reading a handler's task back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chaintrack.langchain import ClearMLCallbackHandler


@pytest.fixture(autouse=True)
def strict(monkeypatch: pytest.MonkeyPatch) -> None:
    """Internal errors of the handler raise in these tests (CHAINTRACK_STRICT=1)."""
    monkeypatch.setenv("CHAINTRACK_STRICT", "1")


@pytest.fixture
def handler() -> Iterator[ClearMLCallbackHandler]:
    """A handler with the original's defaults (no metrics, no pictures, no stream_logs)."""
    yield ClearMLCallbackHandler(task_name="test")
