"""The span index's rows into PostgreSQL with binary COPY (the ``spans`` rows and their text).

``spans``: the rows are copied into a temporary staging table, then moved with one
``INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING``, so that the primary key decides which
spans are new (a replay, or another server process storing the same span, adds nothing) and the
caller learns which ones to count. ``span_text_pending``: the text rows of the spans just stored,
copied straight into that plain table (``store/textindex.py`` moves them into ``span_text`` and
its trigram indexes later). ``span_text`` itself (revision 0007's backfill): copied inside a
savepoint; should a row be there already, the savepoint is rolled back and the rows are inserted
with ``ON CONFLICT DO NOTHING``.

Binary COPY encodes rows in psycopg's C code: the statements it replaces (an ``unnest`` of one
array per column, and a per-row ``executemany``) built every value in Python, which cost more of
the server's CPU than PostgreSQL spent storing the rows (see docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

_STAGE = "chaintrack_spans_in"
#: The ``spans`` columns at the head revision, in the order of ``spanindex``'s rows.
COLUMNS = ("task_id", "span_id", "parent_id", "kind", "name", "status", "start_time",
           "end_time", "latency_ms", "prompt_tokens", "completion_tokens", "total_tokens",
           "model_name", "thread_id", "trace_id", "cost_usd", "price_source", "writer",
           "seq")  # fmt: skip
_TYPES = ("varchar", "varchar", "varchar", "varchar", "text", "varchar", "float8", "float8",
          "float8", "int8", "int8", "int8", "varchar", "varchar", "varchar", "float8",
          "varchar", "int8", "int8")  # fmt: skip
_NAMES = ", ".join(COLUMNS)
#: Spelled out (not ``LIKE spans``): it is made when a connection opens, which may be before the
#: schema exists.
CREATE_STAGE = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE} (task_id varchar(32), span_id varchar(64), "
    "parent_id varchar(64), kind varchar(32), name text, status varchar(16), "
    "start_time double precision, end_time double precision, latency_ms double precision, "
    "prompt_tokens bigint, completion_tokens bigint, total_tokens bigint, "
    "model_name varchar(256), thread_id varchar(256), trace_id varchar(64), "
    "cost_usd double precision, price_source varchar(128), writer bigint, seq bigint) "
    "ON COMMIT DELETE ROWS"
)
_COPY_STAGE = f"COPY {_STAGE} ({_NAMES}) FROM STDIN (FORMAT BINARY)"
_MOVE = (  # built from constant names only
    f"INSERT INTO spans ({_NAMES}) SELECT {_NAMES} FROM {_STAGE} "  # noqa: S608
    # In key order: concurrent writers take their row locks in one order (no deadlock).
    "ORDER BY task_id, span_id ON CONFLICT DO NOTHING RETURNING task_id, span_id"
)
_EMPTY = f"DELETE FROM {_STAGE}"  # noqa: S608 - a constant name
_TEXT_COLUMNS = "task_id, span_id, name, input, output, error"
_COPY_TEXT = f"COPY span_text ({_TEXT_COLUMNS}) FROM STDIN (FORMAT BINARY)"
_COPY_PENDING = f"COPY span_text_pending ({_TEXT_COLUMNS}, totals) FROM STDIN (FORMAT BINARY)"
_PENDING_TYPES = ("varchar", "varchar", "text", "text", "text", "text", "int2")
_TEXT_TYPES = ("varchar", "varchar", "text", "text", "text", "text")
_TEXT_INSERT = (
    f"INSERT INTO span_text ({_TEXT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s) "  # noqa: S608
    "ON CONFLICT DO NOTHING"
)


def fits(row: dict[str, Any]) -> bool:
    """Whether ``row`` has the head revision's columns (a backfill at an older one has not)."""
    return tuple(row) == COLUMNS


def _copy(conn: Connection, statement: str, types: tuple[str, ...], rows: Any) -> None:
    cursor = conn.connection.cursor()
    try:
        with cursor.copy(statement) as copy:
            copy.set_types(types)
            write = copy.write_row
            for row in rows:
                write(row)
    finally:
        cursor.close()


def store_spans(conn: Connection, rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Insert ``rows`` (``fits``), skipping spans stored before; the keys of those stored."""
    _copy(conn, _COPY_STAGE, _TYPES, (tuple(row.values()) for row in rows))
    stored = [(t, s) for t, s in conn.exec_driver_sql(_MOVE)]
    conn.exec_driver_sql(_EMPTY)  # the stage is emptied at commit; a second batch may follow
    return stored


def queue_text(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Queue the text rows of spans just stored for the full-text index and the totals."""
    _copy(conn, _COPY_PENDING, _PENDING_TYPES, ((*row, 1) for row in rows))


def store_text(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Add the text rows of spans just stored (see the module docstring)."""
    import psycopg

    savepoint = conn.begin_nested()
    try:
        _copy(conn, _COPY_TEXT, _TEXT_TYPES, rows)
    except psycopg.errors.UniqueViolation:
        savepoint.rollback()
        conn.exec_driver_sql(_TEXT_INSERT, rows)
    else:
        savepoint.commit()
