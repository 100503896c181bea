"""Helpers of the server tests: an in-process client and tasks written straight to a store."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from chaintrack.store.base import Store
from chaintrack.store.records import SPAN, TaskRecord, WriteBatch


class Api:
    """A synchronous face for ``httpx.AsyncClient`` over ``httpx.ASGITransport`` (one event loop
    for the whole test, so the ingest queue's futures resolve on it)."""

    def __init__(self, app: Any, **client: Any) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        transport = httpx.ASGITransport(app=app)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://testserver", **client)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()
        self.app.state.ingest.close()


def span(
    span_id: str,
    parent: str | None,
    kind: str,
    start: float,
    end: float,
    **fields: Any,
) -> dict[str, Any]:
    """A span payload as the LangChain handler stores it (see task.get_spans())."""
    payload: dict[str, Any] = {
        "span_id": span_id,
        "parent_id": parent,
        "kind": kind,
        "name": f"{kind} {span_id}",
        "start_time": start,
        "end_time": end,
        "latency_ms": round((end - start) * 1000, 3),
        "status": "ok",
        "error": None,
        "input": f"input of {span_id}",
        "output": f"output of {span_id}",
        "prompt_tokens": None,
        "completion_tokens": None,
        "total_tokens": None,
        "model_name": None,
    }
    payload.update(fields)
    return payload


def write_task(
    store: Store,
    task_id: str,
    *,
    project: str = "proj",
    name: str = "task",
    status: str = "completed",
    tags: list[str] | None = None,
    created: float = 1_000.0,
    spans: list[dict[str, Any]] | None = None,
    writer: int = 7,
) -> TaskRecord:
    """A task written straight to the store, with span events (sequence numbers from 1)."""
    record = TaskRecord(
        id=task_id,
        project=project,
        name=name,
        type="inference",
        status=status,
        created=created,
        last_update=created + 5,
        started=created,
        completed=created + 5,
        tags=tags or [],
    )
    events = [
        (
            task_id,
            writer,
            seq,
            SPAN,
            s["end_time"],
            None,
            None,
            None,
            None,
            None,
            None,
            json.dumps(s),
        )
        for seq, s in enumerate(spans or [], start=1)
    ]
    store.write(WriteBatch(new_tasks=[record], events=events))  # type: ignore[arg-type]
    return record
