"""What the paginated reads of a store return: the UI's tables, pages and trees, as plain data.

Every store implements these reads (``store/queries.py`` for SQL, ``store/rest.py`` over HTTP),
so a page of the web UI costs one or two queries however large the task is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chaintrack.store.records import Event, TaskRecord

#: Sort keys of the tasks table (``TaskPageQuery.sort``).
TASK_SORTS = (
    "created",
    "started",
    "last_update",
    "name",
    "type",
    "status",
    "project",
    "duration",
    "llm_calls",
    "tokens",
    "errors",
    "cost",
)

#: Span kinds that are calls of a language model (counted as "LLM calls").
LLM_SPAN_KINDS = frozenset({"llm", "chat_model"})


@dataclass(frozen=True)
class TaskStats:
    """Totals over a task's spans: what the tasks table shows besides the task's own fields."""

    spans: int = 0
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    #: Spans that ended with an error.
    errors: int = 0
    #: The priced calls' total in USD; None while no call has a known price (unknown, not $0).
    cost_usd: float | None = None
    #: The price table behind ``cost_usd`` (e.g. "genai-prices 0.2.5").
    price_source: str | None = None


@dataclass(frozen=True)
class TaskRow:
    """One row of the tasks table."""

    task: TaskRecord
    stats: TaskStats


@dataclass(frozen=True)
class TaskPageQuery:
    """A page of the tasks table; every given filter must match."""

    project: str | None = None
    #: Also match sub-projects of ``project`` (names nest with ``/``).
    include_subprojects: bool = False
    status: tuple[str, ...] = ()
    #: Every tag must be present.
    tags: tuple[str, ...] = ()
    #: Case-insensitive substring of the name, the comment or a tag, or the start of the id.
    text: str = ""
    sort: str = "created"
    descending: bool = True
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True)
class TaskPage:
    total: int
    offset: int
    limit: int
    rows: list[TaskRow]


@dataclass(frozen=True)
class ProjectSummary:
    name: str
    tasks: int
    last_update: float
    #: Number of tasks per status.
    statuses: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskSummary:
    """A task's totals for its page: span stats and the number of events of each kind."""

    stats: TaskStats
    event_counts: dict[str, int]


@dataclass(frozen=True)
class EventQuery:
    """A page of one kind of events; every given filter must match."""

    kind: str
    metric: str | None = None
    variant: str | None = None
    iteration: int | None = None
    #: Case-insensitive substring of the event's text (console search).
    text: str = ""
    #: Only events with a logging level at least this (console levels).
    min_level: int | None = None
    offset: int = 0
    limit: int = 100
    newest_first: bool = False


@dataclass(frozen=True)
class EventPage:
    total: int
    offset: int
    limit: int
    events: list[Event]


@dataclass(frozen=True)
class SeriesSummary:
    """One (metric, variant) pair of a kind of events: how many reports, which iterations."""

    metric: str
    variant: str
    count: int
    first_iter: int | None
    last_iter: int | None


@dataclass(frozen=True)
class ScalarSeries:
    """The points of one scalar series, ordered by iteration; ``count`` is how many were
    reported (``iters`` and ``values`` hold at most the ``max_points`` asked for)."""

    metric: str
    variant: str
    count: int
    iters: list[int]
    values: list[float]


@dataclass(frozen=True)
class SpanView:
    """A span in the trace view: its payload (see ``task.get_spans()``) and its depth."""

    depth: int
    span: dict[str, Any]


@dataclass(frozen=True)
class TracePage:
    """Root spans ``offset`` to ``offset + limit`` (by start time) with their descendants, in
    depth-first order. ``truncated`` says a root's subtree was cut at the span limit."""

    total_roots: int
    offset: int
    limit: int
    spans: list[SpanView]
    truncated: bool = False
