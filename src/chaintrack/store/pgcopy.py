"""Events into PostgreSQL in bulk with COPY, storing a replayed event once.

A batch is first copied straight into ``events``, inside a savepoint: when none of its keys
(task_id, kind, writer, seq) is stored yet, which is every batch but a replay, that is all. When
one is (a replay after a retry or a crash, or a key twice in the batch), the primary key refuses
the COPY as a whole, the savepoint is rolled back, and the batch goes the careful way: COPY into
a temporary table, then one ``INSERT … SELECT … ON CONFLICT DO NOTHING``. Either way the
primary key decides, so no event is ever stored twice; the direct way writes each row once
instead of twice. See ``benchmarks/bench_postgres.py`` for what each step gains.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Connection

from chaintrack.store import pgspans
from chaintrack.store.records import EventRow
from chaintrack.store.schema import EVENT_COLUMNS

_STAGE = "chaintrack_events_in"
_COLUMNS = ", ".join(EVENT_COLUMNS)
#: The staging table lives as long as the connection and is emptied at each commit. Its
#: columns are spelled out (not ``LIKE events``): it is made when a connection opens, which may
#: be before the schema exists.
_CREATE_STAGE = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE} (task_id varchar(32), writer bigint, "
    "seq bigint, kind varchar(16), ts double precision, metric varchar(512), "
    "variant varchar(512), iter bigint, value double precision, level integer, text text, "
    "data text) ON COMMIT DELETE ROWS"
)
_COPY = f"COPY {_STAGE} ({_COLUMNS}) FROM STDIN (FORMAT BINARY)"
_COPY_DIRECT = f"COPY events ({_COLUMNS}) FROM STDIN (FORMAT BINARY)"
#: The column types of the staging table and ``events``, for binary COPY (in ``EVENT_COLUMNS``
#: order).
_TYPES = ("varchar", "int8", "int8", "varchar", "float8", "varchar", "varchar", "int8",
          "float8", "int4", "text", "text")  # fmt: skip
_MOVE = (  # built from constant names only
    f"INSERT INTO events ({_COLUMNS}) SELECT {_COLUMNS} FROM {_STAGE} "  # noqa: S608
    "ON CONFLICT DO NOTHING RETURNING task_id, kind"
)


class UnstorableTextError(ValueError):
    """A string holds a character PostgreSQL's text cannot (NUL)."""


def is_unstorable_text(exc: BaseException) -> bool:
    """Whether ``exc`` is PostgreSQL refusing a NUL character in a string."""
    return isinstance(exc, UnstorableTextError) or "(0x00)" in str(exc) or ": 0x00" in str(exc)


def prepare_connection(dbapi_connection: Any, _record: object) -> None:
    """A new connection's settings and staging table (an engine ``connect`` listener).

    JIT compilation is turned off for chaintrack's sessions: its queries are short page reads
    whose cost estimates still cross ``jit_above_cost`` on large tasks, and compiling took longer
    than running them (16 of 57 ms counting a trace's roots among 40,000 spans).
    """
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET jit = off")
        cursor.execute(_CREATE_STAGE)
        cursor.execute(pgspans.CREATE_STAGE)
    dbapi_connection.commit()


def copy_events(conn: Connection, rows: list[EventRow]) -> Counter[tuple[str, str]]:
    """Store ``rows`` (tuples in ``EVENT_COLUMNS`` order) in the connection's transaction,
    skipping those whose (task_id, kind, writer, seq) is stored already (or comes earlier in
    ``rows``: the first one is kept). Returns how many were stored per (task_id, kind)."""
    import psycopg

    savepoint = conn.begin_nested()
    try:
        _copy(conn, _COPY_DIRECT, rows)
    except psycopg.errors.UniqueViolation:
        savepoint.rollback()
    else:
        savepoint.commit()
        return Counter((row[0], row[3]) for row in rows)
    _copy(conn, _COPY, rows)
    return Counter((task_id, kind) for task_id, kind in conn.exec_driver_sql(_MOVE))


def _copy(conn: Connection, statement: str, rows: list[EventRow]) -> None:
    import psycopg

    cursor = conn.connection.cursor()
    try:
        with cursor.copy(statement) as copy:
            copy.set_types(_TYPES)
            for row in rows:
                copy.write_row(row)
    except psycopg.DataError as exc:
        if is_unstorable_text(exc):
            raise UnstorableTextError(str(exc)) from None
        raise
    finally:
        cursor.close()
