"""REST routes for threads (conversations) and their turns (under ``/api/v1``, behind the token).

- ``GET /tasks/{id}/threads?offset&limit``: the task's threads, the most recently active first.
- ``GET /tasks/{id}/threads/turns?thread_id=…&offset&limit``: one thread's turns, in order.
- ``GET /projects/{name}/threads`` and ``GET /projects/{name}/threads/turns?thread_id=…``: the
  same over every task of a project (a project name may contain ``/``).
- ``GET /tasks/{id}/trace-position?span_id=…``: how many root spans precede this one in the
  trace view (to open a turn's trace on its page).

The thread id travels as a query parameter: it is the application's text and may hold any
character. See ``store/threads.py`` for what a thread and a turn are.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from chaintrack.server.api import Limit, Offset, WireResponse
from chaintrack.store.base import Store
from chaintrack.store.threads import ThreadPage, TurnPage

router = APIRouter(prefix="/api/v1", tags=["threads"])
ThreadId = Annotated[str, Query(min_length=1, max_length=256)]


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


@router.get("/tasks/{task_id}/threads", response_model=ThreadPage)
def task_threads(request: Request, task_id: str, offset: Offset = 0, limit: Limit = 50) -> Response:
    """The task's threads with their turns' totals (404 for an unknown task)."""
    store = _store(request)
    store.get_task(task_id)
    return WireResponse(store.thread_page(task_id=task_id, offset=offset, limit=limit))


@router.get("/tasks/{task_id}/threads/turns", response_model=TurnPage)
def task_thread_turns(
    request: Request, task_id: str, thread_id: ThreadId, offset: Offset = 0, limit: Limit = 100
) -> Response:
    """One thread's turns in the task, in the order they started."""
    store = _store(request)
    store.get_task(task_id)
    found = store.thread_turns(thread_id, task_id=task_id, offset=offset, limit=limit)
    return WireResponse(found)


@router.get("/tasks/{task_id}/trace-position")
def trace_position(request: Request, task_id: str, span_id: ThreadId) -> Response:
    """``{"position": n}``: root spans before this one in the trace view (null: not a root)."""
    store = _store(request)
    store.get_task(task_id)
    return WireResponse({"position": store.trace_position(task_id, span_id)})


@router.get("/projects/{project:path}/threads/turns", response_model=TurnPage)
def project_thread_turns(
    request: Request, project: str, thread_id: ThreadId, offset: Offset = 0, limit: Limit = 100
) -> Response:
    """One thread's turns over the project's tasks, in the order they started."""
    found = _store(request).thread_turns(thread_id, project=project, offset=offset, limit=limit)
    return WireResponse(found)


@router.get("/projects/{project:path}/threads", response_model=ThreadPage)
def project_threads(
    request: Request, project: str, offset: Offset = 0, limit: Limit = 50
) -> Response:
    """The threads of the project's tasks (an unknown project has none)."""
    return WireResponse(_store(request).thread_page(project=project, offset=offset, limit=limit))
