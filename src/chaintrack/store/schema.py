"""The store's tables, in SQLAlchemy Core: one schema for SQLite and PostgreSQL.

Times are UTC seconds since the epoch (floats): they sort, compare and round-trip the same way
on every backend. Structured values (tags, script info, event payloads) are JSON text that
chaintrack serializes itself, so the bytes stored do not depend on the driver.

Every change to these tables needs an Alembic revision in ``migrations/versions`` and a new
``HEAD_REVISION``; ``tests/store/test_migrations.py`` fails when they drift apart.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    text,
)

from chaintrack.store import searchtext

#: The Alembic revision this chaintrack writes. A store at another revision that this code does
#: not know was written by a newer chaintrack.
HEAD_REVISION = "0009"
KNOWN_REVISIONS: tuple[str, ...] = (
    "0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009"
)  # fmt: skip

metadata = MetaData()
# A new store gets the full-text index of the spans with its tables (not in this metadata).
searchtext.register(metadata)

tasks = Table(
    "tasks",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("project", String(512), nullable=False, index=True),
    Column("name", String(512), nullable=False),
    Column("type", String(32), nullable=False),
    Column("status", String(32), nullable=False, index=True),
    Column("status_reason", Text, nullable=False, default=""),
    Column("tags", Text, nullable=False, default="[]"),
    Column("system_tags", Text, nullable=False, default="[]"),
    Column("comment", Text, nullable=False, default=""),
    Column("parent", String(32), nullable=True),
    Column("user", String(256), nullable=False, default=""),
    Column("created", Float, nullable=False, index=True),
    Column("started", Float, nullable=True),
    Column("completed", Float, nullable=True),
    Column("last_update", Float, nullable=False),
    Column("script", Text, nullable=False, default="{}"),
    Column("runtime", Text, nullable=False, default="{}"),
    Column("packages", Text, nullable=False, default="[]"),
)

parameters = Table(
    "parameters",
    metadata,
    Column("task_id", String(32), primary_key=True),
    Column("section", String(256), primary_key=True),
    Column("name", String(512), primary_key=True),
    Column("value", Text, nullable=False),
    Column("type", String(64), nullable=False),
    Column("description", Text, nullable=False, default=""),
)

configurations = Table(
    "configurations",
    metadata,
    Column("task_id", String(32), primary_key=True),
    Column("name", String(256), primary_key=True),
    Column("type", String(64), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("value", Text, nullable=False),
)

#: Everything a task reports over time: scalars, console lines, tables, media, spans.
#: (task_id, kind, writer, seq) is the event's identity: ``writer`` is a random id of the process
#: (or fork) that wrote it and ``seq`` its counter there, so replaying a batch stores it once.
#: ``kind`` leads inside the task so that the primary key serves "the events of kind K of task
#: T". Pages of a large task need two more indexes (revision 0003): ``ix_events_time`` (a kind's
#: events in time order: console, media, tables) and ``ix_events_scalars``, partial on scalars
#: (each series in iteration order, thinned in SQL). Each index costs insert throughput
#: (``benchmarks/bench_postgres.py``); the partial one costs only scalars.
events = Table(
    "events",
    metadata,
    Column("task_id", String(32), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("writer", BigInteger, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("ts", Float, nullable=False),
    Column("metric", String(512), nullable=True),
    Column("variant", String(512), nullable=True),
    Column("iter", BigInteger, nullable=True),
    Column("value", Float, nullable=True),
    Column("level", Integer, nullable=True),
    Column("text", Text, nullable=True),
    Column("data", Text, nullable=True),
    Index("ix_events_time", "task_id", "kind", "ts", "writer", "seq"),
    Index(
        "ix_events_scalars",
        "task_id",
        "metric",
        "variant",
        "iter",
        "ts",
        "writer",
        "seq",
        sqlite_where=text("kind = 'scalar'"),
        postgresql_where=text("kind = 'scalar'"),
    ),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("task_id", String(32), primary_key=True),
    Column("name", String(512), primary_key=True),
    Column("type", String(64), nullable=False),
    Column("mode", String(16), nullable=False, default="output"),
    Column("uri", Text, nullable=False),
    Column("content_size", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("timestamp", Float, nullable=False),
    Column("preview", Text, nullable=False, default=""),
    Column("meta", Text, nullable=False, default="{}"),
)

models = Table(
    "models",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("task_id", String(32), nullable=False, index=True),
    Column("mode", String(16), nullable=False, default="output"),
    Column("name", String(512), nullable=False),
    Column("framework", String(128), nullable=False, default=""),
    Column("config_text", Text, nullable=False, default=""),
    Column("uri", Text, nullable=False, default=""),
    Column("tags", Text, nullable=False, default="[]"),
    Column("created", Float, nullable=False),
)

#: The run tree's structure, one row per span event (kind ``span``), kept by the store when it
#: writes the event: the trace view pages through root spans and their descendants without
#: reading every span's payload, which stays in ``events`` (found by ``writer`` and ``seq``).
spans = Table(
    "spans",
    metadata,
    Column("task_id", String(32), primary_key=True),
    Column("span_id", String(64), primary_key=True),
    Column("parent_id", String(64), nullable=True),
    Column("kind", String(32), nullable=False),
    Column("name", Text, nullable=False, default=""),
    Column("status", String(16), nullable=False),
    Column("start_time", Float, nullable=False),
    Column("end_time", Float, nullable=False),
    Column("latency_ms", Float, nullable=True),
    Column("prompt_tokens", BigInteger, nullable=True),
    Column("completion_tokens", BigInteger, nullable=True),
    Column("total_tokens", BigInteger, nullable=True),
    Column("model_name", String(256), nullable=True),
    Column("writer", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),
    # Revision 0004: the conversation (LangGraph thread, OTel session) and trace of the span,
    # and the model call's cost in USD (NULL: no known price, shown as unknown, never $0).
    Column("thread_id", String(256), nullable=True),
    Column("trace_id", String(64), nullable=True),
    Column("cost_usd", Float, nullable=True),
    # Revision 0006: the price table that gave ``cost_usd`` ("genai-prices 0.2.5", an override
    # file, or "reported" when the producer priced the call itself).
    Column("price_source", String(128), nullable=True),
    Index("ix_spans_parent", "task_id", "parent_id"),
    # Root spans by start time (the trace view's pages).
    Index("ix_spans_start", "task_id", "start_time", "span_id"),
    # A task's threads, each thread's spans in time order (the Threads view).
    Index("ix_spans_thread", "task_id", "thread_id", "start_time"),
)

#: Per-task totals over its spans, for the tasks table (sortable by any of them). Updated in the
#: transaction that stores a span, only for spans not stored before, so replays count once.
task_stats = Table(
    "task_stats",
    metadata,
    Column("task_id", String(32), primary_key=True),
    Column("spans", BigInteger, nullable=False, default=0),
    Column("llm_calls", BigInteger, nullable=False, default=0),
    Column("prompt_tokens", BigInteger, nullable=False, default=0),
    Column("completion_tokens", BigInteger, nullable=False, default=0),
    Column("total_tokens", BigInteger, nullable=False, default=0),
    Column("errors", BigInteger, nullable=False, default=0),
    # Revision 0004: the sum of the priced calls' costs; NULL while no call had a known price.
    Column("cost_usd", Float, nullable=True),
    # Revision 0006: the price table of the task's latest priced span (or latest re-pricing).
    Column("price_source", String(128), nullable=True),
)

#: How many events of each kind a task has (the task page's tabs), kept in the transaction that
#: stores them, counting only events not stored before: counting a task's million events at
#: each page view would take longer than the page.
event_counts = Table(
    "event_counts",
    metadata,
    Column("task_id", String(32), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("events", BigInteger, nullable=False),
)

#: Human feedback on a task, one of its spans or one of its examples (revision 0006): a
#: number, a bool (``score`` 1 or 0) or a label. Rows are only added, never changed.
feedback = Table(
    "feedback",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("task_id", String(32), nullable=False),
    Column("span_id", String(64), nullable=True),
    Column("example_id", String(256), nullable=True),
    Column("name", String(256), nullable=False),
    Column("value_type", String(8), nullable=False),
    Column("score", Float, nullable=True),
    Column("label", Text, nullable=True),
    Column("comment", Text, nullable=False, default=""),
    Column("author", String(256), nullable=False, default=""),
    Column("source", String(16), nullable=False, default="sdk"),
    Column("created", Float, nullable=False),
    Index("ix_feedback_task", "task_id", "created"),
    Index("ix_feedback_example", "task_id", "example_id"),
)

# -- Revision 0007: span search, dashboards, saved searches -----------------------------------
# Searches across tasks ("every chat_model call slower than 2 s last week") page in start-time
# order: each index serves one kind of condition with the newest first. The full-text index of
# the spans' text (name, input, output, error) is dialect-specific and lives outside this
# metadata: see ``store/searchtext.py``.
Index("ix_spans_time", spans.c.start_time)
Index("ix_spans_kind_time", spans.c.kind, spans.c.start_time)
Index("ix_spans_model_time", spans.c.model_name, spans.c.start_time)
Index("ix_spans_status_time", spans.c.status, spans.c.start_time)
Index("ix_spans_latency", spans.c.latency_ms)
Index("ix_spans_tokens", spans.c.total_tokens)

#: Dashboards read these totals instead of the spans: one row per task, start hour (UTC, hours
#: since the epoch), span kind, model ('' for none) and latency bucket (``query/rollups.py``:
#: 8 per doubling, so percentiles are estimated within about 4.5%). A 30-day dashboard of a
#: million spans reads a few thousand rows. Spans not stored before are queued with them and
#: added by the indexer (``store/textindex.py``), which dashboards run first.
span_rollups = Table(
    "span_rollups",
    metadata,
    Column("task_id", String(32), primary_key=True),
    Column("hour", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(32), primary_key=True),
    Column("model", String(256), primary_key=True),
    Column("bucket", Integer, primary_key=True, autoincrement=False),
    Column("calls", BigInteger, nullable=False),
    Column("errors", BigInteger, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("prompt_tokens", BigInteger, nullable=False),
    Column("completion_tokens", BigInteger, nullable=False),
    Column("total_tokens", BigInteger, nullable=False),
    Column("cost_usd", Float, nullable=True),
    Index("ix_span_rollups_hour", "hour", "task_id"),
)

#: The dashboards' totals per UTC day (days since the epoch), for ranges over two days: per
#: project, kind, model and latency bucket (over time, by model and kind), and per task and
#: latency bucket (by task tag). A month of a million spans is a few ten thousand rows, whatever
#: the number of tasks; ``span_rollups`` (per task and hour) serves shorter ranges, and moving or
#: resetting a task moves or removes its share (``store/rollups.py``).
span_rollups_daily = Table(
    "span_rollups_daily",
    metadata,
    Column("project", String(512), primary_key=True),
    Column("day", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(32), primary_key=True),
    Column("model", String(256), primary_key=True),
    Column("bucket", Integer, primary_key=True, autoincrement=False),
    Column("calls", BigInteger, nullable=False),
    Column("errors", BigInteger, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("prompt_tokens", BigInteger, nullable=False),
    Column("completion_tokens", BigInteger, nullable=False),
    Column("total_tokens", BigInteger, nullable=False),
    Column("cost_usd", Float, nullable=True),
    Index("ix_span_rollups_daily_day", "day"),
)
span_rollups_task_daily = Table(
    "span_rollups_task_daily",
    metadata,
    Column("task_id", String(32), primary_key=True),
    Column("day", BigInteger, primary_key=True, autoincrement=False),
    Column("bucket", Integer, primary_key=True, autoincrement=False),
    Column("calls", BigInteger, nullable=False),
    Column("errors", BigInteger, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("prompt_tokens", BigInteger, nullable=False),
    Column("completion_tokens", BigInteger, nullable=False),
    Column("total_tokens", BigInteger, nullable=False),
    Column("cost_usd", Float, nullable=True),
    Index("ix_span_rollups_task_daily_day", "day", "task_id"),
)

#: Span queries saved under a name in a project (the search page's list); project '' holds
#: the searches across projects.
saved_searches = Table(
    "saved_searches",
    metadata,
    Column("project", String(512), primary_key=True),
    Column("name", String(256), primary_key=True),
    Column("query", Text, nullable=False),
    Column("created", Float, nullable=False),
)

# -- Revision 0009: the spans' text waiting for the full-text index ----------------------------
#: The spans stored but not yet in the full-text index ``span_text`` (their text rows) nor, when
#: ``totals`` is 1, in the dashboards' totals: written in the transaction that stores the spans,
#: moved into both in bulk by ``store/textindex.py``. ``id`` is the order they came in (SQLite:
#: the rowid).
span_text_pending = Table(
    "span_text_pending",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("task_id", String(32), nullable=False),
    Column("span_id", String(64), nullable=False),
    Column("name", Text, nullable=True),
    Column("input", Text, nullable=True),
    Column("output", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("totals", SmallInteger, nullable=False, server_default="0"),
)

#: Column order of an event tuple as the writer passes it to :meth:`Store.write`.
EVENT_COLUMNS: tuple[str, ...] = (
    "task_id",
    "writer",
    "seq",
    "kind",
    "ts",
    "metric",
    "variant",
    "iter",
    "value",
    "level",
    "text",
    "data",
)

# Revision 0005: datasets and experiment results, in a module of their own (registered on
# ``metadata`` when imported here).
from chaintrack.store import evaltables  # noqa: E402, F401
