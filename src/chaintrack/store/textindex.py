"""Moving the spans' text from ``span_text_pending`` into the full-text index ``span_text``.

Storing a span does not tokenize its text (the trigram index cost more than the rest of the
write): the write transaction adds the span's text row to the plain table
``span_text_pending``, and :func:`catch_up` moves pending rows into the index in bulk, a chunk
per short transaction of its own (``INSERT … SELECT`` then ``DELETE``, in SQL; larger
transactions also index faster than the writes' batches did). Pending rows are written with the
spans, so a process that dies before they are indexed loses nothing: whoever catches up next
indexes them.

Who catches up:

- every text search (``~`` or ``=`` on name, input, output, error; ``query/search.py``) first
  catches the index up with every row pending when it starts, so its results are complete: a
  span stored (flushed) before the search is found by it;
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

import logging
from typing import Any

from sqlalchemy import Engine

log = logging.getLogger("chaintrack.store")

#: Rows moved per transaction.
CHUNK = 5_000

_TEXT = "task_id, span_id, name, input, output, error"
_ANY = "SELECT id FROM span_text_pending ORDER BY id LIMIT 1"
_TOP = "SELECT max(id) FROM span_text_pending"
# The last id of the next chunk, up to ``top`` (the rows pending when catching up began).
_SQLITE_NEXT = (
    "SELECT max(id) FROM (SELECT id FROM span_text_pending WHERE id <= ? ORDER BY id LIMIT ?)"
)
# CROSS JOIN keeps the pending rows the outer loop (each span found by its key). OR REPLACE:
# a span indexed before (a store repaired from one whose index was kept) is indexed once.
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
        f"span_text_pending WHERE id <= %s ORDER BY id LIMIT %s {lock}) RETURNING {_TEXT}), "
        f"added AS (INSERT INTO span_text ({_TEXT}) SELECT {_TEXT} FROM moved "
        "ORDER BY task_id, span_id ON CONFLICT DO NOTHING) SELECT count(*) FROM moved"
    )


def catch_up(engine: Engine, *, limit: int | None = None, background: bool = False) -> int:
    """Index the text rows pending when called (at most ``limit`` of them), ``CHUNK`` per
    transaction; how many were moved. ``background``: on PostgreSQL, step over rows another
    indexer is moving instead of waiting for it (a search waits, to see them indexed)."""
    if engine.dialect.name == "sqlite":
        return _catch_up_sqlite(engine, limit)
    return _catch_up_pg(engine, limit, background)


def _catch_up_sqlite(engine: Engine, limit: int | None) -> int:
    # The pool's DBAPI connection, so that the transaction takes the write lock when it begins
    # (BEGIN IMMEDIATE) whichever of the store's engines it comes from.
    raw: Any = engine.raw_connection()
    moved = 0
    try:
        cursor = raw.cursor()
        if cursor.execute(_ANY).fetchone() is None:
            return 0
        top = cursor.execute(_TOP).fetchone()[0]
        while top is not None and (limit is None or moved < limit):
            size = CHUNK if limit is None else min(CHUNK, limit - moved)
            cursor.execute("BEGIN IMMEDIATE")
            try:
                last = cursor.execute(_SQLITE_NEXT, (top, size)).fetchone()[0]
                if last is not None:
                    cursor.execute(_SQLITE_MOVE, (last,))
                    moved += cursor.execute(_SQLITE_DELETE, (last,)).rowcount
                cursor.execute("COMMIT")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            if last is None or last >= top:
                break
        cursor.close()
    finally:
        raw.close()
    return moved


def _catch_up_pg(engine: Engine, limit: int | None, background: bool) -> int:
    moved = 0
    statement = _pg_move(background)
    with engine.connect() as conn:
        if conn.exec_driver_sql(_ANY).first() is None:
            conn.rollback()
            return 0
        top = conn.exec_driver_sql(_TOP).scalar()
        conn.rollback()
        while top is not None and (limit is None or moved < limit):
            size = CHUNK if limit is None else min(CHUNK, limit - moved)
            with conn.begin():
                count = int(conn.exec_driver_sql(statement, (top, size)).scalar_one())
            moved += count
            if count == 0:
                break
    return moved


def pending(engine: Engine) -> int:
    """How many text rows wait for the index."""
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM span_text_pending").scalar_one())
