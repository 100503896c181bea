"""Threads view benchmark: a task with 10,000 turns (a root chain and a model call each), as one
long thread and as 1,000 threads of 10 turns; times of the store's reads, the REST API and the
web UI's pages (median of 5 requests, in-process through httpx). SQLite by default;
``--postgres`` for a throwaway PostgreSQL cluster (``tests/pgserver.py``), ``--uri`` for an
empty database of yours.

    PYTHONPATH=src python benchmarks/bench_threads.py
    PYTHONPATH=src python benchmarks/bench_threads.py --postgres
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy

from chaintrack._version import __version__
from chaintrack.server.app import create_app
from chaintrack.store.records import SPAN, TaskRecord, WriteBatch
from chaintrack.store.sql import SqlStore

#: Goal for one page of the Threads view (or its API), whatever the task's size.
GOAL_MS = 200.0


def _turn_events(task_id: str, thread: str, turn: int, seq: int, start: float) -> list[Any]:
    root = f"{thread}-r{turn}"
    common = {"thread_id": thread, "trace_id": root}
    spans = [
        {"span_id": root, "parent_id": None, "kind": "chain", "name": "agent",
         "start_time": start, "end_time": start + 1.5, "latency_ms": 1500.0,
         "status": "interrupted" if turn % 7 == 3 else "ok", "input": f"question {turn}",
         "output": f"answer {turn}", **common},
        {"span_id": root + "-m", "parent_id": root, "kind": "chat_model", "name": "model",
         "start_time": start + 0.2, "end_time": start + 1.2, "latency_ms": 1000.0,
         "status": "ok", "model_name": "gpt-4o-mini", "prompt_tokens": 120,
         "completion_tokens": 30, "total_tokens": 150, **common},
    ]  # fmt: skip
    return [
        (task_id, 1, seq + i, SPAN, s["end_time"], None, None, None, None, None, None,
         json.dumps(s))
        for i, s in enumerate(spans)
    ]  # fmt: skip


def fill(store: SqlStore, task_id: str, threads: int, turns: int) -> float:
    """A task of ``threads`` × ``turns`` turns; seconds to write it."""
    now = time.time() - 86_400
    task = TaskRecord(id=task_id, project="bench", name=task_id, type="inference",
                      status="completed", created=now, last_update=now)  # fmt: skip
    store.write(WriteBatch(new_tasks=[task]))
    began, batch, seq = time.perf_counter(), [], 1
    for turn in range(turns):
        for t in range(threads):
            start = now + (turn * threads + t) * 2.0
            batch.extend(_turn_events(task_id, f"{task_id}-t{t}", turn, seq, start))
            seq += 2
            if len(batch) >= 2_000:
                store.write(WriteBatch(events=batch))
                batch = []
    if batch:
        store.write(WriteBatch(events=batch))
    return time.perf_counter() - began


def median_ms(fn: Callable[[], Any], times: int = 5) -> float:
    fn()  # warm the caches and the connection pool
    found = []
    for _ in range(times):
        began = time.perf_counter()
        fn()
        found.append((time.perf_counter() - began) * 1000)
    return statistics.median(found)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uri", help="a PostgreSQL database URI (default: a new SQLite file)")
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL cluster")
    parser.add_argument("--turns", type=int, default=10_000)
    args = parser.parse_args()
    if args.postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from pgserver import connect

        server = connect()
        try:
            return run(args, server.uri(server.create_database()))
        finally:
            server.stop()
    return run(args, args.uri or f"sqlite:///{Path(tempfile.mkdtemp()) / 'threads.db'}")


def run(args: argparse.Namespace, uri: str) -> int:
    store = SqlStore(uri)
    long_s = fill(store, "long", 1, args.turns)
    many_s = fill(store, "many", args.turns // 10, 10)
    app = create_app(store)
    loop = asyncio.new_event_loop()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b")

    def get(url: str, status: int = 200, **params: Any) -> Callable[[], Any]:
        def call() -> None:
            response = loop.run_until_complete(client.get(url, params=params))
            assert response.status_code == status, (url, response.status_code)

        return call

    last_turns = (args.turns - 1) // 100 + 1
    last_threads = (args.turns // 10 - 1) // 50 + 1
    rows = [
        ("store: threads of 'many', first page (50)",
         lambda: store.thread_page(task_id="many", limit=50)),
        ("store: turns of the long thread, first page (100)",
         lambda: store.thread_turns("long-t0", task_id="long", limit=100)),
        ("store: turns of the long thread, last page",
         lambda: store.thread_turns("long-t0", task_id="long", offset=args.turns - 100)),
        ("API: GET /tasks/many/threads",
         get("/api/v1/tasks/many/threads")),
        ("API: GET /tasks/long/threads/turns (first 100)",
         get("/api/v1/tasks/long/threads/turns", thread_id="long-t0")),
        ("UI: Threads tab of 'many' (1,000 threads), first page",
         get("/tasks/many", tab="threads")),
        ("UI: Threads tab of 'many', last page",
         get("/tasks/many", tab="threads", page=last_threads)),
        ("UI: the long thread's turns, first page",
         get("/tasks/long", tab="threads", thread="long-t0")),
        ("UI: the long thread's turns, last page",
         get("/tasks/long", tab="threads", thread="long-t0", page=last_turns)),
        ("UI: project threads page (both tasks)",
         get("/threads", project="bench")),
        ("UI: a turn's trace link (redirect to its page)",
         get(f"/tasks/long/traces/long-t0-r{args.turns - 1}", 303)),
    ]  # fmt: skip
    load = os.getloadavg()[0]
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, load {load:.1f}")
    print(f"python {sys.version.split()[0]}, chaintrack {__version__}, "
          f"sqlalchemy {sqlalchemy.__version__}, store {store.dialect}")  # fmt: skip
    print(f"{args.turns:,} turns written as 1 thread in {long_s:.1f} s and as "
          f"{args.turns // 10:,} threads of 10 in {many_s:.1f} s (2 spans a turn)\n")  # fmt: skip
    print(f"| measure ({store.dialect}) | goal | median of 5 | pass/fail |")
    print("|---|---|---|---|")
    for name, fn in rows:
        ms = median_ms(fn)
        verdict = "pass" if ms <= GOAL_MS else "FAIL"
        print(f"| {name} | <= {GOAL_MS:.0f} ms | {ms:.0f} ms | {verdict} |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    loop.run_until_complete(client.aclose())
    loop.close()
    app.state.ingest.close()
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
