"""The paginated reads of the SQL store: what the web UI and the REST API show.

Each read is one or two queries whose cost depends on the page asked for, not on the size of
the task (the tasks table with 10,000 tasks, a console of 100,000 lines); see
``benchmarks/bench_server.py``.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    Integer,
    and_,
    bindparam,
    exists,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    tuple_,
)

from chaintrack.errors import InvalidArgumentError
from chaintrack.store.records import (
    SCALAR,
    SINGLE_VALUE_ITER,
    SINGLE_VALUE_METRIC,
    SPAN,
    Event,
    TaskRecord,
)
from chaintrack.store.schema import event_counts, events, spans, task_stats, tasks
from chaintrack.store.spanindex import STAT_COLUMNS
from chaintrack.store.views import (
    TASK_SORTS,
    EventPage,
    EventQuery,
    ProjectSummary,
    ScalarSeries,
    SeriesSummary,
    SpanView,
    TaskPage,
    TaskPageQuery,
    TaskRow,
    TaskStats,
    TaskSummary,
    TracePage,
)

#: See ``sqlitebulk._nan_as_null``: the marker of a NaN scalar that SQLite stored as NULL.
NAN_TEXT = "NaN"
#: Page sizes are capped so that one request cannot ask for a whole task.
MAX_LIMIT = 1_000
#: Spans of one page of the trace view, at most (a root with more is cut, and says so).
MAX_TRACE_SPANS = 2_000
_MAX_DEPTH = 200

_EVENT_COLUMNS = (
    events.c.kind,
    events.c.ts,
    events.c.metric,
    events.c.variant,
    events.c.iter,
    events.c.value,
    events.c.level,
    events.c.text,
    events.c.data,
)
_TASK_COLUMNS = tuple(tasks.c)


def event_from_row(row: Any) -> Event:
    """An :class:`Event` from a row of ``_EVENT_COLUMNS`` (payload parsed, NaN restored)."""
    kind, ts, metric, variant, iteration, value, level, text, data = row
    if text == NAN_TEXT and value is None and kind == SCALAR:
        return Event(kind, ts, metric, variant, iteration, math.nan, level, None, None)
    try:
        payload = json.loads(data) if data is not None else None
    except (ValueError, RecursionError):  # not written by chaintrack: shown without its payload
        payload = None
    return Event(kind, ts, metric, variant, iteration, value, level, text, payload)


def _limit(value: int, argument: str = "limit") -> int:
    if value < 1 or value > MAX_LIMIT:
        raise InvalidArgumentError(f"{argument}={value} is not valid: use 1 to {MAX_LIMIT}.")
    return value


def _offset(value: int) -> int:
    if value < 0:
        raise InvalidArgumentError(f"offset={value} is not valid: use 0 or more.")
    return value


def _stats(row: Any) -> TaskStats:
    cost = row["cost_usd"]
    return TaskStats(**{c: int(row[c] or 0) for c in STAT_COLUMNS},
                     cost_usd=None if cost is None else float(cost),
                     price_source=row["price_source"])  # fmt: skip


_STAT_READS = (*(task_stats.c[c] for c in STAT_COLUMNS), task_stats.c.cost_usd,
               task_stats.c.price_source)  # fmt: skip


_TOKENS = func.coalesce(task_stats.c.total_tokens, 0)
_SORT_COLUMNS: dict[str, Any] = {
    "created": tasks.c.created,
    "started": tasks.c.started,
    "last_update": tasks.c.last_update,
    "name": tasks.c.name,
    "type": tasks.c.type,
    "status": tasks.c.status,
    "project": tasks.c.project,
    # A running task's duration is the time since it started until its last report.
    "duration": func.coalesce(tasks.c.completed, tasks.c.last_update) - tasks.c.started,
    "llm_calls": func.coalesce(task_stats.c.llm_calls, 0),
    "tokens": _TOKENS,
    "errors": func.coalesce(task_stats.c.errors, 0),
    "cost": task_stats.c.cost_usd,  # unknown (NULL) last, whichever the order
}
assert set(_SORT_COLUMNS) == set(TASK_SORTS)


class QueryMixin:
    """Paginated reads for :class:`~chaintrack.store.sql.SqlStore`."""

    dialect: str
    _read_engine: Engine

    def _contains(self, column: Any, text: str) -> ColumnElement[bool]:
        """An exact, case-sensitive substring test (SQLite's LIKE ignores ASCII case)."""
        if self.dialect == "postgresql":
            return func.strpos(column, text) > 0
        return func.instr(column, text) > 0

    def _has_tag(self, tag: str) -> ColumnElement[bool]:
        # Tags are a JSON array written by json.dumps: an element starts after "[" or ", ",
        # which never occur unescaped inside a string, so these tests match whole tags only.
        quoted = json.dumps(tag)
        return or_(
            self._contains(tasks.c.tags, "[" + quoted), self._contains(tasks.c.tags, ", " + quoted)
        )

    def _task_conditions(self, query: TaskPageQuery) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if query.project is not None:
            if query.include_subprojects:
                conditions.append(
                    or_(
                        tasks.c.project == query.project,
                        tasks.c.project.startswith(query.project + "/", autoescape=True),
                    )
                )
            else:
                conditions.append(tasks.c.project == query.project)
        if query.status:
            conditions.append(tasks.c.status.in_(query.status))
        conditions.extend(self._has_tag(tag) for tag in query.tags)
        text = query.text.strip()
        if text:
            lowered = text.lower()
            conditions.append(
                or_(
                    func.lower(tasks.c.name).contains(lowered, autoescape=True),
                    func.lower(tasks.c.comment).contains(lowered, autoescape=True),
                    func.lower(tasks.c.tags).contains(lowered, autoescape=True),
                    tasks.c.id.startswith(lowered, autoescape=True),
                )
            )
        return conditions

    def task_page(self, query: TaskPageQuery) -> TaskPage:
        """A page of the tasks table, with each task's span totals."""
        if query.sort not in _SORT_COLUMNS:
            raise InvalidArgumentError(
                f"sort={query.sort!r} is not valid: use one of {', '.join(TASK_SORTS)}."
            )
        limit, offset = _limit(query.limit), _offset(query.offset)
        conditions = self._task_conditions(query)
        key = _SORT_COLUMNS[query.sort]
        order = key.desc() if query.descending else key.asc()
        tie = tasks.c.id.desc() if query.descending else tasks.c.id.asc()
        stmt = (
            select(*_TASK_COLUMNS, *_STAT_READS)
            .select_from(tasks.outerjoin(task_stats, task_stats.c.task_id == tasks.c.id))
            .where(*conditions)
            .order_by(order.nulls_last(), tie)
            .offset(offset)
            .limit(limit)
        )
        count = select(func.count()).select_from(tasks).where(*conditions)
        with self._read_engine.connect() as conn:
            total = int(conn.execute(count).scalar_one())
            found = conn.execute(stmt).mappings().all()
        rows = [
            TaskRow(TaskRecord.from_row({c.name: r[c.name] for c in _TASK_COLUMNS}), _stats(r))
            for r in found
        ]
        return TaskPage(total=total, offset=offset, limit=limit, rows=rows)

    def list_projects(self) -> list[ProjectSummary]:
        """Every project with tasks, by name, with its task count per status."""
        stmt = select(
            tasks.c.project, tasks.c.status, func.count(), func.max(tasks.c.last_update)
        ).group_by(tasks.c.project, tasks.c.status)
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        last: dict[str, float] = {}
        with self._read_engine.connect() as conn:
            for project, status, count, updated in conn.execute(stmt):
                counts[project][status] = int(count)
                last[project] = max(last.get(project, 0.0), float(updated))
        return [
            ProjectSummary(name, sum(counts[name].values()), last[name], dict(counts[name]))
            for name in sorted(counts)
        ]

    def task_summary(self, task_id: str) -> TaskSummary:
        """A task's span totals and its number of events of each kind."""
        stats = select(*_STAT_READS).where(task_stats.c.task_id == task_id)
        kinds = select(event_counts.c.kind, event_counts.c.events).where(
            event_counts.c.task_id == task_id, event_counts.c.events > 0
        )
        with self._read_engine.connect() as conn:
            row = conn.execute(stats).mappings().first()
            counts = {kind: int(n) for kind, n in conn.execute(kinds)}
        return TaskSummary(stats=_stats(row) if row else TaskStats(), event_counts=counts)

    def event_page(self, task_id: str, query: EventQuery) -> EventPage:
        """A page of one kind of events, in the order they were reported (or newest first)."""
        limit, offset = _limit(query.limit), _offset(query.offset)
        conditions = [events.c.task_id == task_id, events.c.kind == query.kind]
        if query.metric is not None:
            conditions.append(events.c.metric == query.metric)
        if query.variant is not None:
            conditions.append(events.c.variant == query.variant)
        if query.iteration is not None:
            conditions.append(events.c.iter == query.iteration)
        if query.min_level is not None:
            conditions.append(events.c.level >= query.min_level)
        if query.text:
            conditions.append(
                func.lower(events.c.text).contains(query.text.lower(), autoescape=True)
            )
        keys = (events.c.ts, events.c.writer, events.c.seq)  # unique in a task's kind
        count = select(func.count()).select_from(events).where(*conditions)
        if len(conditions) == 2:  # every event of the kind: counted when stored
            count = select(func.coalesce(func.sum(event_counts.c.events), 0)).where(
                event_counts.c.task_id == task_id, event_counts.c.kind == query.kind
            )
        with self._read_engine.connect() as conn:
            total = int(conn.execute(count).scalar_one())
            # A page past the middle is read from the other end (the last page as cheaply as
            # the first): skipped rows cost as much as rows read.
            first, size, backwards = _window(total, offset, limit)
            newest = query.newest_first != backwards
            order = [k.desc() for k in keys] if newest else list(keys)
            stmt = select(*_EVENT_COLUMNS).where(*conditions).order_by(*order)
            rows = list(conn.execute(stmt.offset(first).limit(size)))
        if backwards:
            rows.reverse()
        return EventPage(total, offset, limit, [event_from_row(r) for r in rows])

    def event_series(self, task_id: str, kind: str) -> list[SeriesSummary]:
        """Each (metric, variant) of a kind of events, with its count and iteration range."""
        stmt = (
            select(
                events.c.metric,
                events.c.variant,
                func.count(),
                func.min(events.c.iter),
                func.max(events.c.iter),
            )
            .where(events.c.task_id == task_id, events.c.kind == kind)
            .group_by(events.c.metric, events.c.variant)
            .order_by(events.c.metric, events.c.variant)
        )
        with self._read_engine.connect() as conn:
            return [
                SeriesSummary(m or "", v or "", int(n), lo, hi)
                for m, v, n, lo, hi in conn.execute(stmt)
            ]

    def scalar_series(self, task_id: str, max_points: int = 2_000) -> list[ScalarSeries]:
        """Every scalar series (single values excluded), by title and series, points ordered by
        iteration; a series with more than ``max_points`` points is evenly thinned (its first
        and last points kept)."""
        if max_points < 2:
            raise InvalidArgumentError(f"max_points={max_points} is not valid: use 2 or more.")
        scalars = _scalar_points(task_id)
        counts = (
            select(events.c.metric, events.c.variant, func.count())
            .where(*scalars)
            .group_by(events.c.metric, events.c.variant)
            .order_by(events.c.metric, events.c.variant)
        )
        found: list[ScalarSeries] = []
        with self._read_engine.connect() as conn:
            # A NULL title or series reads as "": the two are one series.
            named: dict[tuple[str, str], list[tuple[str | None, str | None]]] = {}
            sizes: dict[tuple[str, str], int] = defaultdict(int)
            for metric, variant, n in conn.execute(counts):
                key = (metric or "", variant or "")
                named.setdefault(key, []).append((metric, variant))
                sizes[key] += int(n)
            for (metric, variant), stored in named.items():
                size = sizes[metric, variant]
                xs, ys = self._series_points(conn, task_id, stored, size, max_points)
                found.append(ScalarSeries(metric, variant, size, xs, ys))
        return found

    @staticmethod
    def _series_points(
        conn: Any,
        task_id: str,
        stored: list[tuple[str | None, str | None]],
        count: int,
        most: int,
    ) -> tuple[list[int], list[float]]:
        """The points of one series ordered by iteration (then time, writer and sequence),
        thinned to the positions ``thin_positions`` picks: numbered in SQL, so that only the
        picked points are read (``ix_events_scalars`` gives the order)."""
        scalars = _scalar_points(task_id)
        names = or_(
            *(
                and_(
                    events.c.metric.is_(None) if m is None else events.c.metric == m,
                    events.c.variant.is_(None) if v is None else events.c.variant == v,
                )
                for m, v in stored
            )
        )
        order = (events.c.iter, events.c.ts, events.c.writer, events.c.seq)
        if count <= most:
            stmt = select(events.c.iter, events.c.value, events.c.text).where(*scalars, names)
            rows = conn.execute(stmt.order_by(*order)).all()
        else:
            ranked = (
                select(
                    events.c.iter,
                    events.c.value,
                    events.c.text,
                    func.row_number().over(order_by=order).label("position"),
                )
                .where(*scalars, names)
                .subquery()
            )
            picks = [p + 1 for p in thin_positions(count, most)]
            stmt = _picked(conn, ranked, picks).order_by(ranked.c.position)
            rows = conn.execute(stmt).all()
        xs = [r[0] for r in rows]
        ys = [math.nan if value is None and text == NAN_TEXT else value for _, value, text in rows]
        return xs, ys

    def trace_page(self, task_id: str, offset: int = 0, limit: int = 20) -> TracePage:
        """Root spans (by start time) ``offset`` to ``offset + limit`` and their descendants."""
        limit, offset = _limit(limit), _offset(offset)
        parent = spans.alias("parent")
        is_root = or_(
            spans.c.parent_id.is_(None),
            not_(
                exists().where(
                    parent.c.task_id == spans.c.task_id, parent.c.span_id == spans.c.parent_id
                )
            ),
        )
        mine = spans.c.task_id == task_id
        count = select(func.count()).select_from(spans).where(mine, is_root)
        with self._read_engine.connect() as conn:
            total = int(conn.execute(count).scalar_one())
            first, size, backwards = _window(total, offset, limit)
            keys = (spans.c.start_time, spans.c.span_id)  # unique in a task
            order = [k.desc() for k in keys] if backwards else list(keys)
            roots_stmt = (
                select(spans.c.span_id)
                .where(mine, is_root)
                .order_by(*order)
                .offset(first)
                .limit(size)
            )
            roots = [r[0] for r in conn.execute(roots_stmt)]
            if backwards:
                roots.reverse()
            if not roots:
                return TracePage(total, offset, limit, [])
            tree = (
                select(spans.c.span_id, literal(0).label("depth"))
                .where(mine, spans.c.span_id.in_(roots))
                .cte("tree", recursive=True)
            )
            child = spans.alias("child")
            tree = tree.union_all(
                select(child.c.span_id, tree.c.depth + 1).where(
                    child.c.task_id == task_id,
                    child.c.parent_id == tree.c.span_id,
                    tree.c.depth < _MAX_DEPTH,
                )
            )
            rows = (
                conn.execute(
                    select(spans, tree.c.depth)
                    .join(tree, and_(mine, spans.c.span_id == tree.c.span_id))
                    .limit(MAX_TRACE_SPANS + 1)
                )
                .mappings()
                .all()
            )
            truncated = len(rows) > MAX_TRACE_SPANS
            ordered = _depth_first(roots, [dict(r) for r in rows[:MAX_TRACE_SPANS]])
            payloads = self._span_payloads(conn, task_id, ordered)
        views = []
        for row in ordered:
            payload = payloads.get((row["writer"], row["seq"]))
            if not isinstance(payload, dict):
                payload = {k: row[k] for k in row if k not in ("task_id", "writer", "seq", "depth")}
            # The stored cost (priced when stored, or re-priced since) wins over the payload's.
            payload = {**payload, "cost_usd": row["cost_usd"], "price_source": row["price_source"]}
            views.append(SpanView(depth=row["depth"], span=payload))
        return TracePage(total, offset, limit, views, truncated)

    @staticmethod
    def _span_payloads(conn: Any, task_id: str, rows: list[dict[str, Any]]) -> dict[Any, Any]:
        payloads: dict[Any, Any] = {}
        pairs = [(r["writer"], r["seq"]) for r in rows]
        for start in range(0, len(pairs), 500):
            stmt = select(events.c.writer, events.c.seq, events.c.data).where(
                events.c.task_id == task_id,
                events.c.kind == SPAN,
                tuple_(events.c.writer, events.c.seq).in_(pairs[start : start + 500]),
            )
            for writer, seq, data in conn.execute(stmt):
                payloads[(writer, seq)] = json.loads(data) if data else None
        return payloads


def _depth_first(roots: list[str], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (spans with a ``depth``) ordered as a tree: each span before its children,
    children by start time. The depth is recomputed along the way."""
    by_id = {r["span_id"]: r for r in rows}
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["span_id"] not in roots and row["parent_id"] in by_id:
            children[row["parent_id"]].append(row)
    for found in children.values():
        found.sort(key=lambda r: (r["start_time"], r["span_id"]))
    ordered: list[dict[str, Any]] = []
    seen: set[str] = set()
    stack = [(by_id[r], 0) for r in reversed(roots) if r in by_id]
    while stack:
        row, depth = stack.pop()
        if row["span_id"] in seen:
            continue
        seen.add(row["span_id"])
        ordered.append({**row, "depth": depth})
        stack.extend((c, depth + 1) for c in reversed(children.get(row["span_id"], [])))
    return ordered


def _scalar_points(task_id: str) -> tuple[ColumnElement[bool], ...]:
    """The task's scalar events that are points of a chart (single values are not)."""
    single = and_(events.c.metric == SINGLE_VALUE_METRIC, events.c.iter == SINGLE_VALUE_ITER)
    # The kind as a literal: a query can use the partial index ``ix_events_scalars`` only when
    # its WHERE clause says ``kind = 'scalar'`` (a bound parameter does not, to SQLite).
    scalar: ColumnElement[str] = literal_column(f"'{SCALAR}'")
    return (events.c.task_id == task_id, events.c.kind == scalar, not_(single))


def _picked(conn: Any, ranked: Any, positions: list[int]) -> Any:
    """The (iter, value, text) of the rows of ``ranked`` at ``positions``. PostgreSQL joins
    them to the positions as one array parameter: an IN list (or ``= ANY``) of 2,000 values is
    tested row by row there, which took most of the Scalars tab's time."""
    columns = (ranked.c.iter, ranked.c.value, ranked.c.text)
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        array = bindparam("positions", positions, type_=ARRAY(Integer))
        wanted = func.unnest(array).table_valued("position").render_derived(name="wanted")
        return select(*columns).join(wanted, wanted.c.position == ranked.c.position)
    return select(*columns).where(ranked.c.position.in_(positions))


def thin_positions(count: int, most: int) -> list[int]:
    """The positions (0 to ``count - 1``) of the points kept when a series of ``count`` points
    is evenly thinned to at most ``most`` (``most`` >= 2): the first and last always."""
    if count <= most:
        return list(range(count))
    step = (count - 1) / (most - 1)
    return sorted({round(i * step) for i in range(most)})


def _window(total: int, offset: int, limit: int) -> tuple[int, int, bool]:
    """Rows ``offset`` to ``offset + limit`` of ``total`` as (offset, limit, backwards): counted
    from the end, in reverse order, when that skips fewer rows."""
    size = max(0, min(limit, total - offset))
    from_end = total - offset - size
    if size and from_end < offset:
        return from_end, size, True
    return offset, limit, False
