"""Benchmarks of the PostgreSQL store: ingestion (events/s through ``SqlStore.write``) and server
time of the web UI's pages with 1,000,000 events in the store, and with ONE task holding
1,000,000 events. Prints a table; not a test.

    .venv/bin/python benchmarks/bench_postgres.py            # a throwaway cluster, ~3 minutes
    .venv/bin/python benchmarks/bench_postgres.py --uri postgresql://u:pw@host/postgres

Without ``--uri`` it starts its own throwaway cluster the way the tests do (``tests/pgserver.py``:
``fsync=off``, so durability costs are not measured); with ``--uri`` (a maintenance database of
a server whose user may CREATE DATABASE) it makes and drops a database there.

Ingestion writes batches of 20,000 events (the background writer's batch) through
``SqlStore.write``: COPY into a staging table, then ``INSERT … SELECT … ON CONFLICT DO
NOTHING``; for comparison the same events through SQLAlchemy's executemany of an
``INSERT … ON CONFLICT DO NOTHING`` (the first implementation). Pages are timed like
``bench_server.py``: the ``Server-Timing`` of the app served in-process, after ``VACUUM
ANALYZE`` (what autovacuum does to a table that has stopped growing).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from bench_server import Row, big_task_store, many_tasks_store, print_table, time_requests
from pgserver import PostgresServer, connect

INGEST_GOAL = 50_000.0
BATCH = 20_000


def scalar_rows(task: str, count: int) -> list[tuple[Any, ...]]:
    return [
        (task, 1, i, "scalar", 1.7e9 + i, "loss", "train", i, i * 0.5, None, None, None)
        for i in range(count)
    ]


def text_rows(task: str, count: int) -> list[tuple[Any, ...]]:
    text = "x" * 1024
    return [
        (task, 1, i, "log", 1.7e9 + i, None, None, None, None, 20, f"{text}{i}", None)
        for i in range(count)
    ]


def ingest(store: Any, rows: list[tuple[Any, ...]], executemany: bool = False) -> float:
    """Events per second writing ``rows`` in batches (checked: every row stored once)."""
    from sqlalchemy.dialects import postgresql

    from chaintrack.store.records import WriteBatch
    from chaintrack.store.schema import EVENT_COLUMNS, events

    start = time.perf_counter()
    for first in range(0, len(rows), BATCH):
        batch = rows[first : first + BATCH]
        if executemany:
            dicts = [dict(zip(EVENT_COLUMNS, r, strict=True)) for r in batch]
            with store._write_engine.begin() as conn:
                conn.execute(postgresql.insert(events).on_conflict_do_nothing(), dicts)
        else:
            store.write(WriteBatch(events=batch))  # type: ignore[arg-type]
    elapsed = time.perf_counter() - start
    with store._read_engine.connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT count(*) FROM events WHERE task_id = %(t)s", {"t": rows[0][0]}
        ).scalar_one()
    assert stored == len(rows), (stored, len(rows))
    return len(rows) / elapsed


def filler(store: Any, tasks: int, per_task: int) -> None:
    """Other tasks' events (scalars and console lines), so that the store holds many."""
    from chaintrack.store.records import TaskRecord, WriteBatch

    for n in range(tasks):
        tid = f"f{n:031x}"
        store.write(
            WriteBatch(
                new_tasks=[
                    TaskRecord(
                        id=tid,
                        project="filler",
                        name=f"filler {n}",
                        type="training",
                        status="completed",
                        created=1.6e9 + n,
                        last_update=1.6e9 + n,
                    )
                ]
            )
        )
        half = per_task // 2
        rows = scalar_rows(tid, half) + [
            (tid, 1, half + i, "log", 1.7e9 + i, None, None, None, None, 20, f"line {i}", None)
            for i in range(per_task - half)
        ]
        for first in range(0, len(rows), BATCH):
            store.write(WriteBatch(events=rows[first : first + BATCH]))  # type: ignore[arg-type]


def vacuum_analyze(store: Any) -> int:
    """VACUUM ANALYZE the store's database; the number of events in it."""
    store._read_engine.dispose()
    with store._read_engine.connect() as conn:
        conn.connection.driver_connection.autocommit = True  # VACUUM runs outside a transaction
        conn.exec_driver_sql("VACUUM ANALYZE")
        return int(conn.exec_driver_sql("SELECT count(*) FROM events").scalar_one())


def one_task(root: Path, uri: str, records: int, rows: list[Row], notes: list[str]) -> None:
    """The pages of ONE task holding ``records`` events (60% console lines, 30% scalars in 6
    series, 10% spans in runs of 10), alone in its store."""
    from chaintrack.server.app import create_app

    started = time.perf_counter()
    store, tid = big_task_store(root, records, uri, tid="c" * 32)
    written = time.perf_counter() - started
    stored = vacuum_analyze(store)
    notes.append(f"one task of {stored:,} events, written in {written:.0f} s")
    app = create_app(store)
    console_pages = (int(records * 0.6) + 199) // 200
    label = f"one task, {records:,} events"
    time_requests(
        app,
        [
            (f"{label}: Info", f"/tasks/{tid}"),
            (f"{label}: Console, first page", f"/tasks/{tid}?tab=console"),
            (
                f"{label}: Console, middle page",
                f"/tasks/{tid}?tab=console&page={console_pages // 2}",
            ),
            (f"{label}: Console, last page", f"/tasks/{tid}?tab=console&page={console_pages}"),
            (f"{label}: Console, newest first", f"/tasks/{tid}?tab=console&order=desc"),
            (f"{label}: Console, errors only", f"/tasks/{tid}?tab=console&level=40"),
            (f"{label}: Console, search", f"/tasks/{tid}?tab=console&q=needle"),
            (f"{label}: Scalars (6 series, thinned)", f"/tasks/{tid}?tab=scalars"),
            (f"{label}: Trace, first page", f"/tasks/{tid}?tab=trace"),
            (
                f"{label}: Trace, last page",
                f"/tasks/{tid}?tab=trace&page={(records // 100 + 19) // 20}",
            ),
        ],
        rows,
        notes,
    )
    app.state.ingest.close()
    store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uri", help="an existing server's maintenance database URI")
    parser.add_argument("--quick", action="store_true", help="reduced sizes (a smoke check)")
    args = parser.parse_args()
    total = 100_000 if args.quick else 1_000_000
    n_tasks, n_records = (2_000, 20_000) if args.quick else (10_000, 100_000)
    n_scalars, n_texts = (50_000, 10_000) if args.quick else (200_000, 50_000)
    n_one = 100_000 if args.quick else 1_000_000

    from chaintrack.server.app import create_app
    from chaintrack.store.sql import SqlStore

    server: PostgresServer = connect(args.uri)
    rows: list[Row] = []
    notes: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="chaintrack-bench-") as tmp:
            os.environ["CHAINTRACK_HOME"] = str(Path(tmp) / "home")
            with server.database() as uri:
                store = SqlStore(uri)
                with store._read_engine.connect() as conn:
                    version = conn.exec_driver_sql("SHOW server_version").scalar_one()
                print(f"PostgreSQL {version}, {os.cpu_count()} cores")
                for label, make, count in (
                    ("scalar events", scalar_rows, n_scalars),
                    ("1-KB text events", text_rows, n_texts),
                ):
                    rate = ingest(store, make(f"ingest-{label[:6]}", count))
                    verdict = "pass" if rate >= INGEST_GOAL else "FAIL"
                    rows.append(
                        Row(
                            f"ingestion: {label}, per s (COPY)",
                            f">= {INGEST_GOAL:,.0f}/s",
                            f"{rate:,.0f}/s",
                            verdict,
                        )
                    )
                    old = ingest(store, make(f"old-{label[:6]}", count), executemany=True)
                    rows.append(
                        Row(
                            f"ingestion: {label}, per s (executemany, before)",
                            "-",
                            f"{old:,.0f}/s",
                            "info",
                        )
                    )
                store.close()
            with server.database() as uri:
                started = time.perf_counter()
                store = many_tasks_store(Path(tmp), n_tasks, uri)
                store.close()
                big, tid = big_task_store(Path(tmp), n_records, uri)
                spans = n_tasks // 10 * 5
                filler(big, 9, (total - n_records - spans) // 9)
                stored = vacuum_analyze(big)
                notes.append(
                    f"store: {n_tasks:,} tasks, a task of {n_records:,} records and 9 other "
                    f"tasks; {stored:,} events in all, written in "
                    f"{time.perf_counter() - started:.0f} s"
                )
                app = create_app(big)
                last_console = (int(n_records * 0.6) + 199) // 200
                time_requests(
                    app,
                    [
                        (f"tasks table, {n_tasks:,} tasks, newest first", "/tasks"),
                        ("tasks table, API, sorted by tokens", "/api/v1/tasks?sort=tokens"),
                        (
                            "tasks table, API, text filter",
                            "/api/v1/tasks?q=prompt-v3&sort=name&order=asc",
                        ),
                        ("tasks table, API, last page", f"/api/v1/tasks?offset={n_tasks}&limit=50"),
                        (f"task page, {n_records:,} records: Info", f"/tasks/{tid}"),
                        ("task page: Console, first page", f"/tasks/{tid}?tab=console"),
                        (
                            "task page: Console, last page",
                            f"/tasks/{tid}?tab=console&page={last_console}",
                        ),
                        ("task page: Console, search", f"/tasks/{tid}?tab=console&q=needle"),
                        ("task page: Scalars (6 series, thinned)", f"/tasks/{tid}?tab=scalars"),
                        ("task page: Trace, first page", f"/tasks/{tid}?tab=trace"),
                        (
                            "task page: Trace, last page",
                            f"/tasks/{tid}?tab=trace&page={(n_records // 100 + 19) // 20}",
                        ),
                    ],
                    rows,
                    notes,
                )
                app.state.ingest.close()
                big.close()
            with server.database() as uri:
                one_task(Path(tmp), uri, n_one, rows, notes)
    finally:
        server.stop()
    print_table(rows, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
