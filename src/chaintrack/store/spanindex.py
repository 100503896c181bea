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

from sqlalchemy import Connection, Table, and_, case, func, null

from chaintrack.store import rollups, searchtext
from chaintrack.store.records import SPAN, EventRow
from chaintrack.store.schema import spans, task_stats
from chaintrack.store.views import LLM_SPAN_KINDS

#: Spans per INSERT statement (18 bound values each; SQLite allows 32,766 per statement).
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
    found = _row_and_payload(event)
    return None if found is None else found[0]


def _row_and_payload(event: EventRow) -> tuple[dict[str, Any], dict[str, Any]] | None:
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
    row = {
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
        "thread_id": _text(payload.get("thread_id"), 256),
        "trace_id": _text(payload.get("trace_id"), 64),
        "cost_usd": _number(payload.get("cost_usd")),
        "writer": writer,
        "seq": seq,
    }
    return row, payload


def _add(totals: dict[str, dict[str, Any]], row: dict[str, Any]) -> None:
    stats = totals.setdefault(row["task_id"], {**dict.fromkeys(STAT_COLUMNS, 0), "cost_usd": None})
    stats["spans"] += 1
    if row["status"] == "error":
        stats["errors"] += 1
    if row["kind"] in LLM_SPAN_KINDS:
        # Tokens are counted on model calls only: a chain's span may repeat its calls' usage.
        stats["llm_calls"] += 1
        for column in ("prompt_tokens", "completion_tokens", "total_tokens"):
            stats[column] += row[column] or 0
    if row.get("cost_usd") is not None:
        stats["cost_usd"] = (stats["cost_usd"] or 0.0) + row["cost_usd"]


def index_spans(
    conn: Connection,
    insert: Callable[[Any], Any],
    events: Iterable[EventRow],
    tables: tuple[Table, Table] = (spans, task_stats),
) -> None:
    """Record the structure of the span events among ``events`` and add new spans to their
    tasks' totals (``insert`` is the dialect's INSERT with ON CONFLICT support).

    ``tables`` are the ``spans`` and ``task_stats`` tables as the database has them: a
    migration's backfill passes them as reflected at its revision, so that columns added by
    later revisions are left out.
    """
    span_table, stats_table = tables
    span_columns = set(span_table.c.keys())
    # The search index and the dashboards' totals exist at the head revision only (a migration's
    # backfill at an older revision passes the tables as they were then).
    head = tables == (spans, task_stats)
    found = [f for e in events if e[3] == SPAN and (f := _row_and_payload(e)) is not None]
    if not found:
        return
    rows = [{k: val for k, val in row.items() if k in span_columns} for row, _ in found]
    payloads: dict[tuple[str, str], dict[str, Any]] = {}
    for row, payload in found if head else ():
        payloads.setdefault((row["task_id"], row["span_id"]), payload)
    # One row per span, the first of the batch (as the database would keep it), in key order:
    # concurrent writers then take their row locks in one order and cannot deadlock.
    first: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        first.setdefault((row["task_id"], row["span_id"]), row)
    ordered = [first[key] for key in sorted(first)]
    # RETURNING names the spans this statement stored: those not stored before count.
    new_span = (
        insert(span_table)
        .on_conflict_do_nothing()
        .returning(span_table.c.task_id, span_table.c.span_id)
    )
    totals: dict[str, dict[str, Any]] = {}
    stored: list[dict[str, Any]] = []
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        for task_id, span_id in conn.execute(new_span.values(chunk)).all():
            _add(totals, first[(task_id, span_id)])
            stored.append(first[(task_id, span_id)])
    if not totals:
        return
    if head:
        searchtext.insert_rows(conn, [
            searchtext.text_row(r["task_id"], r["span_id"], r["name"],
                                payloads[r["task_id"], r["span_id"]])
            for r in stored
        ])  # fmt: skip
        rollups.add_rows(conn, insert, stored)
    stmt = insert(stats_table)
    c, new = stats_table.c, stmt.excluded
    updates: dict[str, Any] = {column: c[column] + new[column] for column in STAT_COLUMNS}
    stat_columns = set(c.keys())
    if "cost_usd" in stat_columns:
        # NULL (no priced call yet) plus NULL stays NULL: an unknown cost is never $0.
        updates["cost_usd"] = case(
            (and_(c.cost_usd.is_(None), new.cost_usd.is_(None)), null()),
            else_=func.coalesce(c.cost_usd, 0.0) + func.coalesce(new.cost_usd, 0.0),
        )
    stmt = stmt.on_conflict_do_update(index_elements=["task_id"], set_=updates)
    conn.execute(
        stmt,
        [
            {k: val for k, val in {"task_id": task_id, **totals[task_id]}.items()
             if k in stat_columns}
            for task_id in sorted(totals)
        ],
    )  # fmt: skip
