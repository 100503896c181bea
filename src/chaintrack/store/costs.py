"""Costs of stored spans: what each trace cost, and pricing stored tasks again.

Costs are computed when spans are stored (``spanindex.span_cost``); a task stored before a
price table knew its model, or priced with an older table, is priced again by
:meth:`CostMixin.reprice_task` (``chaintrack reprice``): the current table's price wins, a cost
the producer reported itself is kept where the table has no price.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    exists,
    func,
    literal_column,
    not_,
    or_,
    select,
    update,
)

from chaintrack.errors import TaskNotFoundError
from chaintrack.store.records import SPAN
from chaintrack.store.schema import events, spans, task_stats, tasks
from chaintrack.store.spanindex import REPORTED
from chaintrack.store.views import LLM_SPAN_KINDS

if TYPE_CHECKING:
    from chaintrack.text.prices import PriceTable

_MAX_DEPTH = 200
_CHUNK = 500


@dataclass(frozen=True)
class RepriceResult:
    """What pricing a task again changed."""

    task_id: str
    #: Model calls of the task (LLM and chat model spans).
    model_calls: int
    #: Spans with a known cost after pricing.
    priced: int
    #: Model calls whose cost stays unknown (no price for their model).
    unknown: int
    cost_before: float | None
    cost_after: float | None
    price_source: str


def _roots(task_id: str) -> Any:
    parent = spans.alias("parent")
    return and_(
        spans.c.task_id == task_id,
        or_(
            spans.c.parent_id.is_(None),
            not_(
                exists().where(
                    parent.c.task_id == spans.c.task_id, parent.c.span_id == spans.c.parent_id
                )
            ),
        ),
    )


class CostMixin:
    """The SQL store's cost reads and re-pricing."""

    _read_engine: Engine

    def _transaction(self, apply: Any) -> None:  # provided by SqlStore
        raise NotImplementedError

    def trace_costs(
        self, task_id: str, root_ids: list[str] | None = None
    ) -> dict[str, float | None]:
        """Each trace's cost in USD by its root span id: the sum over the root and every span
        below it; None when none of them has a known cost. ``root_ids`` None: every root."""
        if root_ids is not None and not root_ids:
            return {}
        start = select(
            spans.c.span_id.label("root"), spans.c.span_id, literal_column("0").label("depth")
        )
        start = start.where(_roots(task_id)) if root_ids is None else start.where(
            spans.c.task_id == task_id, spans.c.span_id.in_(root_ids))  # fmt: skip
        tree = start.cte("tree", recursive=True)
        child = spans.alias("child")
        tree = tree.union_all(
            select(tree.c.root, child.c.span_id, tree.c.depth + 1).where(
                child.c.task_id == task_id,
                child.c.parent_id == tree.c.span_id,
                tree.c.depth < _MAX_DEPTH,
            )
        )
        stmt = (
            select(tree.c.root, func.sum(spans.c.cost_usd))
            .join(spans, and_(spans.c.task_id == task_id, spans.c.span_id == tree.c.span_id))
            .group_by(tree.c.root)
        )
        with self._read_engine.connect() as conn:
            return {
                root: None if cost is None else float(cost) for root, cost in conn.execute(stmt)
            }

    def span_costs(self, task_id: str) -> dict[str, tuple[float | None, str | None]]:
        """(cost in USD, price source) of each span of the task, by span id."""
        stmt = select(spans.c.span_id, spans.c.cost_usd, spans.c.price_source).where(
            spans.c.task_id == task_id
        )
        with self._read_engine.connect() as conn:
            return {s: (c, p) for s, c, p in conn.execute(stmt)}

    prices: PriceTable

    def reprice_task(self, task_id: str, prices: PriceTable | None = None) -> RepriceResult:
        """Price every model call of the task again with ``prices`` (default: the store's
        table) and update its total."""
        from chaintrack.text.prices import usage_of

        table = prices or self.prices
        result: list[RepriceResult] = []

        def apply(conn: Connection) -> None:
            if conn.execute(select(tasks.c.id).where(tasks.c.id == task_id)).first() is None:
                raise TaskNotFoundError(f"no task with id {task_id!r}")
            result.append(_reprice(conn, task_id, table, usage_of))

        self._transaction(apply)
        return result[0]


def _payloads(conn: Connection, task_id: str, keys: list[tuple[int, int]]) -> dict[Any, Any]:
    found: dict[Any, Any] = {}
    from sqlalchemy import tuple_

    for start in range(0, len(keys), _CHUNK):
        stmt = select(events.c.writer, events.c.seq, events.c.data).where(
            events.c.task_id == task_id,
            events.c.kind == SPAN,
            tuple_(events.c.writer, events.c.seq).in_(keys[start : start + _CHUNK]),
        )
        for writer, seq, data in conn.execute(stmt):
            try:
                payload = json.loads(data) if data else None
            except ValueError:
                payload = None
            found[(writer, seq)] = payload if isinstance(payload, dict) else {}
    return found


def _reprice(conn: Connection, task_id: str, prices: PriceTable, usage_of: Any) -> RepriceResult:
    rows = conn.execute(
        select(spans.c.span_id, spans.c.kind, spans.c.model_name, spans.c.start_time,
               spans.c.writer, spans.c.seq, spans.c.cost_usd, spans.c.price_source)
        .where(spans.c.task_id == task_id)
    ).all()  # fmt: skip
    before = conn.execute(
        select(task_stats.c.cost_usd).where(task_stats.c.task_id == task_id)
    ).scalar()
    payloads = _payloads(conn, task_id, [(r.writer, r.seq) for r in rows])
    changes: list[dict[str, Any]] = []
    calls = priced = unknown = 0
    total: float | None = None
    for row in rows:
        payload = payloads.get((row.writer, row.seq)) or {}
        cost, source = None, None
        if row.kind in LLM_SPAN_KINDS:
            calls += 1
            price = prices.price(row.model_name, usage_of(payload), row.start_time)
            if price is not None:
                cost, source = price.cost_usd, price.source[:128]
        reported = payload.get("cost_usd")
        if cost is None and isinstance(reported, (int, float)) and not isinstance(reported, bool):
            cost, source = float(reported), str(payload.get("price_source") or REPORTED)[:128]
        if cost is None and row.kind in LLM_SPAN_KINDS:
            unknown += 1
        if cost is not None:
            priced += 1
            total = (total or 0.0) + cost
        if (cost, source) != (row.cost_usd, row.price_source):
            changes.append({"b_span": row.span_id, "b_cost": cost, "b_source": source})
    if changes:
        conn.execute(
            update(spans)
            .where(spans.c.task_id == task_id, spans.c.span_id == bindparam("b_span"))
            .values(cost_usd=bindparam("b_cost"), price_source=bindparam("b_source")),
            changes,
        )
    conn.execute(
        update(task_stats)
        .where(task_stats.c.task_id == task_id)
        .values(cost_usd=total, price_source=prices.source[:128] if total is not None else None)
    )
    return RepriceResult(task_id, calls, priced, unknown, before, total, prices.source)
