"""Why the SQLite store inserts a batch in multi-row statements (``store/sqlitebulk.py``).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_bulk_insert.py            # 500,000 rows
    PYTHONPATH=src .venv/bin/python benchmarks/bench_bulk_insert.py --rows 100000

Inserts the same event rows into a fresh store (SqlStore's schema and pragmas) in transactions
of 20,000 rows (the SDK writer's largest batch), three ways: the stdlib driver's
``executemany``; ``INSERT … SELECT … FROM json_each(?)`` with the batch as one orjson text (the
store's earlier way); and the store's own ``sqlitebulk.insert_events`` (multi-row ``VALUES``
statements, through SQLAlchemy as the store runs it). Two kinds of rows: scalars, and spans
(a row carrying about 700 bytes of JSON, which the JSON way must escape and SQLite unescape).
Each alone, and beside a second Python thread that only counts (an application busy on
another core). Prints rows/s and the inserting thread's CPU time. ``executemany`` takes the GIL
back for every row, and beside a busy thread each take waits for that thread's switch interval:
a way still running after ``BUDGET`` seconds stops after its current transaction, and its rate
is that of the rows it stored.
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson

from chaintrack.sdk.writer import BATCH_MAX
from chaintrack.store import sqlitebulk
from chaintrack.store.schema import EVENT_COLUMNS
from chaintrack.store.sql import SqlStore

#: Every row as a JSON array, every array in one JSON text (the store's earlier statement).
FULL_ROWS_JSON = (
    f"INSERT OR IGNORE INTO events ({', '.join(EVENT_COLUMNS)}) SELECT "
    + ", ".join(f"value->>{i}" for i in range(len(EVENT_COLUMNS)))
    + " FROM json_each(?)"
)
WAYS = ("executemany", "json_each", "multi-row VALUES")
#: Seconds after which a way stops taking batches (executemany beside a busy thread can take
#: an hour for 500,000 rows); its rate is then that of the batches it stored.
BUDGET = 20.0
#: A span event's payload: about 700 bytes of JSON, quotes and all.
SPAN_PAYLOAD = orjson.dumps({
    "span_id": "5f0c" * 4, "parent_id": "9a1e" * 4, "name": "ChatOpenAI", "kind": "llm",
    "input": "What is the capital of France? " * 8, "output": "Paris is the capital. " * 10,
    "attributes": {"llm.model_name": "gpt-4o", "llm.token_count.prompt": 12,
                   "metadata": '{"user": "a \\"quoted\\" name"}'},
}).decode()  # fmt: skip


def run(folder: Path, way: str, busy: bool, rows: list[tuple[Any, ...]]) -> tuple[float, float]:
    path = folder / f"{WAYS.index(way)}-{busy}-{rows[0][3]}.db"
    store = SqlStore(f"sqlite:///{path}")
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "temp_store=MEMORY"):
        conn.execute(f"PRAGMA {pragma}")
    stop = threading.Event()

    def spin() -> None:
        count = 0
        while not stop.is_set():
            count += 1

    spinner = threading.Thread(target=spin, name="busy-application")
    if busy:
        spinner.start()
    wall, cpu = time.perf_counter(), time.thread_time()
    sent = 0
    for start in range(0, len(rows), BATCH_MAX):
        if time.perf_counter() - wall > BUDGET:  # a way that crawls: its rate so far
            break
        batch = rows[start : start + BATCH_MAX]
        sent += len(batch)
        if way == WAYS[2]:  # the store's own statements, run as the store runs them
            with store._write_engine.begin() as transaction:
                sqlitebulk.insert_events(transaction, batch)
            continue
        conn.execute("BEGIN")
        if way == WAYS[0]:
            conn.executemany(sqlitebulk.EVENT_INSERT, batch)
        else:
            conn.execute(FULL_ROWS_JSON, (orjson.dumps(batch).decode(),))
        conn.execute("COMMIT")
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    stop.set()
    if busy:
        spinner.join()
    (count,) = conn.execute("SELECT count(*) FROM events").fetchone()
    conn.close()
    store.close()
    if count != sent:
        raise SystemExit(f"{way}: {count} rows stored of {sent}")
    return sent / wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=500_000)
    args = parser.parse_args(argv)
    now = time.time()
    kinds = {
        "scalar": [("0" * 32, 1, i, "scalar", now + i * 1e-6, "loss", "train", i, i * 0.001,
                    None, None, None) for i in range(args.rows)],
        "span": [("0" * 32, 1, i, "span", now + i * 1e-6, None, None, None, None, None, None,
                  SPAN_PAYLOAD) for i in range(args.rows // 5)],
    }  # fmt: skip
    print(f"bench_bulk_insert.py  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"machine: {platform.processor() or platform.machine()}, python "
          f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}")  # fmt: skip
    print(f"{args.rows:,} scalar rows and {args.rows // 5:,} span rows, in transactions of "
          f"{BATCH_MAX:,}\n")  # fmt: skip
    print(
        "| rows   | way              | beside a busy thread | rows/s    | inserting thread CPU s |"
    )
    print(
        "|--------|------------------|----------------------|-----------|------------------------|"
    )
    with tempfile.TemporaryDirectory() as folder:
        for kind, rows in kinds.items():
            for busy in (False, True):
                for way in WAYS:
                    rate, cpu = run(Path(folder), way, busy, rows)
                    print(f"| {kind:<6} | {way:<16} | {'yes' if busy else 'no':<20} | "
                          f"{rate:>9,.0f} | {cpu:>22.2f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
