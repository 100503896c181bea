"""What the fault defences cost: the server's checks of a write batch, and the damage check a
process runs when it opens an embedded store.

    PYTHONPATH=src python benchmarks/bench_faults.py

Prints a table (median of 5 runs) with the machine and versions.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy

from chaintrack._version import __version__
from chaintrack.server.validation import check_batch
from chaintrack.store import wire
from chaintrack.store.records import TaskRecord, WriteBatch
from chaintrack.store.repair import quick_check
from chaintrack.store.sql import SqlStore

T = "t" * 32


def _span(i: int) -> str:
    return json.dumps({"span_id": f"s{i}", "parent_id": None, "kind": "llm", "name": "ChatOpenAI",
                       "start_time": 1.0, "end_time": 2.0, "input": "q" * 400,
                       "output": "a" * 400, "prompt_tokens": 10, "completion_tokens": 5,
                       "attributes": {"model": "gpt", "params": {"temperature": 0.1}}})  # fmt: skip


def _median(run: object, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    scalars = [[T, 1, i, "scalar", 1000.0 + i, "loss", "train", i, float(i), None, None, None]
               for i in range(20_000)]  # fmt: skip
    spans = [[T, 1, i, "span", 1000.0 + i, None, None, None, None, None, None, _span(i)]
             for i in range(2_000)]  # fmt: skip
    rows = []
    for name, events in (("20,000 scalars", scalars), ("2,000 LLM spans (1 kB)", spans)):
        body = json.dumps({"events": events}).encode()
        decode = _median(lambda body=body: wire.batch_in(body))
        batch = wire.batch_in(body)
        check = _median(lambda batch=batch: check_batch(batch))
        per = check / len(events) * 1e6
        rows.append((f"decode + check {name}", f"{decode * 1000:.1f} ms",
                     f"+{check * 1000:.1f} ms ({per:.1f} µs/event)"))  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "store.db"
        store = SqlStore(f"sqlite:///{db}", blob_root=Path(tmp) / "files")
        task = TaskRecord(id=T, project="p", name="n", type="training", status="completed",
                          created=1.0, last_update=1.0)  # fmt: skip
        for start in range(0, 200_000, 20_000):
            batch = [(*e[:2], start + i, *e[3:]) for i, e in enumerate(scalars)]
            store.write(WriteBatch(new_tasks=[task], events=batch))  # type: ignore[arg-type]
        store.close()
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = db.stat().st_size / 1024 / 1024
        took = _median(lambda: quick_check(db, 1 << 40))
        rows.append((f"PRAGMA quick_check at open ({size:.0f} MB store)", f"{took * 1000:.1f} ms",
                     f"{took * 1000 / size:.2f} ms/MB"))  # fmt: skip
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, SQLAlchemy "
          f"{sqlalchemy.__version__}, chaintrack {__version__}, "
          f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print(f"{'what':<{width}}  {'time':>10}  extra")
    for what, took_text, extra in rows:
        print(f"{what:<{width}}  {took_text:>10}  {extra}")


if __name__ == "__main__":
    main()
