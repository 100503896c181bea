"""Several processes writing into one store at once (each SQL backend): nothing lost, nothing
stored twice, span totals exact, even when they replay the same batches."""

from __future__ import annotations

import subprocess
import sys

from chaintrack.store.records import SCALAR, SPAN, TaskRecord, WriteBatch
from chaintrack.store.sql import SqlStore

PROCESSES = 4
BATCHES = 15

WRITER = """
import json, sys
from chaintrack.store.records import WriteBatch
from chaintrack.store.sql import SqlStore

uri, me, batches = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def span(task, writer, seq, span_id):
    payload = {"span_id": span_id, "kind": "llm", "total_tokens": 10, "start_time": 1.0,
               "end_time": 2.0, "status": "ok"}
    return (task, writer, seq, "span", 2.0, None, None, None, None, None, None,
            json.dumps(payload))

store = SqlStore(uri)
for b in range(batches):
    events = []
    for task in ("t0", "t1"):
        # This process's own events and spans...
        events += [(task, me, b * 100 + i, "scalar", 1.0, "m", "v", i, 1.0, None, None, None)
                   for i in range(50)]
        events.append(span(task, me, b * 100 + 99, f"own-{me}-{b}"))
        # ...and a batch every process writes (a replay): stored and counted once.
        events += [(task, 1000, b * 100 + i, "scalar", 1.0, "m", "v", i, 1.0, None, None, None)
                   for i in range(50)]
        events.append(span(task, 1000, b * 100 + 99, f"shared-{b}"))
    if me % 2:
        events.reverse()  # the other order: row locks are taken in different orders
    store.write(WriteBatch(events=events, task_updates=[("t0", {"comment": str(me)})]))
store.close()
"""


def task(task_id: str) -> TaskRecord:
    return TaskRecord(
        id=task_id, project="p", name="n", type="training", status="in_progress",
        created=1.0, last_update=1.0,
    )  # fmt: skip


def test_concurrent_writers_lose_nothing_and_store_nothing_twice(store_uri: str) -> None:
    store = SqlStore(store_uri)
    store.write(WriteBatch(new_tasks=[task("t0"), task("t1")]))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, store_uri, str(n), str(BATCHES)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(PROCESSES)
    ]
    errors = [p.communicate(timeout=240)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * PROCESSES, errors
    writers = PROCESSES + 1  # each process, and the replayed batches
    for task_id in ("t0", "t1"):
        assert len(store.get_events(task_id, SCALAR)) == writers * BATCHES * 50
        assert len(store.get_events(task_id, SPAN)) == writers * BATCHES
        stats = store.task_summary(task_id).stats
        assert stats.spans == stats.llm_calls == writers * BATCHES
        assert stats.total_tokens == 10 * writers * BATCHES
    assert store.get_task("t0").comment in {str(n) for n in range(PROCESSES)}
    store.close()
