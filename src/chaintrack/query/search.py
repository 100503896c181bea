"""Span search over a SQL store: a page of the spans matching a query, newest first by default.

One query on ``spans`` JOIN ``tasks`` finds the page (served by the indexes of revision 0007);
a second reads the page's payloads by primary key for their input, output and error. The cost
depends on the page, not on the number of spans (``benchmarks/bench_search.py``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, Select, and_, func, literal_column, or_, select

from chaintrack.errors import invalid
from chaintrack.query.compiler import MIN_TRIGRAM, Compiler, Context, compile_query, fts_phrase
from chaintrack.query.fields import FULL_TEXT
from chaintrack.query.nodes import And, Condition, Node, Not, Or
from chaintrack.query.parser import parse
from chaintrack.store.schema import events, spans, tasks
from chaintrack.store.searchtext import span_text

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


def condition(
    conn: Connection,
    query: str,
    project: str | None = None,
    probes: frozenset[tuple[str, str]] = frozenset(),
) -> ColumnElement[bool]:
    """The WHERE condition of ``query`` (raises QueryError for a bad one); ``probes``: the
    text conditions to test span by span (``_broad``)."""
    node = parse(query)
    context = Context(dialect=conn.dialect.name, probes=probes)
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
    # An outer join keeps the spans the outer loop: with an inner join and bound values SQLite
    # reads every task's spans through the task index and sorts them (2 s among a million
    # spans for ``latency_ms > 9990``). A span's task is always stored, so the rows are the
    # same; conditions on the task's fields still narrow them.
    return (
        select(*_SELECTED)
        .select_from(spans.outerjoin(tasks, tasks.c.id == spans.c.task_id))
        .where(where)
        .order_by(*_order(sort))
    )


def _texts(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Add each row's input, output and error from its payload (read by primary key)."""
    if not rows:
        return
    # One IN list of sequence numbers per (task, writer): SQLite answers a row-value IN list
    # by scanning every event (2.3 s for a page among a million spans), this from the key.
    groups: dict[tuple[str, int], list[int]] = {}
    for r in rows:
        groups.setdefault((r["task_id"], r["writer"]), []).append(r["seq"])
    found: dict[tuple[str, int, int], str | None] = {}
    items = sorted(groups.items())
    for start in range(0, len(items), 50):  # a bounded number of terms per statement
        stmt = select(events.c.task_id, events.c.writer, events.c.seq, events.c.data).where(
            or_(*(and_(events.c.task_id == task_id, events.c.kind == "span",
                       events.c.writer == writer, events.c.seq.in_(seqs))
                  for (task_id, writer), seqs in items[start : start + 50]))
        )  # fmt: skip
        found.update({(t, w, s): d for t, w, s, d in conn.execute(stmt)})
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
    node = parse(query)
    probes: frozenset[tuple[str, str]] = frozenset()
    if _has_text(node):
        ensure_indexed(conn)
        probes = _broad(conn, node) if sort == "-start_time" else frozenset()
    where = condition(conn, query, project)
    raw = None
    if _text_free(node) or probes:
        raw = _recent_first(conn, condition(conn, query, project, probes), sort, offset, limit)
    if raw is None:
        stmt = statement(where, sort).offset(offset).limit(limit + 1)
        raw = list(conn.execute(stmt).all())
    return SpanPage(query, offset, limit, sort, finish_rows(conn, list(raw[:limit])),
                    len(raw) > limit)  # fmt: skip


#: Newest spans a first page is looked for among before the whole store (SQLite).
RECENT = 50_000


#: A text condition whose needle the index finds in ``sqrt(WALK_RATIO * spans)`` spans or more
#: (and at least ``BROAD``) is tested span by span (SQLite), newest first; one with fewer is
#: answered from the index's set of matches. The walk tests about ``page * spans / matches``
#: spans at ~150 µs each (FTS5 seeks each trigram of the needle), the set costs ~8 µs a match:
#: the walk is cheaper past ``sqrt(page * 150 / 8 * spans)`` matches (31,000 of 1,000,000).
BROAD = 5_000
WALK_RATIO = 1_000


def ensure_indexed(conn: Connection) -> None:
    """Index the spans' text still pending (``store/textindex.py``) before a text search reads
    the index, in transactions of their own: the search then finds every span stored before it
    began. Call it before ``conn`` reads anything (a transaction begun earlier would not see
    the rows indexed)."""
    from chaintrack.store import textindex

    textindex.catch_up(conn.engine)  # the totals too


def _conditions(node: Node | None) -> Iterator[Condition]:
    if isinstance(node, (And, Or)):
        for item in node.items:
            yield from _conditions(item)
    elif isinstance(node, Not):
        yield from _conditions(node.item)
    elif isinstance(node, Condition):
        yield node


def _has_text(node: Node | None) -> bool:
    return any(cond.field in FULL_TEXT for cond in _conditions(node))


def _broad(conn: Connection, node: Node | None) -> frozenset[tuple[str, str]]:
    """The text conditions (field, needle) of ``node`` that the SQLite index matches in many
    spans (see ``WALK_RATIO``; counted up to that many).

    ``output ~ "the"`` (in every span) answered from the index's matches reads a million of
    them and sorts them by time before the newest 50 are known (2.2 s). Tested span by span
    while walking the time index from the newest span, it stops after the page's matches; a
    rare needle is still answered from its few matches (testing every span would walk them
    all)."""
    if conn.dialect.name != "sqlite":
        return frozenset()
    # The highest rowid: about the number of spans, read from the end of the table.
    highest = conn.execute(select(func.max(literal_column("rowid"))).select_from(spans)).scalar()
    threshold = max(BROAD, math.isqrt(WALK_RATIO * int(highest or 0)))
    found: set[tuple[str, str]] = set()
    for cond in _conditions(node):
        if cond.field not in FULL_TEXT or cond.op not in ("~", "=") or len(cond.values) != 1:
            continue
        value = cond.values[0]
        needle = Compiler(query="", context=Context(conn.dialect.name)).text(cond, value)
        if len(needle) < MIN_TRIGRAM or (cond.field, needle) in found:
            continue
        matches: Select[Any] = select(literal_column("1")).select_from(span_text).where(
            literal_column("span_text").op("MATCH")(fts_phrase(cond.field, needle))
        ).limit(threshold)  # fmt: skip
        count = conn.execute(select(func.count()).select_from(matches.subquery())).scalar()
        if (count or 0) >= threshold:
            found.add((cond.field, needle))
    return frozenset(found)


def _text_free(node: Node | None) -> bool:
    if node is None:
        return False
    if isinstance(node, (And, Or)):
        return all(_text_free(item) for item in node.items)
    if isinstance(node, Not):
        return _text_free(node.item)
    return node.field not in FULL_TEXT


def _recent_first(
    conn: Connection, where: ColumnElement[bool], sort: str, offset: int, limit: int
) -> list[Any] | None:
    """The page, newest first, when the ``RECENT`` newest spans hold it; None otherwise.

    SQLite plans ``latency_ms > 9000 ORDER BY start_time DESC LIMIT 50`` from the latency
    index: every match is read and sorted (2.8 s among a million spans, 1.5% matching). Walking
    the time index from the newest span instead stops after the page's matches. Among the
    newest spans (from a cutoff time read off the time index) that walk has a bounded cost;
    when they hold a full page, it is the page (every other match is older), and otherwise
    the planner's own plan answers. Text conditions take this walk when they are broad (see
    ``_broad``); others are left to the full-text index's matches.
    """
    if conn.dialect.name != "sqlite" or sort != "-start_time":
        return None
    cutoff = conn.execute(
        select(spans.c.start_time).order_by(spans.c.start_time.desc()).offset(RECENT).limit(1)
    ).scalar()
    if cutoff is None:
        return None
    stmt = (statement(and_(where, spans.c.start_time >= cutoff), sort)
            .with_hint(spans, "INDEXED BY ix_spans_time", "sqlite")
            .offset(offset).limit(limit + 1))  # fmt: skip
    raw = list(conn.execute(stmt).all())
    return raw if len(raw) > limit else None


#: The span's own event, for its input, output and error (an alias: a condition on
#: ``attr.<key>`` reads ``events`` in a subquery of its own).
_PAYLOAD = events.alias("payload")
#: The result columns read from ``spans`` and ``tasks`` (``_SELECTED`` without writer, seq).
_BASE = [c for c in RESULT_COLUMNS if c not in ("input", "output", "error")]


def _texts_of(data: str | None) -> tuple[Any, Any, Any]:
    """(input, output, error) of a span's payload; JSON values other than text as JSON."""
    try:
        payload = orjson.loads(data) if data else {}
    except ValueError:
        try:  # what orjson refuses and the standard library reads (NaN, big integers)
            payload = json.loads(data or "{}")
        except ValueError:
            payload = {}
    if not isinstance(payload, dict):
        payload = {}
    values = (payload.get("input"), payload.get("output"), payload.get("error"))
    return tuple(v if v is None or isinstance(v, str) else json.dumps(v) for v in values)  # type: ignore[return-value]


def iter_matching(
    conn: Connection, query: str, project: str | None = None, chunk: int = 5_000
) -> Iterator[list[dict[str, Any]]]:
    """Every span matching ``query``, in chunks, task by task and oldest first in each task,
    streamed from the database: one statement reads each span with its task and its payload.
    That order is the task index's (``ix_spans_start``), so no sort holds the rows back (in
    time order across tasks, SQLite sorted a million rows with their payloads first)."""
    if _has_text(parse(query)):
        ensure_indexed(conn)
    p = _PAYLOAD
    source = spans.outerjoin(tasks, tasks.c.id == spans.c.task_id).outerjoin(
        p, and_(p.c.task_id == spans.c.task_id, p.c.kind == "span",
                p.c.writer == spans.c.writer, p.c.seq == spans.c.seq))  # fmt: skip
    stmt = (select(*_SELECTED[: len(_BASE)], p.c.data).select_from(source)
            .where(condition(conn, query, project))
            .order_by(spans.c.task_id, spans.c.start_time, spans.c.span_id))  # fmt: skip
    result = conn.execute(stmt, execution_options={"stream_results": True, "yield_per": chunk})
    width = len(_BASE)
    for part in result.partitions(chunk):
        out = []
        for row in part:
            found = dict(zip(_BASE, row[:width], strict=True))
            found["input"], found["output"], found["error"] = _texts_of(row[width])
            out.append(found)
        yield out
