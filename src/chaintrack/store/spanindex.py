"""Keeping the ``spans`` and ``task_stats`` tables in step with the span events a store writes.

A span event's payload (see ``chaintrack/langchain/spans.py``) is JSON text; the store reads its
structure once, when it writes the event, so that the tasks table and the trace view never parse
payloads. Only spans not stored before count towards a task's totals: replaying a batch after a
retry or a crash leaves the totals as they were.

A model call's cost is computed here when its payload carries none (from ``model_name`` and the
token counts, see ``text/prices.py``), so that every producer of spans (the LangChain handler,
OpenTelemetry, evaluation) gets costs from one place.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import (
    BigInteger,
    Connection,
    Float,
    Integer,
    Table,
    and_,
    case,
    func,
    null,
    text,
)

from chaintrack.store import pgspans, searchtext, sqlitebulk
from chaintrack.store.records import SPAN, EventRow
from chaintrack.store.schema import spans, task_stats
from chaintrack.store.views import LLM_SPAN_KINDS

if TYPE_CHECKING:
    from chaintrack.text.prices import PriceTable

#: The price source of a cost the producer put in the payload itself.
REPORTED = "reported"

STAT_COLUMNS = (
    "spans",
    "llm_calls",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "errors",
)


def _number(value: Any) -> float | None:
    if type(value) is float:  # the common case first
        return value if math.isfinite(value) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _count(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def _text(value: Any, limit: int) -> str | None:
    return None if value is None else str(value)[:limit]


def span_cost(
    payload: dict[str, Any], kind: str, start: float, prices: PriceTable | None
) -> tuple[float | None, str | None]:
    """(cost in USD, price source) of a span: the payload's own ``cost_usd`` when it has one,
    else a model call's tokens priced with ``prices``; (None, None) when unknown."""
    reported = _number(payload.get("cost_usd"))
    if reported is not None:
        return reported, _text(payload.get("price_source"), 128) or REPORTED
    if prices is None or kind not in LLM_SPAN_KINDS:
        return None, None
    from chaintrack.text.prices import usage_of

    model = payload.get("model_name")
    price = prices.price(str(model) if model else None, usage_of(payload), start)
    return (price.cost_usd, price.source[:128]) if price else (None, None)


def span_row(event: EventRow, prices: PriceTable | None = None) -> dict[str, Any] | None:
    """The ``spans`` row of a span event, or None when its payload has no span id. A model call
    without a ``cost_usd`` of its own is priced with ``prices`` (when given)."""
    found = _row_and_payload(event, prices)
    return None if found is None else found[0]


def _row_and_payload(
    event: EventRow, prices: PriceTable | None = None
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    task_id, writer, seq, _kind, ts = event[0], event[1], event[2], event[3], event[4]
    raw = event[11]
    if not isinstance(raw, str):
        return None
    try:
        payload = orjson.loads(raw)
    except ValueError:  # orjson.JSONDecodeError is a ValueError
        try:  # what orjson refuses and the standard library reads (NaN literals, big ints)
            payload = json.loads(raw)
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
    kind = str(payload.get("kind") or "span")[:32]
    cost, price_source = span_cost(payload, kind, end if start is None else start, prices)
    row = {
        "task_id": task_id,
        "span_id": str(payload["span_id"])[:64],
        "parent_id": _text(payload.get("parent_id"), 64),
        "kind": kind,
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
        "cost_usd": cost,
        "price_source": price_source,
        "writer": writer,
        "seq": seq,
    }
    return row, payload


def _add(totals: dict[str, dict[str, Any]], row: dict[str, Any]) -> None:
    stats = totals.setdefault(
        row["task_id"], {**dict.fromkeys(STAT_COLUMNS, 0), "cost_usd": None, "price_source": None}
    )
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
        stats["price_source"] = row.get("price_source") or stats["price_source"]


#: Span ids per "which of these are stored already" query on SQLite.
_LOOKUP_CHUNK = 500


def _store_new(
    conn: Connection, insert: Callable[[Any], Any], table: Table, rows: list[dict[str, Any]]
) -> list[tuple[str, str]]:
    """Insert ``rows`` (one per span, in key order), skipping spans stored before; the keys
    of the rows this call stored."""
    if conn.dialect.name == "postgresql" and pgspans.fits(rows[0]):
        # Binary COPY into a staging table, then one INSERT … SELECT … RETURNING (pgspans.py).
        return pgspans.store_spans(conn, rows)
    if conn.dialect.name == "postgresql":  # a backfill at an older revision
        # RETURNING names the spans this statement stored: concurrent writers cannot count one
        # span twice. One statement with one array per column: psycopg parses the text of every
        # statement in Python, and a VALUES list of 18 placeholders a row cost more than the
        # insert (a statement built with ``.values(rows)`` was also compiled anew each batch).
        return _insert_unnest(conn, table, rows)
    if conn.dialect.name != "sqlite":
        stmt = insert(table).on_conflict_do_nothing().returning(table.c.task_id, table.c.span_id)
        return [(t, s) for t, s in conn.execute(stmt, rows).all()]
    # SQLite: this transaction holds the database's only write lock (BEGIN IMMEDIATE), so the
    # spans not stored yet can be looked up first, then inserted with the driver's executemany
    # (a fifth of the CPU of the generic path, which builds every row's parameters in Python).
    stored: set[tuple[str, str]] = set()
    by_task: dict[str, list[str]] = {}
    for row in rows:
        by_task.setdefault(row["task_id"], []).append(row["span_id"])
    for task_id, ids in by_task.items():
        for start in range(0, len(ids), _LOOKUP_CHUNK):
            chunk = ids[start : start + _LOOKUP_CHUNK]
            marks = ", ".join("?" * len(chunk))
            found = conn.exec_driver_sql(
                f"SELECT span_id FROM spans WHERE task_id = ? AND span_id IN ({marks})",  # noqa: S608
                (task_id, *chunk),
            )
            stored.update((task_id, span_id) for (span_id,) in found)
    new = [row for row in rows if (row["task_id"], row["span_id"]) not in stored]
    if new:
        # Every row has its columns in one order (built by _row_and_payload); multi-row
        # statements, without taking the GIL row by row (see sqlitebulk.py).
        sqlitebulk.insert_dicts(conn, table.name, new)
    return [(row["task_id"], row["span_id"]) for row in new]


def _pg_type(column: Any) -> str:
    if isinstance(column.type, (BigInteger, Integer)):
        return "bigint"
    if isinstance(column.type, Float):
        return "double precision"
    return "text"


def _insert_unnest(
    conn: Connection, table: Table, rows: list[dict[str, Any]]
) -> list[tuple[str, str]]:
    """INSERT … SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING RETURNING the new keys."""
    names = [column.name for column in table.columns if column.name in rows[0]]
    arrays = ", ".join(
        f"CAST(:c{i} AS {_pg_type(table.c[name])}[])" for i, name in enumerate(names)
    )
    columns = ", ".join(f'"{name}"' for name in names)
    # Names and types come from the schema, never from the data; the values are bound arrays.
    statement = text(
        f'INSERT INTO "{table.name}" ({columns}) SELECT * FROM unnest({arrays}) '  # noqa: S608
        "ON CONFLICT DO NOTHING RETURNING task_id, span_id"
    )
    values = {f"c{i}": [row.get(name) for row in rows] for i, name in enumerate(names)}
    return [(r[0], r[1]) for r in conn.execute(statement, values)]


def index_spans(
    conn: Connection,
    insert: Callable[[Any], Any],
    events: Iterable[EventRow],
    tables: tuple[Table, Table] = (spans, task_stats),
    prices: PriceTable | None = None,
) -> None:
    """Record the structure of the span events among ``events`` and add new spans to their
    tasks' totals (``insert`` is the dialect's INSERT with ON CONFLICT support).

    ``tables`` are the ``spans`` and ``task_stats`` tables as the database has them: a
    migration's backfill passes them as reflected at its revision, so that columns added by
    later revisions are left out. ``prices`` prices model calls whose payload has no cost.
    """
    span_table, stats_table = tables
    span_columns = set(span_table.c.keys())
    # The search index and the dashboards' totals exist at the head revision only; the spans
    # stored are queued for both (``store/textindex.py``; a migration's
    # backfill at an older revision passes the tables as they were then).
    head = tables == (spans, task_stats)
    found = [f for e in events if e[3] == SPAN and (f := _row_and_payload(e, prices)) is not None]
    if not found:
        return
    rows = [row for row, _ in found]
    if not span_columns.issuperset(rows[0]):  # an older revision's table (a backfill)
        rows = [{k: val for k, val in row.items() if k in span_columns} for row in rows]
    payloads: dict[tuple[str, str], dict[str, Any]] = {}
    for row, payload in found if head else ():
        payloads.setdefault((row["task_id"], row["span_id"]), payload)
    # One row per span, the first of the batch (as the database would keep it), in key order:
    # concurrent writers then take their row locks in one order and cannot deadlock.
    first: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        first.setdefault((row["task_id"], row["span_id"]), row)
    ordered = [first[key] for key in sorted(first)]
    totals: dict[str, dict[str, Any]] = {}
    stored: list[dict[str, Any]] = []
    for key in _store_new(conn, insert, span_table, ordered):
        _add(totals, first[key])
        stored.append(first[key])
    if not totals:
        return
    if head:
        searchtext.queue_rows(conn, [
            searchtext.text_row(r["task_id"], r["span_id"], r["name"],
                                payloads[r["task_id"], r["span_id"]])
            for r in stored
        ])  # fmt: skip
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
    if "price_source" in stat_columns:
        updates["price_source"] = func.coalesce(new.price_source, c.price_source)
    stmt = stmt.on_conflict_do_update(index_elements=["task_id"], set_=updates)
    conn.execute(
        stmt,
        [
            {k: val for k, val in {"task_id": task_id, **totals[task_id]}.items()
             if k in stat_columns}
            for task_id in sorted(totals)
        ],
    )  # fmt: skip
