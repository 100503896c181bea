"""Span search over a SQL store: a page of the spans matching a query, newest first by default.

One query on ``spans`` JOIN ``tasks`` finds the page (served by the indexes of revision 0007);
a second reads the page's payloads by primary key for their input, output and error. The cost
depends on the page, not on the number of spans (``benchmarks/bench_search.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, select, tuple_

from chaintrack.errors import invalid
from chaintrack.query.compiler import Context, compile_query
from chaintrack.query.parser import parse
from chaintrack.store.schema import events, spans, tasks

#: Largest page (the SDK's search_spans pages through more).
MAX_PAGE = 1_000
SORTS = ("start_time", "end_time", "latency_ms", "prompt_tokens", "completion_tokens",
         "total_tokens", "cost_usd")  # fmt: skip
#: The columns of a result, in order (the DataFrame's, the CSV's, the API's).
RESULT_COLUMNS = (
    "task_id", "span_id", "parent_id", "trace_id", "thread_id", "project", "task", "kind",
    "name", "status", "model", "start_time", "end_time", "latency_ms", "prompt_tokens",
    "completion_tokens", "total_tokens", "cost_usd", "input", "output", "error",
)  # fmt: skip
_SELECTED = (
    spans.c.task_id, spans.c.span_id, spans.c.parent_id, spans.c.trace_id, spans.c.thread_id,
    tasks.c.project, tasks.c.name.label("task"), spans.c.kind, spans.c.name, spans.c.status,
    spans.c.model_name.label("model"), spans.c.start_time, spans.c.end_time, spans.c.latency_ms,
    spans.c.prompt_tokens, spans.c.completion_tokens, spans.c.total_tokens, spans.c.cost_usd,
    spans.c.writer, spans.c.seq,
)  # fmt: skip


@dataclass
class SpanPage:
    """A page of search results; ``has_more`` says whether a next page exists."""

    query: str
    offset: int
    limit: int
    sort: str
    rows: list[dict[str, Any]]
    has_more: bool


def condition(conn: Connection, query: str, project: str | None = None) -> ColumnElement[bool]:
    """The WHERE condition of ``query`` (raises QueryError for a bad one)."""
    node = parse(query)
    context = Context(dialect=conn.dialect.name)
    where = compile_query(query, node, context)
    if project:
        where = (tasks.c.project == project) & where
    return where


def _order(sort: str) -> list[Any]:
    name = sort.removeprefix("-")
    if name not in SORTS:
        allowed = ", ".join(SORTS)
        raise invalid("sort", sort, f"sort by one of {allowed}, with - for descending "
                      "(default -start_time)")  # fmt: skip
    column = spans.c[name]
    first = column.desc().nulls_last() if sort.startswith("-") else column.asc().nulls_last()
    if name == "start_time":
        first = column.desc() if sort.startswith("-") else column.asc()
    return [first, spans.c.task_id, spans.c.span_id]


def statement(where: ColumnElement[bool], sort: str = "-start_time") -> Select[Any]:
    return (
        select(*_SELECTED)
        .select_from(spans.join(tasks, tasks.c.id == spans.c.task_id))
        .where(where)
        .order_by(*_order(sort))
    )


def _texts(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Add each row's input, output and error from its payload (read by primary key)."""
    if not rows:
        return
    keys = [(r["task_id"], "span", r["writer"], r["seq"]) for r in rows]
    stmt = select(events.c.task_id, events.c.writer, events.c.seq, events.c.data).where(
        tuple_(events.c.task_id, events.c.kind, events.c.writer, events.c.seq).in_(keys)
    )
    found = {(t, w, s): d for t, w, s, d in conn.execute(stmt)}
    for row in rows:
        data = found.get((row["task_id"], row["writer"], row["seq"]))
        try:
            payload = json.loads(data) if data else {}
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        for key in ("input", "output", "error"):
            value = payload.get(key)
            row[key] = value if value is None or isinstance(value, str) else json.dumps(value)


def finish_rows(conn: Connection, raw: list[Any]) -> list[dict[str, Any]]:
    rows = [dict(r._mapping) for r in raw]
    _texts(conn, rows)
    return [{c: r.get(c) for c in RESULT_COLUMNS} for r in rows]


def search_page(
    conn: Connection,
    query: str,
    *,
    project: str | None = None,
    offset: int = 0,
    limit: int = 50,
    sort: str = "-start_time",
) -> SpanPage:
    """Spans ``offset`` to ``offset + limit`` of those matching ``query``."""
    if not 1 <= limit <= MAX_PAGE:
        raise invalid("limit", limit, f"a page holds 1 to {MAX_PAGE} spans")
    if offset < 0:
        raise invalid("offset", offset, "an offset is 0 or more")
    stmt = statement(condition(conn, query, project), sort).offset(offset).limit(limit + 1)
    raw = conn.execute(stmt).all()
    return SpanPage(query, offset, limit, sort, finish_rows(conn, list(raw[:limit])),
                    len(raw) > limit)  # fmt: skip


def iter_matching(
    conn: Connection, query: str, project: str | None = None, chunk: int = 5_000
) -> Iterator[list[dict[str, Any]]]:
    """Every span matching ``query``, in chunks, oldest first, streamed from the database."""
    stmt = statement(condition(conn, query, project), "start_time")
    result = conn.execute(stmt, execution_options={"stream_results": True, "yield_per": chunk})
    for part in result.partitions(chunk):
        yield finish_rows(conn, list(part))
