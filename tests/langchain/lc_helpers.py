"""Helpers of the LangChain handler's tests."""

from __future__ import annotations

from typing import Any

from chaintrack.langchain import ClearMLCallbackHandler
from chaintrack.sdk.task import Task


def stored(handler: ClearMLCallbackHandler) -> Task:
    """The handler's task as read back from the store (after everything queued is written)."""
    handler.task.flush(wait_for_uploads=True)
    return Task.get_task(task_id=handler.task.id)


def table(handler: ClearMLCallbackHandler, title: str, series: str) -> Any:
    return stored(handler).get_reported_tables()[title][series]


def actions(records: list[dict[str, Any]]) -> list[str]:
    return [r["action"] for r in records]
