"""The web UI's Threads views: a task's Threads tab, a project's threads page, and the link
from a turn to its trace.

- ``/tasks/{id}?tab=threads``: the task's threads (most recently active first); with
  ``&thread=ID`` one thread's turns in order, each with its latency, tokens, cost, status and
  a link to its trace.
- ``/threads?project=NAME`` (``&thread=ID``): the same over every task of a project.
- ``/tasks/{id}/traces/{span_id}``: redirects to the Trace tab's page that holds this root.

Thread ids, prompts and outputs are the application's text: the templates autoescape them and
links carry them through ``urlencode``.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from chaintrack.store.base import Store

router = APIRouter(include_in_schema=False)
THREADS_PAGE = 50
TURNS_PAGE = 100
#: Root spans per page of the Trace tab (as ``ui._trace`` shows them).
TRACE_PAGE = 20


def _page(request: Request) -> int:
    try:
        return max(1, int(request.query_params.get("page") or 1))
    except ValueError:
        return 1


def threads_context(
    request: Request, store: Store, task_id: str | None, project: str | None
) -> dict[str, Any]:
    """What ``_threads.html`` shows: a page of threads, or of one thread's turns."""
    page = _page(request)
    thread = request.query_params.get("thread") or None
    if thread is not None:
        turns = store.thread_turns(
            thread, task_id=task_id, project=project, offset=(page - 1) * TURNS_PAGE,
            limit=TURNS_PAGE,
        )  # fmt: skip
        pages = max(1, math.ceil(turns.total / TURNS_PAGE))
        return {"thread": thread, "turns": turns, "threads": None, "number": page,
                "pages": pages, "scope_project": project}  # fmt: skip
    threads = store.thread_page(
        task_id=task_id, project=project, offset=(page - 1) * THREADS_PAGE, limit=THREADS_PAGE
    )
    pages = max(1, math.ceil(threads.total / THREADS_PAGE))
    return {"thread": None, "turns": None, "threads": threads, "number": page, "pages": pages,
            "scope_project": project}  # fmt: skip


def threads_tab(request: Request, store: Store, task_id: str) -> dict[str, Any]:
    return threads_context(request, store, task_id, None)


@router.get("/threads")
def project_threads(request: Request, project: str) -> Response:
    from chaintrack.server.ui import render

    store: Store = request.app.state.store
    context = threads_context(request, store, None, project)
    return render(request, "project_threads.html", project=project, **context)


@router.get("/tasks/{task_id}/traces/{span_id}")
def open_trace(request: Request, task_id: str, span_id: str) -> Response:
    """The Trace tab's page with this root span on it, scrolled to it."""
    store: Store = request.app.state.store
    store.get_task(task_id)
    position = store.trace_position(task_id, span_id)
    page = (position // TRACE_PAGE) + 1 if position is not None else 1
    target = f"/tasks/{quote(task_id, safe='')}?{urlencode({'tab': 'trace', 'page': page})}"
    return RedirectResponse(f"{target}#span-{quote(span_id, safe='')}", status_code=303)
