"""What pricing model calls adds to storing spans (the store prices every model call that
arrives without a cost: ``store/spanindex.py``, ``text/prices.py``).

Run by hand, not by pytest::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_prices.py            # 20,000 spans
    PYTHONPATH=src .venv/bin/python benchmarks/bench_prices.py --quick    # 2,000 spans

Rows:
- the first price of a model in a process (imports genai-prices and finds the model);
- one price once the model was seen (the per-call cost), over a mix of 6 known models;
- ``span_row`` of a model-call span event with and without a price table (what indexing a span
  costs the store, parsing the payload included);
- ``SqlStore.write`` of the same model-call spans to a new SQLite store, in batches of 1,000,
  with pricing and without (``prices=None``), best of 3 runs each: the ingest cost pricing adds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

MODELS = ("gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet-20241022", "gemini-1.5-pro", "o3-mini",
          "house-model-7b")  # fmt: skip


def events(task_id: str, count: int, writer: int) -> list[Any]:
    from chaintrack.store.records import SPAN

    rows = []
    for n in range(count):
        payload = {
            "span_id": f"s{n}", "parent_id": None, "kind": "chat_model", "name": "call",
            "start_time": 1.7e9 + n, "end_time": 1.7e9 + n + 0.5, "latency_ms": 500.0,
            "status": "ok", "error": None, "input": "question " * 20, "output": "answer " * 40,
            "prompt_tokens": 1200 + n % 50, "completion_tokens": 300, "total_tokens": 1500,
            "model_name": MODELS[n % len(MODELS)],
            "input_token_details": {"cache_read": 200},
        }  # fmt: skip
        rows.append((task_id, writer, n + 1, SPAN, 1.7e9 + n, None, None, None, None, None,
                     None, json.dumps(payload)))  # fmt: skip
    return rows


def write_seconds(count: int, priced: bool) -> float:
    from chaintrack.store import spanindex
    from chaintrack.store.records import TaskRecord, WriteBatch
    from chaintrack.store.sql import SqlStore

    with tempfile.TemporaryDirectory() as tmp:
        store = SqlStore(f"sqlite:///{Path(tmp) / 'bench.db'}")
        if not priced:
            store.prices = None  # type: ignore[assignment]
        task = TaskRecord(id="t", project="bench", name="prices", type="testing",
                          status="completed", created=1.0, last_update=1.0)  # fmt: skip
        store.write(WriteBatch(new_tasks=[task]))
        rows = events("t", count, 7)
        started = time.perf_counter()
        for start in range(0, count, 1000):
            store.write(WriteBatch(events=rows[start : start + 1000]))
        elapsed = time.perf_counter() - started
        store.close()
        assert spanindex  # imported for its side effect on timing: none
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    count = 2_000 if parser.parse_args().quick else 20_000

    from chaintrack.store.spanindex import span_row
    from chaintrack.text.prices import PriceTable, TokenUsage

    table = PriceTable()
    started = time.perf_counter()
    table.price("gpt-4o-mini", TokenUsage(input=1000, output=100), 1.7e9)
    first_ms = (time.perf_counter() - started) * 1000
    for model in MODELS:
        table.price(model, TokenUsage(input=1000, output=100), 1.7e9)
    usage = TokenUsage(input=1200, output=300, cache_read=200)
    loops = 20_000
    started = time.perf_counter()
    for n in range(loops):
        table.price(MODELS[n % len(MODELS)], usage, 1.7e9)
    price_us = (time.perf_counter() - started) / loops * 1e6

    rows = events("t", 5_000, 7)
    timings = {}
    for name, prices in (("without", None), ("with", table)):
        started = time.perf_counter()
        for row in rows:
            span_row(row, prices)
        timings[name] = (time.perf_counter() - started) / len(rows) * 1e6

    unpriced = min(write_seconds(count, False) for _ in range(3))
    priced = min(write_seconds(count, True) for _ in range(3))

    print(f"machine:  {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{platform.platform()}, load {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"python:   {platform.python_version()}; genai-prices {metadata.version('genai-prices')}"
          f", SQLAlchemy {metadata.version('sqlalchemy')}")  # fmt: skip
    print()
    print("| measurement | value |")
    print("|---|---|")
    print(f"| first price of a model in a process (import + lookup) | {first_ms:.0f} ms |")
    print(f"| one price, model seen before (mix of {len(MODELS)} models) | {price_us:.1f} µs |")
    print(f"| span_row of a model call, no price table | {timings['without']:.1f} µs |")
    print(f"| span_row of a model call, priced | {timings['with']:.1f} µs |")
    print(f"| store {count:,} model-call spans (SQLite), not priced | "
          f"{unpriced / count * 1e6:.1f} µs/span |")  # fmt: skip
    print(f"| store {count:,} model-call spans (SQLite), priced | "
          f"{priced / count * 1e6:.1f} µs/span |")  # fmt: skip
    added = (priced - unpriced) / count * 1e6
    print(f"| ingest cost added by pricing | {added:.1f} µs/span "
          f"({(priced / unpriced - 1) * 100:+.0f}%) |")  # fmt: skip
    assert statistics  # median not needed: best of 3 shown


if __name__ == "__main__":
    main()
