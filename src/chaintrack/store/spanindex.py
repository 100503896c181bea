"""Keeping the ``spans`` and ``task_stats`` tables in step with the span events a store writes.

A span event's payload (see ``chaintrack/langchain/spans.py``) is JSON text; the store reads its
structure once, when it writes the event, so that the tasks table and the trace view never parse
payloads. Only spans not stored before count towards a task's totals: replaying a batch after a
retry or a crash leaves the totals as they were.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection

from chaintrack.store.records import SPAN, EventRow
from chaintrack.store.schema import spans, task_stats
from chaintrack.store.views import LLM_SPAN_KINDS

#: Spans per INSERT statement (15 bound values each; SQLite allows 32,766 per statement).
_CHUNK = 1_000

STAT_COLUMNS = (
    "spans",
    "llm_calls",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "errors",
)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _count(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def _text(value: Any, limit: int) -> str | None:
    return None if value is None else str(value)[:limit]


def span_row(event: EventRow) -> dict[str, Any] | None:
    """The ``spans`` row of a span event, or None when its payload has no span id."""
    task_id, writer, seq, _kind, ts = event[0], event[1], event[2], event[3], event[4]
    raw = event[11]
    try:
        payload = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None
    if not isinstance(payload, dict) or not payload.get("span_id"):
        return None
    end = _number(payload.get("end_time"))
    end = ts if end is None else end
    start = _number(payload.get("start_time"))
    prompt = _count(payload.get("prompt_tokens"))
    completion = _count(payload.get("completion_tokens"))
    total = _count(payload.get("total_tokens"))
    if total is None and (prompt is not None or completion is not None):
        total = (prompt or 0) + (completion or 0)
    error = payload.get("error")
    status = str(payload.get("status") or ("error" if error else "ok"))[:16]
    return {
        "task_id": task_id,
        "span_id": str(payload["span_id"])[:64],
        "parent_id": _text(payload.get("parent_id"), 64),
        "kind": str(payload.get("kind") or "span")[:32],
        "name": str(payload.get("name") or ""),
        "status": status,
        "start_time": end if start is None else start,
        "end_time": end,
        "latency_ms": _number(payload.get("latency_ms")),
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total,
        "model_name": _text(payload.get("model_name"), 256),
        "writer": writer,
        "seq": seq,
    }


def _add(totals: dict[str, dict[str, int]], row: dict[str, Any]) -> None:
    stats = totals.setdefault(row["task_id"], dict.fromkeys(STAT_COLUMNS, 0))
    stats["spans"] += 1
    if row["status"] == "error":
        stats["errors"] += 1
    if row["kind"] in LLM_SPAN_KINDS:
        # Tokens are counted on model calls only: a chain's span may repeat its calls' usage.
        stats["llm_calls"] += 1
        for column in ("prompt_tokens", "completion_tokens", "total_tokens"):
            stats[column] += row[column] or 0


def index_spans(conn: Connection, insert: Callable[[Any], Any], events: Iterable[EventRow]) -> None:
    """Record the structure of the span events among ``events`` and add new spans to their
    tasks' totals (``insert`` is the dialect's INSERT with ON CONFLICT support)."""
    rows = [row for e in events if e[3] == SPAN and (row := span_row(e)) is not None]
    if not rows:
        return
    # One row per span, the first of the batch (as the database would keep it), in key order:
    # concurrent writers then take their row locks in one order and cannot deadlock.
    first: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        first.setdefault((row["task_id"], row["span_id"]), row)
    ordered = [first[key] for key in sorted(first)]
    # RETURNING names the spans this statement stored: those not stored before count.
    new_span = insert(spans).on_conflict_do_nothing().returning(spans.c.task_id, spans.c.span_id)
    totals: dict[str, dict[str, int]] = {}
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        for task_id, span_id in conn.execute(new_span.values(chunk)).all():
            _add(totals, first[(task_id, span_id)])
    if not totals:
        return
    stmt = insert(task_stats)
    stmt = stmt.on_conflict_do_update(
        index_elements=["task_id"],
        set_={c: task_stats.c[c] + stmt.excluded[c] for c in STAT_COLUMNS},
    )
    conn.execute(stmt, [{"task_id": task_id, **totals[task_id]} for task_id in sorted(totals)])
