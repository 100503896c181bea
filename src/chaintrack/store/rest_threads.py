"""The HTTP store's threads reads (``/api/v1/tasks/{id}/threads``, ``/api/v1/projects/{name}/
threads`` and their ``/turns``): the server's SQL store does the work (``store/threads.py``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from chaintrack.store.threads import (
    ThreadPage,
    TurnPage,
    check_page,
    check_scope,
    page_from_dict,
    turns_from_dict,
)


class RestThreadsMixin:
    """Threads for :class:`~chaintrack.store.rest.RestStore`."""

    def _get(self, path: str, **params: Any) -> Any:  # provided by RestStore
        raise NotImplementedError

    @staticmethod
    def _threads_path(task_id: str | None, project: str | None) -> str:
        check_scope(task_id, project)
        if task_id is not None:
            return f"/tasks/{quote(task_id, safe='')}/threads"
        return f"/projects/{quote(str(project), safe='/')}/threads"

    def thread_page(
        self, task_id: str | None = None, project: str | None = None, offset: int = 0,
        limit: int = 50,
    ) -> ThreadPage:  # fmt: skip
        check_page(offset, limit)
        path = self._threads_path(task_id, project)
        return page_from_dict(self._get(path, offset=offset, limit=limit))

    def thread_turns(
        self, thread_id: str, task_id: str | None = None, project: str | None = None,
        offset: int = 0, limit: int = 100,
    ) -> TurnPage:  # fmt: skip
        check_page(offset, limit)
        path = self._threads_path(task_id, project) + "/turns"
        return turns_from_dict(self._get(path, thread_id=thread_id, offset=offset, limit=limit))

    def trace_position(self, task_id: str, span_id: str) -> int | None:
        found = self._get(f"/tasks/{quote(task_id, safe='')}/trace-position", span_id=span_id)
        return found.get("position") if isinstance(found, dict) else None
