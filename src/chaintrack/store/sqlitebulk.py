"""Inserting many rows into SQLite in few statements, each run with the GIL released.

The stdlib driver's ``executemany`` releases the GIL around every row's ``sqlite3_step`` and
takes it back before binding the next row. While another thread of the application runs Python
code, each take waits for that thread's switch interval (5 ms): a writer thread inserting 20,000
rows then crawls, and everything it has not written yet stays in memory meanwhile.

So a batch goes to SQLite as multi-row ``INSERT … VALUES (?, …), (?, …), …`` statements of up to
``MAX_ROWS`` rows: the driver binds every value of a statement in C, then SQLite inserts all its
rows in one step with the GIL released, one take of the GIL per statement instead of one per
row. A statement of ``n`` rows is prepared once per connection and size (the driver keeps
prepared statements): a batch is cut into full statements and a remainder in powers of two
(1,000 rows = 512 + 256 + 128 + 64 + 32 + 8), so that a handful of sizes serve every batch; the
last rows under ``MIN_ROWS`` go through ``executemany``.

The values are bound exactly as ``executemany`` binds them (the same driver code), so every value
is stored as a row-by-row insert stores it: infinities, NUL characters, 64-bit integers. Alone,
this stores scalar events 1.7x and span events 1.2x as fast as ``executemany`` of the same rows,
and it keeps most of its speed beside a busy thread (``benchmarks/bench_bulk_insert.py`` prints
the ways side by side). An earlier version sent a batch as one JSON array to ``json_each``; it
had to escape and parse every text (35% slower than ``executemany`` alone for a span's kilobyte
of JSON) and could not carry infinities, NUL characters or integers beyond 53 bits.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection

from chaintrack.store.queries import NAN_TEXT
from chaintrack.store.records import EventRow
from chaintrack.store.schema import EVENT_COLUMNS

#: SQLite's limit on the parameters of one statement (SQLITE_MAX_VARIABLE_NUMBER since 3.32).
MAX_PARAMETERS = 32_766
#: Rows per statement at most (a power of two: preparing a statement costs about 3 µs a row).
MAX_ROWS = 2_048
#: Rows below which ``executemany`` is used (not worth a statement size of their own).
MIN_ROWS = 16

_EVENT_NAMES = ", ".join(EVENT_COLUMNS)
_EVENT_HEAD = f"INSERT OR IGNORE INTO events ({_EVENT_NAMES}) VALUES "  # noqa: S608
_EVENT_MARKS = f"({', '.join('?' for _ in EVENT_COLUMNS)})"
#: The driver's statement, for ``executemany`` (built from constant column names only).
EVENT_INSERT = _EVENT_HEAD + _EVENT_MARKS

#: The statement text of each (head, row marks, rows): built once, then looked up.
_STATEMENTS: dict[tuple[str, str, int], str] = {}


def statement(head: str, marks: str, rows: int) -> str:
    """``head`` followed by ``rows`` copies of ``marks`` (a row's ``(?, ?, …)``)."""
    key = (head, marks, rows)
    text = _STATEMENTS.get(key)
    if text is None:
        text = _STATEMENTS[key] = head + ", ".join(itertools.repeat(marks, rows))
    return text


def chunk_sizes(count: int, parameters: int) -> Iterator[int]:
    """How ``count`` rows of ``parameters`` values each are cut into statements: full ones, then
    the remainder in powers of two down to ``MIN_ROWS``, then what is left (executemany)."""
    top = MAX_ROWS
    while top > MIN_ROWS and top * parameters > MAX_PARAMETERS:
        top //= 2
    while count >= top:
        yield top
        count -= top
    size = top // 2
    while size >= MIN_ROWS:
        if count >= size:
            yield size
            count -= size
        size //= 2
    if count:
        yield count


def insert(conn: Connection, head: str, marks: str, rows: Sequence[Sequence[Any]]) -> int:
    """Insert ``rows`` with ``head`` (``INSERT … INTO t (…) VALUES ``) and ``marks`` (one row's
    ``(?, …)``, constants allowed), in multi-row statements; the number of rows inserted."""
    parameters = marks.count("?")
    inserted = 0
    start = 0
    for size in chunk_sizes(len(rows), parameters):
        part = rows[start : start + size]
        start += size
        if size < MIN_ROWS:
            inserted += int(conn.exec_driver_sql(head + marks, list(part)).rowcount)
            continue
        values = tuple(itertools.chain.from_iterable(part))
        inserted += int(conn.exec_driver_sql(statement(head, marks, size), values).rowcount)
    return inserted


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
    groups: dict[tuple[str, str], list[EventRow]] = {}
    for row in rows:
        groups.setdefault((row[0], row[3]), []).append(row)
    stored: Counter[tuple[str, str]] = Counter()
    for key, group in groups.items():
        stored[key] = insert(conn, _EVENT_HEAD, _EVENT_MARKS, _event_rows(group))
    return stored


def insert_dicts(conn: Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """INSERT ``rows`` (dicts with the same keys in the same order) into ``table``. ``table``
    and the keys are the schema's names, never the data's."""
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    marks = f"({', '.join('?' * len(columns))})"
    head = f"INSERT INTO {table} ({names}) VALUES "  # noqa: S608
    insert(conn, head, marks, [tuple(r.values()) for r in rows])
