"""Threads (conversations): a task's or a project's threads, and each thread's turns in order.

A *thread* is every span with the same ``thread_id`` (LangGraph's ``configurable.thread_id``,
the metadata keys ``thread_id`` / ``session_id`` / ``conversation_id``, an OTel session id). A
*turn* is one root span of the thread (one ``graph.invoke``, one request), with the totals of
its trace: the tokens of its model calls and their cost. A turn that continues a paused one
(``Command(resume=...)``) names it in ``resumes`` and carries its ``resume`` value.

Reads go through the ``ix_spans_thread`` index (task, thread, start time): a page of threads is
two grouped queries, a page of turns two more plus the root spans' payloads (for the input,
output and resume fields). Only bound parameters reach SQL.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine, and_, case, func, select, tuple_

from chaintrack.errors import InvalidArgumentError
from chaintrack.store.records import SPAN
from chaintrack.store.schema import events, spans, tasks
from chaintrack.store.views import LLM_SPAN_KINDS

#: Most threads or turns one read returns.
MAX_LIMIT = 1_000
#: Largest offset a read accepts (SQL's OFFSET is a 64-bit integer).
MAX_OFFSET = 2**62
#: Characters of a turn's input and output kept in a page of turns (the trace has them all).
PREVIEW_CHARS = 500


@dataclass(frozen=True)
class ThreadSummary:
    """One thread: its turns and their totals."""

    thread_id: str
    turns: int
    first_start: float
    last_end: float
    #: Turns whose root ended with an error, and turns that paused on ``interrupt()``.
    errors: int = 0
    interrupted: int = 0
    total_tokens: int | None = None
    #: USD of the priced model calls; None while none had a known price (unknown, not $0).
    cost_usd: float | None = None
    #: How many tasks the thread's turns were recorded in (a project's thread may span several).
    tasks: int = 1


@dataclass(frozen=True)
class Turn:
    """One turn of a thread: a root span with its trace's totals."""

    task_id: str
    span_id: str
    trace_id: str | None
    name: str
    status: str
    start_time: float
    end_time: float
    latency_ms: float | None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    cost_usd: float | None = None
    input: str | None = None
    output: str | None = None
    #: The trace id of the paused turn this one resumes, and the value it resumed with.
    resumes: str | None = None
    resume: str | None = None


@dataclass(frozen=True)
class ThreadPage:
    """Threads ``offset`` to ``offset + limit``, the most recently active first."""

    total: int
    offset: int
    limit: int
    threads: list[ThreadSummary] = field(default_factory=list)


@dataclass(frozen=True)
class TurnPage:
    """Turns ``offset`` to ``offset + limit`` of one thread, in the order they started."""

    thread_id: str
    total: int
    offset: int
    limit: int
    turns: list[Turn] = field(default_factory=list)


class ThreadStore(Protocol):
    """The threads reads every store implements (SQL here, HTTP in ``rest_threads.py``)."""

    def thread_page(
        self, task_id: str | None = None, project: str | None = None, offset: int = 0,
        limit: int = 50,
    ) -> ThreadPage:  # fmt: skip
        """A page of the threads of a task, or of a project's tasks (give one of the two)."""
        ...

    def thread_turns(
        self, thread_id: str, task_id: str | None = None, project: str | None = None,
        offset: int = 0, limit: int = 100,
    ) -> TurnPage:  # fmt: skip
        """A page of one thread's turns, in a task or in a project's tasks."""
        ...

    def trace_position(self, task_id: str, span_id: str) -> int | None:
        """Root spans of the task before this one (the trace view's order); None: no such root."""
        ...


def check_page(offset: int, limit: int) -> None:
    if not isinstance(limit, int) or limit < 1 or limit > MAX_LIMIT:
        raise InvalidArgumentError(f"limit={limit!r} is not valid: use 1 to {MAX_LIMIT}.")
    if not isinstance(offset, int) or offset < 0 or offset > MAX_OFFSET:
        raise InvalidArgumentError(f"offset={offset!r} is not valid: use 0 to {MAX_OFFSET}.")


def check_scope(task_id: str | None, project: str | None) -> None:
    if (task_id is None) == (project is None):
        raise InvalidArgumentError(
            "threads are read for a task or for a project: give task_id or project (one of them)"
        )


def page_from_dict(data: dict[str, Any]) -> ThreadPage:
    threads = [ThreadSummary(**t) for t in data.get("threads", [])]
    return ThreadPage(data["total"], data["offset"], data["limit"], threads)


def turns_from_dict(data: dict[str, Any]) -> TurnPage:
    turns = [Turn(**t) for t in data.get("turns", [])]
    return TurnPage(data["thread_id"], data["total"], data["offset"], data["limit"], turns)


def as_dict(page: ThreadPage | TurnPage) -> dict[str, Any]:
    return asdict(page)


def _preview(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


_LLM = spans.c.kind.in_(sorted(LLM_SPAN_KINDS))
_ROOT = spans.c.parent_id.is_(None)


def _count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


class ThreadsMixin:
    """Threads reads for :class:`~chaintrack.store.sql.SqlStore`."""

    _read_engine: Engine

    def _scope(self, task_id: str | None, project: str | None) -> list[Any]:
        check_scope(task_id, project)
        if task_id is not None:
            return [spans.c.task_id == task_id]
        ids = select(tasks.c.id).where(tasks.c.project == project)
        return [spans.c.task_id.in_(ids.scalar_subquery())]

    def thread_page(
        self, task_id: str | None = None, project: str | None = None, offset: int = 0,
        limit: int = 50,
    ) -> ThreadPage:  # fmt: skip
        check_page(offset, limit)
        scope = [*self._scope(task_id, project), spans.c.thread_id.is_not(None)]
        last = func.max(spans.c.end_time)
        roots = (
            select(
                spans.c.thread_id,
                func.count().label("turns"),
                func.min(spans.c.start_time).label("first_start"),
                last.label("last_end"),
                _count_if(spans.c.status == "error").label("errors"),
                _count_if(spans.c.status == "interrupted").label("interrupted"),
                func.count(spans.c.task_id.distinct()).label("tasks"),
            )
            .where(*scope, _ROOT)
            .group_by(spans.c.thread_id)
        )
        count = select(func.count()).select_from(roots.subquery())
        page = roots.order_by(last.desc(), spans.c.thread_id).offset(offset).limit(limit)
        with self._read_engine.connect() as conn:
            total = int(conn.execute(count).scalar_one())
            found = [dict(r) for r in conn.execute(page).mappings()]
            ids = [r["thread_id"] for r in found]
            totals: dict[str, Any] = {}
            if ids:
                sums = (
                    select(
                        spans.c.thread_id,
                        func.sum(case((_LLM, spans.c.total_tokens))).label("total_tokens"),
                        func.sum(spans.c.cost_usd).label("cost_usd"),
                    )
                    .where(*scope, spans.c.thread_id.in_(ids))
                    .group_by(spans.c.thread_id)
                )
                totals = {r["thread_id"]: r for r in conn.execute(sums).mappings()}
        threads = []
        for row in found:
            extra: Any = totals.get(row["thread_id"]) or {}
            tokens = extra.get("total_tokens")
            threads.append(
                ThreadSummary(
                    thread_id=row["thread_id"],
                    turns=int(row["turns"]),
                    first_start=float(row["first_start"]),
                    last_end=float(row["last_end"]),
                    errors=int(row["errors"]),
                    interrupted=int(row["interrupted"]),
                    total_tokens=int(tokens) if tokens is not None else None,
                    cost_usd=extra.get("cost_usd"),
                    tasks=int(row["tasks"]),
                )
            )
        return ThreadPage(total, offset, limit, threads)

    def thread_turns(
        self, thread_id: str, task_id: str | None = None, project: str | None = None,
        offset: int = 0, limit: int = 100,
    ) -> TurnPage:  # fmt: skip
        check_page(offset, limit)
        if not isinstance(thread_id, str) or not thread_id:
            raise InvalidArgumentError(f"thread_id={thread_id!r} is not valid: give a thread id")
        scope = [*self._scope(task_id, project), spans.c.thread_id == thread_id]
        count = select(func.count()).select_from(spans).where(*scope, _ROOT)
        roots = (
            select(spans)
            .where(*scope, _ROOT)
            .order_by(spans.c.start_time, spans.c.span_id)
            .offset(offset)
            .limit(limit)
        )
        with self._read_engine.connect() as conn:
            total = int(conn.execute(count).scalar_one())
            rows = [dict(r) for r in conn.execute(roots).mappings()]
            traces = sorted({r["trace_id"] for r in rows if r["trace_id"] is not None})
            sums: dict[tuple[str, str], Any] = {}
            if traces:
                # A trace's spans run within its root: the start-time range keeps the read on
                # the page's part of the (task, thread, start time) index.
                begin = min(r["start_time"] for r in rows)
                end = max(max(r["end_time"], r["start_time"]) for r in rows)
                stmt = (
                    select(
                        spans.c.task_id,
                        spans.c.trace_id,
                        func.sum(case((_LLM, spans.c.prompt_tokens))).label("prompt_tokens"),
                        func.sum(case((_LLM, spans.c.completion_tokens))).label(
                            "completion_tokens"
                        ),
                        func.sum(case((_LLM, spans.c.total_tokens))).label("total_tokens"),
                        func.sum(spans.c.cost_usd).label("cost_usd"),
                    )
                    .where(
                        *scope, spans.c.start_time.between(begin, end), spans.c.trace_id.in_(traces)
                    )
                    .group_by(spans.c.task_id, spans.c.trace_id)
                )
                sums = {(r["task_id"], r["trace_id"]): r for r in conn.execute(stmt).mappings()}
            payloads = _payloads(conn, rows)
        turns = []
        for row in rows:
            payload = payloads.get((row["task_id"], row["writer"], row["seq"])) or {}
            extra: Any = sums.get((row["task_id"], row["trace_id"])) or {}
            turns.append(
                Turn(
                    task_id=row["task_id"],
                    span_id=row["span_id"],
                    trace_id=row["trace_id"],
                    name=row["name"],
                    status=row["status"],
                    start_time=row["start_time"],
                    end_time=row["end_time"],
                    latency_ms=row["latency_ms"],
                    prompt_tokens=_int(extra.get("prompt_tokens")),
                    completion_tokens=_int(extra.get("completion_tokens")),
                    total_tokens=_int(extra.get("total_tokens")),
                    cost_usd=extra.get("cost_usd"),
                    input=_preview(payload.get("input")),
                    output=_preview(payload.get("output")),
                    resumes=_text(payload.get("resumes")),
                    resume=_preview(payload.get("resume")),
                )
            )
        return TurnPage(thread_id, total, offset, limit, turns)

    def trace_position(self, task_id: str, span_id: str) -> int | None:
        """How many root spans of the task start before this root (the trace view's order),
        None when the task has no such root span."""
        mine = spans.c.task_id == task_id
        with self._read_engine.connect() as conn:
            found = conn.execute(
                select(spans.c.start_time).where(mine, spans.c.span_id == span_id, _ROOT)
            ).first()
            if found is None:
                return None
            before = select(func.count()).where(
                mine,
                _ROOT,
                tuple_(spans.c.start_time, spans.c.span_id) < tuple_(found[0], span_id),
            )
            return int(conn.execute(before).scalar_one())


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _payloads(conn: Any, rows: list[dict[str, Any]]) -> dict[tuple[str, int, int], Any]:
    """The stored span payloads of ``rows`` by (task, writer, seq)."""
    by_task: dict[str, list[tuple[int, int]]] = {}
    for row in rows:
        by_task.setdefault(row["task_id"], []).append((row["writer"], row["seq"]))
    found: dict[tuple[str, int, int], Any] = {}
    for task_id, pairs in by_task.items():
        for start in range(0, len(pairs), 500):
            stmt = select(events.c.writer, events.c.seq, events.c.data).where(
                and_(events.c.task_id == task_id, events.c.kind == SPAN),
                tuple_(events.c.writer, events.c.seq).in_(pairs[start : start + 500]),
            )
            for writer, seq, data in conn.execute(stmt):
                try:
                    payload = json.loads(data) if data else None
                except ValueError:  # a damaged payload: the turn is shown without its texts
                    payload = None
                if isinstance(payload, dict):
                    found[(task_id, writer, seq)] = payload
    return found
