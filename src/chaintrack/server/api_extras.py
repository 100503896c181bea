"""REST routes for human feedback and costs (under ``/api/v1``, behind the auth token).

- ``POST /tasks/{id}/feedback`` a JSON object ``{"name", "value", "span_id", "example_id",
  "comment", "author"}``: stored, then answered with the stored feedback (400 says what is wrong).
- ``GET /tasks/{id}/feedback``, ``GET /feedback?task=A&task=B``: feedback, oldest first.
- ``GET /tasks/{id}/trace-costs[?root=…]``: each trace's cost (USD, null: unknown) by root span.
- ``GET /tasks/{id}/span-costs``: each span's (cost, price source).
- ``POST /tasks/{id}/reprice``: price the task's model calls again with the server's table.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from chaintrack.errors import InvalidArgumentError
from chaintrack.server.api import WireResponse
from chaintrack.store.base import Store
from chaintrack.store.feedback import make_feedback

router = APIRouter(prefix="/api/v1")
Many = Annotated[list[str], Query()]


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


@router.post("/tasks/{task_id}/feedback", tags=["feedback"])
async def add_feedback(request: Request, task_id: str) -> Response:
    """Store one feedback on the task (a span, an example): a number, a bool or a label."""
    try:
        data: Any = json.loads(await request.body())
    except ValueError as exc:
        raise InvalidArgumentError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidArgumentError("the body must be a JSON object with name and value")
    source = "sdk" if data.get("source") == "sdk" else "api"
    record = make_feedback(
        task_id, data.get("name"), data.get("value"), span_id=data.get("span_id"),
        example_id=data.get("example_id"), comment=data.get("comment"),
        author=data.get("author"), source=source,
    )  # fmt: skip
    given = data.get("id")
    if isinstance(given, str) and given.isalnum() and len(given) <= 32:
        record = type(record)(**{**asdict(record), "id": given})
    from fastapi.concurrency import run_in_threadpool

    stored = await run_in_threadpool(_store(request).add_feedback, record)
    return WireResponse(stored.to_dict())


@router.get("/tasks/{task_id}/feedback", tags=["feedback"])
def task_feedback(request: Request, task_id: str) -> Response:
    """The task's feedback, oldest first (404 for an unknown task)."""
    store = _store(request)
    store.get_task(task_id)
    return WireResponse([f.to_dict() for f in store.get_feedback([task_id])])


@router.get("/feedback", tags=["feedback"])
def feedback_of_tasks(request: Request, task: Many) -> Response:
    """The feedback of several tasks (the experiment compare view), oldest first."""
    return WireResponse([f.to_dict() for f in _store(request).get_feedback(task)])


@router.get("/tasks/{task_id}/trace-costs", tags=["costs"])
def trace_costs(request: Request, task_id: str, root: Many = []) -> Response:  # noqa: B006
    """Each trace's cost in USD by root span id (null: no known price)."""
    store = _store(request)
    store.get_task(task_id)
    return WireResponse(store.trace_costs(task_id, root or None))


@router.get("/tasks/{task_id}/span-costs", tags=["costs"])
def span_costs(request: Request, task_id: str) -> Response:
    """Each span's [cost in USD, price source] by span id."""
    store = _store(request)
    store.get_task(task_id)
    return WireResponse({k: list(v) for k, v in store.span_costs(task_id).items()})


@router.post("/tasks/{task_id}/reprice", tags=["costs"])
def reprice(request: Request, task_id: str) -> Response:
    """Price the task's model calls again with the server's price table."""
    return WireResponse(asdict(_store(request).reprice_task(task_id)))
