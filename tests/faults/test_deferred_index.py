"""Spans are indexed for text search and added to the dashboards' totals after the write that
stores them (``store/textindex.py``): a process SIGKILLed in between loses nothing, a
`chaintrack server` process indexes in its background thread with no search asked, and the
SDK's writer indexes after its writes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fault_helpers import child_env, running_server
from sqlalchemy import text

from chaintrack import Task, store
from chaintrack.query import search, stats
from chaintrack.store.records import SPAN, TaskRecord, WriteBatch
from chaintrack.store.sql import SqlStore

SPANS = 40
WRITE_THEN_DIE = """
import json, os, signal, sys
from chaintrack.store.records import SPAN, TaskRecord, WriteBatch
from chaintrack.store.sql import SqlStore
from chaintrack.store import textindex

textindex.catch_up = None  # nothing in this process may index
store = SqlStore(sys.argv[1])
task = TaskRecord(id="k", project="p", name="n", type="inference", status="in_progress",
                  created=1.0, last_update=1.0)
store.write(WriteBatch(new_tasks=[task], events=[
    ("k", 1, n, SPAN, 100.5 + n, None, None, None, None, None, None, json.dumps({
        "span_id": f"s{n}", "kind": "llm", "name": "call", "start_time": 100.0 + n,
        "end_time": 100.5 + n, "latency_ms": 500.0, "status": "ok", "input": "q",
        "output": f"answer {n}: a refund", "prompt_tokens": 3, "completion_tokens": 4}))
    for n in range(int(sys.argv[2]))]))
os.kill(os.getpid(), signal.SIGKILL)
"""


def _count(engine: object, sql: str) -> int:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(text(sql)).scalar_one())


def test_a_process_killed_after_storing_spans_and_before_indexing_loses_nothing(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    uri = new_database()
    done = subprocess.run(
        [sys.executable, "-c", WRITE_THEN_DIE, uri, str(SPANS)],
        env=child_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    reopened = SqlStore(uri)
    try:
        engine = reopened._read_engine
        assert _count(engine, "SELECT count(*) FROM span_text_pending") == SPANS
        assert _count(engine, "SELECT count(*) FROM span_text") == 0
        with engine.connect() as conn:
            page = search.search_page(conn, 'output ~ "REFUND"', limit=100)
        assert sorted(r["span_id"] for r in page.rows) == sorted(f"s{n}" for n in range(SPANS))
        with engine.connect() as conn:
            board = stats.project_stats(conn, "p", 0.0, 100_000.0)
        assert board["totals"]["calls"] == SPANS
        assert _count(engine, "SELECT count(*) FROM span_text_pending") == 0
    finally:
        reopened.close()


def _write_spans(uri: str, task_id: str, count: int) -> None:
    writer = SqlStore(uri)
    task = TaskRecord(id=task_id, project="p", name="n", type="inference", status="completed",
                      created=1.0, last_update=1.0)  # fmt: skip
    payloads = [{"span_id": f"s{n}", "kind": "chain", "name": "step", "start_time": 10.0 + n,
                 "end_time": 11.0 + n, "status": "ok", "output": f"reply {n}"}
                for n in range(count)]  # fmt: skip
    writer.write(WriteBatch(new_tasks=[task], events=[
        (task_id, 1, n, SPAN, 11.0 + n, None, None, None, None, None, None, json.dumps(p))
        for n, p in enumerate(payloads)]))  # type: ignore[list-item]  # fmt: skip
    writer.close()


def _wait_until_indexed(engine: object, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while True:
        left = _count(engine, "SELECT count(*) FROM span_text_pending")
        if left == 0 or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def test_the_server_indexes_in_its_background_thread(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'served.db'}"
    _write_spans(uri, "a", SPANS)
    probe = SqlStore(uri)
    try:
        assert _count(probe._read_engine, "SELECT count(*) FROM span_text_pending") == SPANS
        with running_server(tmp_path, uri, CHAINTRACK_INDEX_INTERVAL="0.2"):
            # No search, no dashboard: the server's indexer thread catches up by itself.
            assert _wait_until_indexed(probe._read_engine, 30) == 0
            assert _count(probe._read_engine, "SELECT count(*) FROM span_text") == SPANS
            assert _count(probe._read_engine, "SELECT sum(calls) FROM span_rollups") == SPANS
    finally:
        probe.close()


def test_the_sdk_writer_indexes_after_its_writes() -> None:
    task = Task.init(project_name="deferred", task_name="run")
    log = task.get_logger()
    for n in range(SPANS):
        log._report_span({"span_id": f"s{n}", "parent_id": None, "kind": "chain",
                          "name": "step", "start_time": 10.0 + n, "end_time": 11.0 + n,
                          "output": f"reply {n}"})  # fmt: skip
    task.flush(wait_for_uploads=True)
    opened = store.open_store()
    engine = opened._read_engine  # type: ignore[attr-defined]
    # No search: the writer indexed after the write that emptied its queue.
    assert _wait_until_indexed(engine, 10) == 0
    assert _count(engine, "SELECT count(*) FROM span_text") == SPANS
    task.close()


def test_the_server_indexer_waits_for_a_quiet_interval_unless_too_much_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While writes keep coming in, the indexer leaves the queue be (the writes keep the cores
    and the write lock); it indexes once a whole interval passes without writes, or at once
    when more than ``MAX_BACKLOG`` spans wait."""
    from chaintrack.server import indexer as indexer_module

    uri = f"sqlite:///{tmp_path / 'busy.db'}"
    _write_spans(uri, "a", SPANS)
    opened = SqlStore(uri)
    writes = [0]
    monkeypatch.setenv("CHAINTRACK_INDEX_INTERVAL", "0.2")
    indexer = indexer_module.Indexer(opened, lambda: writes[0])
    indexer.start()
    try:
        busy_until = time.monotonic() + 1.5
        while time.monotonic() < busy_until:  # a write every 20 ms
            writes[0] += 1
            time.sleep(0.02)
        assert opened.text_backlog() == SPANS, "indexed while writes came in"
        assert _wait_until_indexed(opened._read_engine, 10) == 0, "not indexed once quiet"
        _write_spans(uri, "b", SPANS)
        monkeypatch.setattr(indexer_module, "MAX_BACKLOG", SPANS)
        busy_until = time.monotonic() + 10
        while opened.text_backlog() and time.monotonic() < busy_until:
            writes[0] += 1
            time.sleep(0.02)
        assert opened.text_backlog() == 0, "a backlog of MAX_BACKLOG spans is indexed while busy"
    finally:
        indexer.stop()
        opened.close()
