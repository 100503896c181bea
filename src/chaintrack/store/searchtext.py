"""The full-text index of the spans' text (name, input, output, error), for ``~`` in span
queries (``chaintrack/query``).

SQLite: an FTS5 table with the trigram tokenizer, so that ``output ~ "refund"`` is a
case-insensitive substring match answered from the index (needles of 3 characters or more;
shorter ones scan the table's text). PostgreSQL: a plain table with pg_trgm GIN indexes, which
serve ``ILIKE '%…%'`` the same way. Both are named ``span_text`` and hold (task_id, span_id) with
the four texts. On SQLite a span's row in the index has the span's own rowid in ``spans``, so
that a search can test one span against the index (``query/search.py``).

The transaction that stores new spans does not index them: it adds their text rows to the plain
table ``span_text_pending`` (one executemany or COPY per batch, no tokenizing), and
``store/textindex.py`` moves them into the index in bulk, in transactions of its own.

The span's payload stays in ``events.data``; this is a copy of its text, laid out for search.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import Connection, MetaData, event, text
from sqlalchemy.sql import column, table

log = logging.getLogger("chaintrack.store")

#: The columns a query reads; the DDL below creates them.
span_text = table(
    "span_text",
    column("task_id"),
    column("span_id"),
    column("name"),
    column("input"),
    column("output"),
    column("error"),
)
TEXT_FIELDS = ("name", "input", "output", "error")
#: Longest text kept per field (the payload keeps the whole of it).
MAX_TEXT = 32_768

_SQLITE_CREATE = (
    # task_id and span_id are stored, not indexed (they name the span); the trigram tokenizer
    # folds case, so a MATCH is a case-insensitive substring search.
    "CREATE VIRTUAL TABLE IF NOT EXISTS span_text USING fts5("
    "task_id UNINDEXED, span_id UNINDEXED, name, input, output, error, tokenize='trigram')"
)
_SQLITE_INSERT = (
    "INSERT INTO span_text (task_id, span_id, name, input, output, error) VALUES (?, ?, ?, ?, ?, ?)"
)
_PG_CREATE = (
    "CREATE TABLE IF NOT EXISTS span_text (task_id VARCHAR(32) NOT NULL, "
    "span_id VARCHAR(64) NOT NULL, name TEXT, input TEXT, output TEXT, error TEXT, "
    "PRIMARY KEY (task_id, span_id))"
)


def create(conn: Connection) -> None:
    """Create the index (and for PostgreSQL the pg_trgm extension when allowed)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(_SQLITE_CREATE)
        return
    conn.exec_driver_sql(_PG_CREATE)
    try:
        with conn.begin_nested():
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:  # a role that may not create extensions
        log.warning(
            "chaintrack: the pg_trgm extension cannot be created (%s); text search (~) will "
            "scan instead of using an index. Ask the database owner to run CREATE EXTENSION "
            "pg_trgm, then run `chaintrack db upgrade`.",
            " ".join(str(exc).split())[:200],
        )
        return
    for field in TEXT_FIELDS:
        conn.exec_driver_sql(
            f"CREATE INDEX IF NOT EXISTS ix_span_text_{field} ON span_text "  # constant names
            f"USING gin ({field} gin_trgm_ops)"
        )


def drop(conn: Connection) -> None:
    conn.exec_driver_sql("DROP TABLE IF EXISTS span_text")


def _after_create(_target: MetaData, connection: Connection, **_kw: Any) -> None:
    create(connection)


def register(metadata: MetaData) -> None:
    """Create the index with the schema of a new store (``metadata.create_all``)."""
    event.listen(metadata, "after_create", _after_create)


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False, default=str)
    clipped: str = str(value)[:MAX_TEXT]
    # Lone surrogates cannot be stored as UTF-8, nor NUL in PostgreSQL.
    clipped = clipped.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return clipped.replace("\x00", "\ufffd")


def text_row(task_id: str, span_id: str, name: str, payload: dict[str, Any]) -> tuple[Any, ...]:
    """The index row of a span from its payload."""
    return (task_id, span_id, _clean(name), _clean(payload.get("input")),
            _clean(payload.get("output")), _clean(payload.get("error")))  # fmt: skip


_QUEUE_HEAD = (
    "INSERT INTO span_text_pending (task_id, span_id, name, input, output, error, totals) VALUES "
)
_QUEUE_MARKS = "(?, ?, ?, ?, ?, ?, 1)"


def queue_rows(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Queue the text rows of spans just stored for the index and the dashboards' totals
    (``store/textindex.py``), in the transaction that stores them: a process that dies before
    they are indexed loses nothing."""
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        from chaintrack.store import sqlitebulk

        # Multi-row statements, not a GIL take per row (see sqlitebulk.py).
        sqlitebulk.insert(conn, _QUEUE_HEAD, _QUEUE_MARKS, rows)
        return
    from chaintrack.store import pgspans

    pgspans.queue_text(conn, rows)


def insert_rows(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Index spans at once (revision 0007's backfill): one statement for many rows."""
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(_SQLITE_INSERT, rows)
        return
    from chaintrack.store import pgspans

    pgspans.store_text(conn, rows)


def delete_task(conn: Connection, task_id: str) -> None:
    conn.execute(text("DELETE FROM span_text WHERE task_id = :t"), {"t": task_id})
    conn.execute(text("DELETE FROM span_text_pending WHERE task_id = :t"), {"t": task_id})


def exists(conn: Connection) -> bool:
    from sqlalchemy import inspect

    return bool(inspect(conn).has_table("span_text"))


#: FTS5's own tables of ``span_text``.
_SHADOW = frozenset(f"span_text_{s}" for s in ("data", "idx", "content", "docsize", "config"))


def owns(table_name: str) -> bool:
    """Whether a table is this index's (SQLite's FTS5 adds span_text_data, _idx…), outside
    ``schema.metadata``."""
    return table_name == "span_text" or table_name in _SHADOW
