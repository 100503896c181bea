"""Inserting many rows into SQLite without holding Python's GIL row by row.

The stdlib driver's ``executemany`` releases the GIL around every row's ``sqlite3_step`` and
takes it back before binding the next row. While another thread of the application runs Python
code, each take waits for that thread's switch interval (5 ms): a writer thread inserting 20,000
rows then crawls (15,000 rows/s instead of 160,000 on the machine of docs/benchmarks.md), and
everything it has not written yet stays in memory meanwhile.

So a batch goes to SQLite as one JSON array (``orjson``, in C) and one statement,
``INSERT … SELECT value->>0, value->>1 … FROM json_each(?)``: SQLite parses the array and
inserts every row in a single step, with the GIL released the whole time. Alone it costs about
a tenth more than ``executemany``; beside a busy thread it is five times faster.

Events are grouped by task, writer and kind, and those three columns are bound once per group
rather than repeated in every row's JSON (``_EVENT_INSERT_JSON``): the array SQLite parses is
then a third shorter, and the insert a fifth cheaper than ``executemany`` of the full rows
(``benchmarks/bench_bulk_insert.py`` prints both).

JSON cannot carry every value exactly: infinities (orjson writes ``null``), integers beyond
53 bits, text with lone surrogates or NUL characters (``->>`` cuts the text there). Such a
batch takes ``executemany``, which stores them as
before (or raises the error the store maps, for surrogates).
"""

from __future__ import annotations

import math
import operator
from collections import Counter
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection

from chaintrack.store.queries import NAN_TEXT
from chaintrack.store.records import EventRow
from chaintrack.store.schema import EVENT_COLUMNS

#: Rows per batch below which ``executemany`` is used (the JSON text is not worth it).
MIN_JSON_ROWS = 16

_EVENT_NAMES = ", ".join(EVENT_COLUMNS)
#: The driver's statement, for ``executemany`` (built from constant column names only).
EVENT_INSERT = (
    f"INSERT OR IGNORE INTO events ({_EVENT_NAMES}) "  # noqa: S608
    f"VALUES ({', '.join('?' for _ in EVENT_COLUMNS)})"
)
_INF = math.inf


def json_select(count: int) -> str:
    """``value->>0, …`` for rows of ``count`` columns given as JSON arrays."""
    return ", ".join(f"value->>{i}" for i in range(count))


#: The columns bound once per group of events (see the module docstring), by name.
_GROUP_BOUND = {"task_id": "?1", "writer": "?2", "kind": "?3"}
#: The other columns, in ``EVENT_COLUMNS`` order: each row's JSON array holds these only.
_EVENT_VARYING = tuple(i for i, c in enumerate(EVENT_COLUMNS) if c not in _GROUP_BOUND)
_varying = operator.itemgetter(*_EVENT_VARYING)
_EVENT_INSERT_JSON = (
    f"INSERT OR IGNORE INTO events ({_EVENT_NAMES}) SELECT "  # noqa: S608
    + ", ".join(
        _GROUP_BOUND.get(c) or f"value->>{_EVENT_VARYING.index(i)}"
        for i, c in enumerate(EVENT_COLUMNS)
    )
    + " FROM json_each(?4)"
)
#: Where the value and time columns are in a row of varying columns (checked for infinities).
_VALUE_AT = _EVENT_VARYING.index(EVENT_COLUMNS.index("value"))
_TS_AT = _EVENT_VARYING.index(EVENT_COLUMNS.index("ts"))


def as_json(rows: Sequence[Sequence[Any]]) -> bytes | None:
    """``rows`` as one JSON array of arrays, or None when JSON cannot carry them exactly
    (integers beyond 53 bits, text with lone surrogates or NUL, anything but text, numbers and
    None).
    Floats are not checked here: the caller knows its float columns (see :func:`finite`)."""
    try:
        data = orjson.dumps(rows, option=orjson.OPT_STRICT_INTEGER)
    except orjson.JSONEncodeError:
        return None
    # SQLite's ->> ends a text at an escaped NUL character; executemany keeps the whole text.
    return None if b"\\u0000" in data else data


def finite(rows: Sequence[Sequence[Any]], column: int) -> bool:
    """Whether ``column`` holds no infinity in any row (NaN is the caller's to handle)."""
    return not any(r[column] == _INF or r[column] == -_INF for r in rows)


def insert(conn: Connection, json_sql: str, many_sql: str, rows: Sequence[Sequence[Any]],
           exact: bool) -> int:  # fmt: skip
    """Run ``json_sql`` on the rows as JSON when ``exact`` (their floats are finite) and JSON
    can carry them, else ``many_sql`` with ``executemany``; the number of rows inserted."""
    data = as_json(rows) if exact and len(rows) >= MIN_JSON_ROWS else None
    if data is None:
        return int(conn.exec_driver_sql(many_sql, list(rows)).rowcount)
    # SQLite reads JSON text; bytes would be bound as a BLOB (JSONB to SQLite 3.45+).
    return int(conn.exec_driver_sql(json_sql, (data.decode("utf-8"),)).rowcount)


def _nan_as_null(row: EventRow) -> EventRow:
    """SQLite stores a NaN as NULL. A NaN scalar (a diverged loss) is therefore written as a
    NULL value with a marker in the ``text`` column (unused by scalars) and read back as NaN
    (``queries.event_from_row``). PostgreSQL stores NaN itself."""
    task_id, writer, seq, kind, ts, metric, variant, iteration, value, level, _, data = row
    if value is None or not math.isnan(value):
        return row
    return (task_id, writer, seq, kind, ts, metric, variant, iteration, None, level, NAN_TEXT,
            data)  # fmt: skip


def _event_rows(rows: list[EventRow]) -> list[EventRow]:
    # NaN is the only float unequal to itself: the common case (no NaN) costs no copy.
    if all(r[8] == r[8] for r in rows):
        return rows
    return [_nan_as_null(r) for r in rows]


def insert_events(conn: Connection, rows: list[EventRow]) -> Counter[tuple[str, str]]:
    """Store ``rows``, skipping keys stored already; how many were stored per (task, kind)."""
    groups: dict[tuple[str, int, str], list[EventRow]] = {}
    for row in rows:
        groups.setdefault((row[0], row[1], row[3]), []).append(row)
    stored: Counter[tuple[str, str]] = Counter()
    for (task_id, writer, kind), group in groups.items():
        clean = _event_rows(group)
        stored[task_id, kind] += _insert_group(conn, task_id, writer, kind, clean)
    return stored


def _insert_group(conn: Connection, task_id: str, writer: int, kind: str,
                  rows: list[EventRow]) -> int:  # fmt: skip
    """One group's rows: their varying columns as JSON, the group's own bound once."""
    data = None
    if len(rows) >= MIN_JSON_ROWS and type(writer) is int:
        varying = list(map(_varying, rows))
        if finite(varying, _VALUE_AT) and finite(varying, _TS_AT):
            data = as_json(varying)
    if data is None:
        return int(conn.exec_driver_sql(EVENT_INSERT, rows).rowcount)
    bound = (task_id, writer, kind, data.decode("utf-8"))
    return int(conn.exec_driver_sql(_EVENT_INSERT_JSON, bound).rowcount)


def insert_dicts(conn: Connection, table: str, rows: list[dict[str, Any]],
                 float_columns: Sequence[str]) -> None:  # fmt: skip
    """INSERT ``rows`` (dicts with the same keys in the same order) into ``table`` in one
    statement; ``float_columns`` are checked for infinities. ``table`` and the keys are the
    schema's names, never the data's."""
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    tuples = [tuple(row.values()) for row in rows]
    exact = all(finite(tuples, columns.index(c)) for c in float_columns if c in columns)
    insert(
        conn,
        f"INSERT INTO {table} ({names}) SELECT {json_select(len(columns))} FROM json_each(?)",  # noqa: S608
        f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})",  # noqa: S608
        tuples,
        exact,
    )
