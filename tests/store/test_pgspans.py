"""PostgreSQL: the span index's rows go in with binary COPY (``store/pgspans.py``). A replayed
span adds nothing, a text row already there (left by an older version) does not lose the others
when the text is indexed,
and two batches in one transaction both reach the index."""

from __future__ import annotations

import orjson
from sqlalchemy import create_engine, text

from chaintrack.store.records import SPAN, TaskRecord, WriteBatch
from chaintrack.store.sql import SqlStore


def _span(task_id: str, n: int) -> tuple[object, ...]:
    data = {"span_id": f"s{n}", "parent_id": None, "trace_id": "t", "kind": "chat_model",
            "name": f"call {n}", "start_time": 1.0, "end_time": 2.0, "latency_ms": 1000.0,
            "status": "ok", "input": f"question <b>{n}</b>", "output": f"answer {n}",
            "prompt_tokens": 10, "completion_tokens": 5, "model_name": "m"}  # fmt: skip
    return (task_id, 7, n, SPAN, 2.0, None, None, None, None, None, None,
            orjson.dumps(data).decode())  # fmt: skip


def _batch(task_id: str, numbers: range) -> WriteBatch:
    task = TaskRecord(id=task_id, project="p", name="n", type="inference", status="in_progress",
                      created=1.0, last_update=1.0)  # fmt: skip
    return WriteBatch(new_tasks=[task], events=[_span(task_id, n) for n in numbers])


def _rows(uri: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(uri.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def test_a_replayed_batch_counts_its_spans_once(postgres_uri: str) -> None:
    store = SqlStore(postgres_uri)
    try:
        store.write(_batch("t1", range(5)))
        store.write(_batch("t1", range(3, 8)))  # 3 and 4 again
        assert _rows(postgres_uri, "SELECT count(*) FROM spans") == [(8,)]
        assert _rows(postgres_uri, "SELECT spans, llm_calls, prompt_tokens FROM task_stats") == [
            (8, 8, 80)
        ]
        # Queued once per span stored (not per span written), indexed by the next catch-up.
        assert _rows(postgres_uri, "SELECT count(*) FROM span_text_pending") == [(8,)]
        assert store.index_text() == 8
        assert _rows(postgres_uri, "SELECT count(*) FROM span_text") == [(8,)]
        assert _rows(postgres_uri, "SELECT count(*) FROM span_text_pending") == [(0,)]
        assert store.trace_page("t1", 0, 50).total_roots == 8
    finally:
        store.close()


def test_a_text_row_already_there_does_not_lose_the_batch(postgres_uri: str) -> None:
    store = SqlStore(postgres_uri)
    try:
        store.write(_batch("t1", range(1)))
        engine = create_engine(postgres_uri.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:  # a stale index row for a span not stored yet
            conn.execute(text("INSERT INTO span_text (task_id, span_id, name) "
                              "VALUES ('t1', 's2', 'stale')"))  # fmt: skip
        engine.dispose()
        store.write(_batch("t1", range(1, 4)))
        assert store.index_text() == 4
        assert _rows(postgres_uri, "SELECT count(*) FROM spans") == [(4,)]
        texts = dict(_rows(postgres_uri, "SELECT span_id, input FROM span_text"))
        assert texts == {"s0": "question <b>0</b>", "s1": "question <b>1</b>", "s2": None,
                         "s3": "question <b>3</b>"}  # fmt: skip
    finally:
        store.close()


def test_two_batches_in_one_transaction_both_reach_the_index(postgres_uri: str) -> None:
    from chaintrack.store.spanindex import index_spans

    store = SqlStore(postgres_uri)
    try:
        store.write(_batch("t1", range(0)))
        first, second = _batch("t1", range(3)).events, _batch("t1", range(3, 6)).events
        with store._write_engine.begin() as conn:
            index_spans(conn, store._insert, first)
            index_spans(conn, store._insert, second)  # the staging table was emptied between
        assert _rows(postgres_uri, "SELECT count(*) FROM spans") == [(6,)]
        assert _rows(postgres_uri, "SELECT spans FROM task_stats") == [(6,)]
    finally:
        store.close()
