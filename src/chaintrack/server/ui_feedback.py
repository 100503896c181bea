"""The web UI's feedback form: a score, a thumbs up/down or a label with a comment, on a span
of the trace view (or an example of an experiment). POSTed with a CSRF token (``forms.py``);
stored through the same validation as the SDK and the REST API, then back to the page."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from chaintrack.errors import InvalidArgumentError
from chaintrack.server import ui
from chaintrack.server.forms import cross_site_problem, csrf_token
from chaintrack.store.base import Store
from chaintrack.store.feedback import FeedbackRecord, make_feedback

router = APIRouter(include_in_schema=False)


def by_span(store: Store, task_id: str) -> dict[str, list[FeedbackRecord]]:
    """The task's feedback grouped by span id (for the trace view)."""
    found: dict[str, list[FeedbackRecord]] = defaultdict(list)
    for record in store.get_feedback([task_id]):
        if record.span_id:
            found[record.span_id].append(record)
    return dict(found)


def trace_context(request: Request, store: Store, task_id: str) -> dict[str, Any]:
    """What the trace tab's feedback forms need."""
    return {"feedback": by_span(store, task_id), "csrf": csrf_token(request)}


def _value(form: dict[str, str]) -> Any:
    thumb = form.get("thumb", "")
    if thumb in ("up", "down"):
        return thumb == "up"
    score = form.get("score", "").strip()
    if score:
        try:
            number = float(score)
        except ValueError:
            raise InvalidArgumentError(f"score={score!r} is not a number") from None
        if not math.isfinite(number):
            raise InvalidArgumentError(f"score={score!r} is not valid: give a finite number")
        return number
    label = form.get("label", "").strip()
    if label:
        return label
    raise InvalidArgumentError(
        "the feedback has no value: press thumbs up or down, or give a score or a label"
    )


@router.post("/tasks/{task_id}/feedback")
async def give_feedback(request: Request, task_id: str) -> Response:
    parsed = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    form = {k: v[0] for k, v in parsed.items()}
    problem = cross_site_problem(request, form.get("csrf", ""))
    if problem is not None:
        return ui.error_page(request, 403, problem)
    record = make_feedback(
        task_id, form.get("name", ""), _value(form), span_id=form.get("span_id") or None,
        example_id=form.get("example_id") or None, comment=form.get("comment") or None,
        author=form.get("author") or None, source="ui",
    )  # fmt: skip
    store: Store = request.app.state.store
    await run_in_threadpool(store.add_feedback, record)
    target = ui._next(form.get("next") or f"/tasks/{task_id}?tab=trace")
    anchor = f"#span-{record.span_id}" if record.span_id else ""
    return RedirectResponse(target + anchor, status_code=303)
