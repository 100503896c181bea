"""Moving the spans stored into the full-text index ``span_text`` and the dashboards' totals.

Storing a span neither tokenizes its text nor adds it to the totals (the trigram index and the
totals' upserts cost more than the rest of the write): the write transaction adds the span's
text row to the plain table ``span_text_pending``, and :func:`catch_up` moves pending rows into
the index in bulk, a chunk per short transaction of its own (``INSERT … SELECT`` then
``DELETE``, in SQL; larger transactions also index faster than the writes' batches did), adding
the chunk's spans to the totals (``store/rollups.py``) in the same transaction. Pending rows are
written with the spans, so a process that dies before they are indexed loses nothing: whoever
catches up next indexes and totals them. Resetting a task drops its pending rows; moving a task
to another project needs nothing (its pending spans are totalled under the project it has
when they are).

Who catches up:

- every text search (``~`` or ``=`` on name, input, output, error; ``query/search.py``) and
  every dashboard (``query/stats.py``) first catches up with every row pending when it starts,
  so its results are complete: a span stored (flushed) before is found and counted;
- the tracking server (``chaintrack server``, ``chaintrack ui``) runs a thread named
  ``chaintrack-indexer`` that catches up every ``CHAINTRACK_INDEX_INTERVAL`` seconds;
- the SDK's writer thread catches up after a write that emptied its queue (never in the
  caller's thread).

Any number of them may run at once, in one process or several: on SQLite each chunk holds the
database's write lock; on PostgreSQL each chunk takes its rows with ``FOR UPDATE`` (the
background ones ``SKIP LOCKED``), so no row is indexed twice.

On SQLite a row enters the index with the rowid of its span in ``spans`` (looked up by key as
it moves), so a search can test a span against the index by rowid (``query/search.py``).
"""

from __future__ import annotations

import weakref

from sqlalchemy import Connection, Engine

from chaintrack.store import rollups

#: Rows moved per transaction.
CHUNK = 5_000
#: A SQLite store's two engines, (the one that reads, the one that writes: BEGIN IMMEDIATE),
#: under each of them: the queue is looked at without the write lock, and moved with it.
_PAIRS: weakref.WeakKeyDictionary[Engine, tuple[Engine, Engine]] = weakref.WeakKeyDictionary()

_TEXT = "task_id, span_id, name, input, output, error"
_SPAN = ("s.task_id, s.start_time, s.kind, s.model_name, s.latency_ms, s.status, "
         "s.prompt_tokens, s.completion_tokens, s.total_tokens, s.cost_usd")  # fmt: skip
_ANY = "SELECT id FROM span_text_pending ORDER BY id LIMIT 1"
_TOP = "SELECT max(id) FROM span_text_pending"
# The last id of the next chunk, up to ``top`` (the rows pending when catching up began).
_SQLITE_NEXT = (
    "SELECT max(id) FROM (SELECT id FROM span_text_pending WHERE id <= ? ORDER BY id LIMIT ?)"
)
# CROSS JOIN keeps the pending rows the outer loop (each span found by its key).
_SQLITE_TOTALS = (
    f"SELECT {_SPAN} FROM span_text_pending p CROSS JOIN spans s "  # noqa: S608
    "ON s.task_id = p.task_id AND s.span_id = p.span_id WHERE p.id <= ? AND p.totals = 1"
)
# OR REPLACE: a span indexed before (a store repaired from one whose index was kept) is
# indexed once.
_SQLITE_MOVE = (
    "INSERT OR REPLACE INTO span_text (rowid, task_id, span_id, name, input, output, error) "
    "SELECT s.rowid, p.task_id, p.span_id, p.name, p.input, p.output, p.error "
    "FROM span_text_pending p CROSS JOIN spans s "
    "ON s.task_id = p.task_id AND s.span_id = p.span_id WHERE p.id <= ? ORDER BY p.id"
)
_SQLITE_DELETE = "DELETE FROM span_text_pending WHERE id <= ?"


def _pg_move(skip_locked: bool) -> str:
    lock = "FOR UPDATE SKIP LOCKED" if skip_locked else "FOR UPDATE"
    return (
        "WITH moved AS (DELETE FROM span_text_pending WHERE id IN (SELECT id FROM "  # noqa: S608
        f"span_text_pending WHERE id <= %s ORDER BY id LIMIT %s {lock}) "
        f"RETURNING {_TEXT}, totals), "
        f"added AS (INSERT INTO span_text ({_TEXT}) SELECT {_TEXT} FROM moved "
        "ORDER BY task_id, span_id ON CONFLICT DO NOTHING) "
        f"SELECT m.totals, {_SPAN} FROM moved m LEFT JOIN spans s "
        "ON s.task_id = m.task_id AND s.span_id = m.span_id"
    )


_SPAN_KEYS = ("task_id", "start_time", "kind", "model_name", "latency_ms", "status",
              "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd")  # fmt: skip


def register(read: Engine, write: Engine) -> None:
    """A store's two SQLite engines: look with ``read``, move with ``write``."""
    _PAIRS[read] = _PAIRS[write] = (read, write)


def catch_up(engine: Engine, *, limit: int | None = None, background: bool = False) -> int:
    """Index and total the spans pending when called (at most ``limit`` of them), ``CHUNK``
    per transaction; how many were moved. ``background``: on PostgreSQL, step over rows
    another indexer is moving instead of waiting for it (a search waits, to see them)."""
    reader, engine = _PAIRS.get(engine, (engine, engine))
    with reader.connect() as look:
        if look.exec_driver_sql(_ANY).first() is None:
            return 0
        top = look.exec_driver_sql(_TOP).scalar()
    with engine.connect() as conn:
        moved = 0
        while top is not None and (limit is None or moved < limit):
            size = CHUNK if limit is None else min(CHUNK, limit - moved)
            with conn.begin():
                if engine.dialect.name == "sqlite":
                    count, last = _move_sqlite(conn, top, size)
                else:
                    count, last = _move_pg(conn, top, size, background)
            moved += count
            if count == 0 or (last is not None and last >= top):
                break
    return moved


def _move_sqlite(conn: Connection, top: int, size: int) -> tuple[int, int | None]:
    last = conn.exec_driver_sql(_SQLITE_NEXT, (top, size)).scalar()
    if last is None:
        return 0, None
    totalled = [dict(zip(_SPAN_KEYS, r, strict=True))
                for r in conn.exec_driver_sql(_SQLITE_TOTALS, (last,))]  # fmt: skip
    conn.exec_driver_sql(_SQLITE_MOVE, (last,))
    count = conn.exec_driver_sql(_SQLITE_DELETE, (last,)).rowcount
    rollups.add_spans(conn, totalled)
    return count, int(last)


def _move_pg(conn: Connection, top: int, size: int, background: bool) -> tuple[int, None]:
    found = conn.exec_driver_sql(_pg_move(background), (top, size)).all()
    totalled = [dict(zip(_SPAN_KEYS, r[1:], strict=True))
                for r in found if r[0] == 1 and r[1] is not None]  # fmt: skip
    rollups.add_spans(conn, totalled)
    return len(found), None


def backlog(engine: Engine) -> int:
    """About how many spans wait for the index (ids run in order: read off the key's ends)."""
    with _PAIRS.get(engine, (engine, engine))[0].connect() as conn:
        ends = conn.exec_driver_sql("SELECT min(id), max(id) FROM span_text_pending").first()
    return 0 if ends is None or ends[0] is None else int(ends[1]) - int(ends[0]) + 1
