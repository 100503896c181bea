"""Why the SQLite store inserts a batch as one JSON array (``store/sqlitebulk.py``).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_bulk_insert.py            # 500,000 rows
    PYTHONPATH=src .venv/bin/python benchmarks/bench_bulk_insert.py --rows 100000

Inserts the same scalar event rows into a fresh store (SqlStore's schema and pragmas) in
transactions of 20,000 rows (the SDK writer's largest batch), three ways: the stdlib driver's
``executemany``; ``INSERT … SELECT … FROM json_each(?)`` with the batch's full rows as one
orjson text; and the store's way, the same with the columns that a group of rows shares (task,
writer, kind) bound once and only the others in the JSON. Each alone, and beside a second
Python thread that only counts (an application busy on another core). Prints rows/s and the
inserting thread's CPU time. ``executemany`` takes the GIL back for every row, and beside a
busy thread each take waits for that thread's switch interval.
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

import orjson

from chaintrack.sdk.writer import BATCH_MAX
from chaintrack.store import sqlitebulk
from chaintrack.store.schema import EVENT_COLUMNS
from chaintrack.store.sql import SqlStore

#: Every column of every row in the JSON (the first bulk statement the store used).
FULL_ROWS_JSON = (
    f"INSERT OR IGNORE INTO events ({', '.join(EVENT_COLUMNS)}) "
    f"SELECT {sqlitebulk.json_select(len(EVENT_COLUMNS))} FROM json_each(?)"
)
WAYS = ("executemany", "json_each, full rows", "json_each, shared bound")


def run(folder: Path, way: str, busy: bool, rows: list[tuple[object, ...]]) -> tuple[float, float]:
    path = folder / f"{WAYS.index(way)}-{busy}.db"
    SqlStore(f"sqlite:///{path}").close()
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
    for start in range(0, len(rows), BATCH_MAX):
        batch = rows[start : start + BATCH_MAX]
        conn.execute("BEGIN")
        if way == WAYS[0]:
            conn.executemany(sqlitebulk.EVENT_INSERT, batch)
        elif way == WAYS[1]:
            conn.execute(FULL_ROWS_JSON, (orjson.dumps(batch).decode(),))
        else:  # the store's own statement and row layout (sqlitebulk._insert_group)
            task_id, writer, _, kind = batch[0][:4]
            varying = orjson.dumps(list(map(sqlitebulk._varying, batch))).decode()
            conn.execute(sqlitebulk._EVENT_INSERT_JSON, (task_id, writer, kind, varying))
        conn.execute("COMMIT")
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    stop.set()
    if busy:
        spinner.join()
    (count,) = conn.execute("SELECT count(*) FROM events").fetchone()
    conn.close()
    if count != len(rows):
        raise SystemExit(f"{way}: {count} rows stored of {len(rows)}")
    return len(rows) / wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=500_000)
    args = parser.parse_args(argv)
    now = time.time()
    rows = [("0" * 32, 1, i, "scalar", now + i * 1e-6, "loss", "train", i, i * 0.001, None,
             None, None) for i in range(args.rows)]  # fmt: skip
    print(f"bench_bulk_insert.py  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"machine: {platform.processor() or platform.machine()}, python "
          f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}")  # fmt: skip
    print(f"{args.rows:,} rows in transactions of {BATCH_MAX:,}\n")
    print("| way                     | beside a busy thread | rows/s    | inserting thread CPU s |")
    print("|-------------------------|----------------------|-----------|------------------------|")
    with tempfile.TemporaryDirectory() as folder:
        for busy in (False, True):
            for way in WAYS:
                rate, cpu = run(Path(folder), way, busy, rows)
                print(f"| {way:<23} | {'yes' if busy else 'no':<20} | {rate:>9,.0f} | "
                      f"{cpu:>22.2f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
