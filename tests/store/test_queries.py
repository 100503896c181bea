"""The store's paginated reads (the tasks table, event pages, scalars, the trace) and the span
index they rely on."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import pytest
from old_stores import first_revision_store, span_event

from chaintrack.errors import InvalidArgumentError
from chaintrack.store import migrate, schema
from chaintrack.store.records import LOG, SCALAR, SPAN, TaskRecord, WriteBatch
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
