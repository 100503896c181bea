"""The store's paginated reads (the tasks table, event pages, scalars, the trace) and the span
index they rely on."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from old_stores import first_revision_store, span_event

from chaintrack.errors import InvalidArgumentError
from chaintrack.store import migrate, schema
from chaintrack.store.records import (
    LOG,
    SCALAR,
    SINGLE_VALUE_ITER,
    SINGLE_VALUE_METRIC,
    SPAN,
    TaskRecord,
    WriteBatch,
)
from chaintrack.store.sql import SqlStore
from chaintrack.store.views import EventQuery, TaskPageQuery, TaskStats


@pytest.fixture
def store(store_uri: str) -> Iterator[SqlStore]:
    """A new store on each SQL backend (``sqlite`` and ``postgresql``)."""
    s = SqlStore(store_uri)
    yield s
    s.close()


def task(task_id: str, **fields: object) -> TaskRecord:
    base: dict[str, object] = {
        "id": task_id,
        "project": "p",
        "name": task_id,
        "type": "inference",
        "status": "completed",
        "created": 100.0,
        "last_update": 110.0,
        "started": 100.0,
        "completed": 110.0,
    }
    base.update(fields)
    return TaskRecord(**base)  # type: ignore[arg-type]


def ids(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [row.task.id for row in page.rows]


def test_span_totals_count_llm_calls_tokens_and_errors(store: SqlStore) -> None:
    events = [
        span_event("a", 1, "root"),
        span_event(
            "a",
            2,
            "llm1",
            "root",
            kind="llm",
            prompt_tokens=10,
            completion_tokens=5,
            total_tokens=15,
        ),
        span_event(
            "a", 3, "chat", "root", kind="chat_model", prompt_tokens=3, completion_tokens=4
        ),  # no total: prompt + completion
        span_event("a", 4, "tool", "root", kind="tool", status="error", error="boom"),
        # A chain that repeats its calls' usage is not counted twice.
        span_event("a", 5, "chain2", "root", total_tokens=99),
    ]
    store.write(WriteBatch(new_tasks=[task("a")], events=events))
    assert store.task_summary("a").stats == TaskStats(
        spans=5, llm_calls=2, prompt_tokens=13, completion_tokens=9, total_tokens=22, errors=1
    )
    assert store.task_summary("a").event_counts == {SPAN: 5}


def test_replaying_span_events_leaves_the_totals_as_they_were(store: SqlStore) -> None:
    batch = WriteBatch(
        new_tasks=[task("a")],
        events=[span_event("a", 1, "x", kind="llm", total_tokens=7)],
    )
    store.write(batch)
    store.write(batch)  # a retry after a lost answer, a spool replay
    assert store.task_summary("a").stats.total_tokens == 7
    assert store.task_summary("a").stats.llm_calls == 1
    store.reset_task("a")
    assert store.task_summary("a").stats == TaskStats()


def test_events_that_are_not_spans_of_the_handler_do_not_count(store: SqlStore) -> None:
    odd = ("a", 1, 9, SPAN, 1.0, None, None, None, None, None, None, json.dumps(["no id"]))
    store.write(WriteBatch(new_tasks=[task("a")], events=[odd]))
    assert store.task_summary("a").stats == TaskStats()
    assert store.get_events("a", SPAN)[0].data == ["no id"]


def test_tasks_table_filters_by_status_tag_and_text(store: SqlStore) -> None:
    store.write(
        WriteBatch(
            new_tasks=[
                task("a1", name="Alpha run", tags=["nightly", "gpt"], status="completed"),
                task(
                    "b2",
                    name="beta",
                    tags=["nightly-2"],
                    status="failed",
                    comment="ALPHA in comment",
                ),
                task("c3", name="gamma", tags=['say "hi", "nightly"'], status="in_progress"),
                task("d4", name="delta", project="q", tags=["Nightly"]),
            ]
        )
    )
    page = store.task_page(TaskPageQuery(tags=("nightly",)))
    # Whole tags only, case-sensitive: not "nightly-2", not a tag that contains the quoted text.
    assert ids(page) == ["a1"]
    assert ids(store.task_page(TaskPageQuery(tags=('say "hi", "nightly"',)))) == ["c3"]
    assert ids(store.task_page(TaskPageQuery(tags=("nightly", "gpt")))) == ["a1"]
    assert sorted(ids(store.task_page(TaskPageQuery(status=("failed", "in_progress"))))) == [
        "b2",
        "c3",
    ]
    # Text: name or comment, any case; or the start of the id.
    assert sorted(ids(store.task_page(TaskPageQuery(text="alpha")))) == ["a1", "b2"]
    assert ids(store.task_page(TaskPageQuery(text="c3"))) == ["c3"]
    assert ids(store.task_page(TaskPageQuery(text="100%"))) == []  # LIKE wildcards are text
    assert store.task_page(TaskPageQuery(project="q")).total == 1


def test_tasks_table_sorts_by_span_totals_and_pages(store: SqlStore) -> None:
    tasks = [task(f"t{i}", created=100.0 + i) for i in range(5)]
    events = [span_event(f"t{i}", 1, "s", kind="llm", total_tokens=i * 10) for i in (1, 3)]
    store.write(WriteBatch(new_tasks=tasks, events=events))
    by_tokens = store.task_page(TaskPageQuery(sort="tokens", limit=2))
    assert by_tokens.total == 5
    assert ids(by_tokens) == ["t3", "t1"]
    assert by_tokens.rows[0].stats.total_tokens == 30
    assert ids(store.task_page(TaskPageQuery(sort="created", descending=False, offset=3))) == [
        "t3",
        "t4",
    ]
    with pytest.raises(InvalidArgumentError, match="sort='bogus' is not valid"):
        store.task_page(TaskPageQuery(sort="bogus"))
    with pytest.raises(InvalidArgumentError, match="limit=0"):
        store.task_page(TaskPageQuery(limit=0))


def test_projects_list_counts_tasks_per_status(store: SqlStore) -> None:
    store.write(
        WriteBatch(
            new_tasks=[
                task("a"),
                task("b", status="failed"),
                task("c", project="z", last_update=500.0),
            ]
        )
    )
    projects = store.list_projects()
    assert [(p.name, p.tasks, p.statuses) for p in projects] == [
        ("p", 2, {"completed": 1, "failed": 1}),
        ("z", 1, {"completed": 1}),
    ]
    assert projects[1].last_update == 500.0


def test_event_pages_search_filter_by_level_and_go_newest_first(store: SqlStore) -> None:
    lines = [
        (
            "a",
            1,
            i,
            LOG,
            float(i),
            None,
            None,
            None,
            None,
            40 if i % 10 == 0 else 20,
            f"line {i}" + (" needle" if i % 7 == 0 else ""),
            None,
        )
        for i in range(1, 101)
    ]
    store.write(WriteBatch(new_tasks=[task("a")], events=lines))  # type: ignore[arg-type]
    page = store.event_page("a", EventQuery(LOG, offset=10, limit=5))
    assert page.total == 100
    assert [int(e.text.split()[1]) for e in page.events] == list(range(11, 16))
    newest = store.event_page("a", EventQuery(LOG, limit=2, newest_first=True))
    assert [e.text for e in newest.events] == ["line 100", "line 99"]
    found = store.event_page("a", EventQuery(LOG, text="NEEDLE", limit=100))
    assert found.total == 14
    errors = store.event_page("a", EventQuery(LOG, min_level=40, limit=100))
    assert [e.text for e in errors.events][:2] == ["line 10", "line 20"]
    assert errors.total == 10


def test_scalar_series_are_ordered_by_iteration_and_thinned_keeping_the_ends(
    store: SqlStore,
) -> None:
    points = [
        ("a", 1, i, SCALAR, float(i), "loss", "train", 999 - i, float(i), None, None, None)
        for i in range(1000)
    ]
    points.append(("a", 1, 5000, SCALAR, 1.0, "loss", "val", 0, math.nan, None, None, None))
    store.write(WriteBatch(new_tasks=[task("a")], events=points))  # type: ignore[arg-type]
    train, val = store.scalar_series("a", max_points=50)
    assert (train.metric, train.variant, train.count) == ("loss", "train", 1000)
    assert len(train.iters) == 50
    assert train.iters[0] == 0 and train.iters[-1] == 999
    assert train.iters == sorted(train.iters)
    assert math.isnan(val.values[0])


def test_trace_pages_roots_with_their_subtrees_depth_first(store: SqlStore) -> None:
    events = [
        span_event("a", 1, "child-late", "root1", start_time=103.0),
        span_event("a", 2, "child-early", "root1", start_time=102.0),
        span_event("a", 3, "grandchild", "child-late", start_time=104.0),
        span_event("a", 4, "root1", None, start_time=101.0),
        span_event("a", 5, "root2", None, start_time=110.0),
        span_event("a", 6, "orphan", "not-in-this-task", start_time=120.0),
    ]
    store.write(WriteBatch(new_tasks=[task("a")], events=events))
    page = store.trace_page("a", 0, 1)
    assert page.total_roots == 3
    assert [(v.depth, v.span["span_id"]) for v in page.spans] == [
        (0, "root1"),
        (1, "child-early"),
        (1, "child-late"),
        (2, "grandchild"),
    ]
    assert page.spans[0].span["input"] == "in"  # the payload, read from the event
    assert [v.span["span_id"] for v in store.trace_page("a", 1, 5).spans] == ["root2", "orphan"]


def test_a_cycle_of_parents_cannot_hang_the_trace(store: SqlStore) -> None:
    events = [
        span_event("a", 1, "x", "y"),
        span_event("a", 2, "y", "x"),
        span_event("a", 3, "r", None),
        span_event("a", 4, "x2", "r"),
    ]
    store.write(WriteBatch(new_tasks=[task("a")], events=events))
    page = store.trace_page("a")
    assert [v.span["span_id"] for v in page.spans] == ["r", "x2"]


def test_upgrading_a_first_revision_store_indexes_its_spans(store_uri: str) -> None:
    first_revision_store(store_uri)
    store = SqlStore(store_uri)  # opening migrates to the head revision
    try:
        assert store.task_summary("a").stats.total_tokens == 12
        assert [v.span["span_id"] for v in store.trace_page("a").spans] == ["s"]
        assert migrate.current_revision(store._write_engine) == schema.HEAD_REVISION
    finally:
        store.close()


def _reference_series(store: SqlStore, task_id: str, most: int) -> list[tuple[Any, ...]]:
    """The Scalars tab as it was computed before thinning moved into SQL: every point read,
    ordered by iteration (ties by time, writer, sequence), evenly thinned in Python."""
    points = [
        e
        for e in store.get_events(task_id, SCALAR)  # ordered by time, writer, sequence
        if not (e.metric == SINGLE_VALUE_METRIC and e.iter == SINGLE_VALUE_ITER)
    ]
    grouped: dict[tuple[str, str], list[Any]] = {}
    for e in sorted(points, key=lambda e: (e.metric, e.variant, e.iter, e.ts)):
        grouped.setdefault((e.metric or "", e.variant or ""), []).append(e)
    found = []
    for (metric, variant), series in grouped.items():
        picks = range(len(series))
        if len(series) > most:
            step = (len(series) - 1) / (most - 1)
            picks = sorted({round(i * step) for i in range(most)})
        kept = [series[i] for i in picks]
        found.append(
            (metric, variant, len(series), [e.iter for e in kept], [repr(e.value) for e in kept])
        )
    return found


def test_scalar_series_thinned_in_sql_equal_thinning_every_point(store: SqlStore) -> None:
    rng = random.Random(7)
    points = []
    for seq in range(3000):
        metric, variant = rng.choice([("loss", "train"), ("loss", "val"), ("acc", "a")])
        iteration = rng.randrange(400)  # repeated iterations, some at the same time too
        value = math.nan if seq % 97 == 0 else rng.random()
        writer = rng.choice([1, 2])
        ts = float(rng.randrange(50))
        points.append(("a", writer, seq, SCALAR, ts, metric, variant, iteration, value, None,
                       None, None))  # fmt: skip
    points.append(("a", 1, 9999, SCALAR, 1.0, SINGLE_VALUE_METRIC, "x", SINGLE_VALUE_ITER, 5.0,
                   None, None, None))  # fmt: skip
    store.write(WriteBatch(new_tasks=[task("a")], events=points))  # type: ignore[arg-type]
    for most in (2, 3, 50, 999, 1000, 1001, 5000):
        found = [
            (s.metric, s.variant, s.count, s.iters, [repr(v) for v in s.values])
            for s in store.scalar_series("a", max_points=most)
        ]
        assert found == _reference_series(store, "a", most), most


def test_pages_past_the_middle_equal_the_pages_read_from_the_start(store: SqlStore) -> None:
    """Pages are read from the end when that is shorter: the same rows in the same order."""
    lines = [
        ("a", writer, seq, LOG, float(seq // 3), None, None, None, None, 20 + seq % 3 * 10,
         f"line {writer} {seq}", None)
        for seq in range(40)
        for writer in (2, 1)
    ]  # fmt: skip
    store.write(WriteBatch(new_tasks=[task("a")], events=lines))  # type: ignore[arg-type]
    for query in (EventQuery(LOG, limit=1000), EventQuery(LOG, min_level=30, limit=1000)):
        for newest in (False, True):
            every = store.event_page("a", replace(query, newest_first=newest)).events
            assert len(every) == (80 if query.min_level is None else 52)
            for limit in (1, 7, 30):
                for offset in range(0, len(every) + 2, 3):
                    page = store.event_page(
                        "a", replace(query, newest_first=newest, offset=offset, limit=limit)
                    )
                    assert page.events == every[offset : offset + limit], (offset, limit)
                    assert page.total == len(every)


def test_trace_pages_past_the_middle_equal_the_pages_read_from_the_start(
    store: SqlStore,
) -> None:
    events = [span_event("a", n, f"r{n:02d}", None, start_time=float(n // 2)) for n in range(25)]
    events += [span_event("a", 100 + n, f"c{n}", f"r{n:02d}") for n in range(25)]
    store.write(WriteBatch(new_tasks=[task("a")], events=events))
    every = store.trace_page("a", 0, 1000)
    assert [v.span["span_id"] for v in every.spans if v.depth == 0] == [
        f"r{n:02d}" for n in range(25)
    ]
    for limit in (1, 4, 10):
        for offset in range(27):
            page = store.trace_page("a", offset, limit)
            roots = [v.span["span_id"] for v in page.spans if v.depth == 0]
            assert roots == [f"r{n:02d}" for n in range(25)][offset : offset + limit]
            assert page.total_roots == 25
            assert all(v.span["parent_id"] in roots for v in page.spans if v.depth == 1)
