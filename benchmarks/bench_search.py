"""Span search benchmark: ingestion with and without the search index and dashboard totals,
then search, dashboard and export times on the resulting store (SQLite; --uri for PostgreSQL).

    PYTHONPATH=src python benchmarks/bench_search.py --spans 100000
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy

from chaintrack.query import search, stats
from chaintrack.query.export import export
from chaintrack.store import rollups, searchtext
from chaintrack.store.records import SPAN, TaskRecord, WriteBatch
from chaintrack.store.sql import SqlStore

WORDS = ("refund", "order", "shipping", "delay", "hello", "invoice", "weather", "password")


def batches(n: int, task_id: str, now: float) -> list[list[Any]]:
    rng = random.Random(1)
    out, batch = [], []
    for i in range(n):
        start = now - rng.uniform(0, 30 * 86400)
        span = {
            "span_id": f"s{i}",
            "kind": rng.choice(["llm", "chat_model", "chain", "tool"]),
            "name": "step",
            "start_time": start,
            "end_time": start + 1,
            "latency_ms": rng.uniform(10, 5000),
            "status": rng.choice(["ok"] * 9 + ["error"]),
            "input": " ".join(rng.choice(WORDS) for _ in range(20)),
            "output": " ".join(rng.choice(WORDS) for _ in range(30)),
            "model_name": rng.choice(["gpt-4o", "claude", None]),
            "total_tokens": i % 900,
        }
        batch.append(
            (task_id, 1, i, SPAN, start, None, None, None, None, None, None, json.dumps(span))
        )
        if len(batch) == 1000:
            out.append(batch)
            batch = []
    return out + ([batch] if batch else [])


def ingest(uri: str, n: int, indexed: bool) -> tuple[SqlStore, float]:
    store = SqlStore(uri)
    now = time.time()
    task = TaskRecord(
        id="t",
        project="p",
        name="n",
        type="inference",
        status="completed",
        created=now,
        last_update=now,
    )
    saved = (searchtext.insert_rows, rollups.add_rows)
    if not indexed:
        searchtext.insert_rows = lambda *a, **k: None  # type: ignore[assignment]
        rollups.add_rows = lambda *a, **k: None  # type: ignore[assignment]
    try:
        store.write(WriteBatch(new_tasks=[task]))
        began = time.perf_counter()
        for batch in batches(n, "t", now):
            store.write(WriteBatch(events=batch))  # type: ignore[arg-type]
        return store, time.perf_counter() - began
    finally:
        searchtext.insert_rows, rollups.add_rows = saved


def timed(fn: Any) -> float:
    began = time.perf_counter()
    fn()
    return (time.perf_counter() - began) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=100_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    plain, t_plain = ingest(f"sqlite:///{folder / 'plain.db'}", args.spans, False)
    plain.close()
    store, t_indexed = ingest(f"sqlite:///{folder / 'indexed.db'}", args.spans, True)
    print(
        f"machine: {platform.platform()} python {platform.python_version()} "
        f"sqlite {sqlite3.sqlite_version} sqlalchemy {sqlalchemy.__version__}"
    )
    print(f"| measure ({args.spans:,} spans, SQLite) | result |")
    print("|---|---|")
    print(f"| ingest without index/totals | {t_plain:.1f} s |")
    overhead = 100 * (t_indexed / t_plain - 1)
    print(f"| ingest with index/totals | {t_indexed:.1f} s ({overhead:+.0f}%) |")
    with store._read_engine.connect() as conn:
        for q in [
            'kind = "chat_model"',
            "latency_ms > 4900",
            "status = error and total_tokens > 800",
            'model = "claude" and start_time > -7d',
            'output ~ "refund"',
            'input ~ "passw"',
        ]:
            ms = timed(lambda q=q: search.search_page(conn, q, limit=50))
            print(f"| first page: `{q}` | {ms:.0f} ms |")
        ms = timed(lambda: stats.project_stats(conn, "p", time.time() - 30 * 86400, time.time()))
        print(f"| dashboard, 30 days | {ms:.0f} ms |")
        began = time.perf_counter()
        export(conn, folder / "spans.parquet", what="spans", project="p")
        print(f"| export to Parquet | {time.perf_counter() - began:.1f} s |")
    store.close()


if __name__ == "__main__":
    main()
