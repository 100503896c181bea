"""The Threads view: a task's and a project's threads, each thread's turns in order with their
latency, tokens, cost and status, on SQLite and PostgreSQL, through the REST API and the pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from server_helpers import Api, span, write_task

from chaintrack.server.app import create_app
from chaintrack.store import open_store
from chaintrack.store.base import Store

HOSTILE = '<img src=x onerror="alert(1)">&thread/1?x=y#z'
TASK_A, TASK_B = "a" * 32, "b" * 32


def _turn(root: str, start: float, thread: str, **root_fields: Any) -> list[dict[str, Any]]:
    """A turn: a root chain and one model call under it (10 + 5 tokens, priced at $0.002)."""
    common = {"thread_id": thread, "trace_id": root}
    return [
        span(root, None, "chain", start, start + 2.0, **common, **root_fields),
        span(
            f"{root}-llm",
            root,
            "chat_model",
            start + 0.5,
            start + 1.5,
            **common,
            prompt_tokens=10,
            completion_tokens=5,
            total_tokens=15,
            cost_usd=0.002,
            model_name="fake",
        ),
    ]


def _write(store: Store) -> None:
    spans = [
        *_turn("t1", 10.0, "conv-1", input="first question"),
        *_turn("t2", 20.0, "conv-1", status="interrupted", output='[{"question": "Send?"}]'),
        *_turn("t3", 30.0, "conv-1", resumes="t2", resume='"yes"'),
        *_turn("t4", 15.0, HOSTILE, input="<script>alert('prompt')</script>"),
        span("lone", None, "chain", 40.0, 41.0),  # no thread: not in the view
    ]
    write_task(store, TASK_A, project="chat", spans=spans)
    write_task(store, TASK_B, project="chat", spans=_turn("u1", 50.0, "conv-1", status="error"))


@pytest.fixture
def both(store_uri: str) -> Iterator[tuple[Store, Api]]:
    store = open_store(store_uri)
    _write(store)
    client = Api(create_app(store))
    yield store, client
    client.close()


def test_a_tasks_threads_and_turns_on_each_backend(both: tuple[Store, Api]) -> None:
    store, _ = both
    page = store.thread_page(task_id=TASK_A)
    assert page.total == 2
    conv, hostile = page.threads  # the most recently active first
    assert (conv.thread_id, conv.turns, conv.interrupted, conv.errors) == ("conv-1", 3, 1, 0)
    assert conv.total_tokens == 45 and conv.cost_usd == pytest.approx(0.006)
    assert (conv.first_start, conv.last_end) == (10.0, 32.0)
    assert hostile.thread_id == HOSTILE and hostile.turns == 1
    turns = store.thread_turns("conv-1", task_id=TASK_A)
    assert [t.span_id for t in turns.turns] == ["t1", "t2", "t3"]
    assert [t.status for t in turns.turns] == ["ok", "interrupted", "ok"]
    assert [t.latency_ms for t in turns.turns] == [2000.0] * 3
    assert all(
        (t.prompt_tokens, t.completion_tokens, t.total_tokens) == (10, 5, 15) for t in turns.turns
    )
    assert turns.turns[0].input == "first question"
    assert (turns.turns[2].resumes, turns.turns[2].resume) == ("t2", '"yes"')
    second = store.thread_turns("conv-1", task_id=TASK_A, offset=1, limit=1)
    assert second.total == 3 and [t.span_id for t in second.turns] == ["t2"]
    assert store.trace_position(TASK_A, "t3") == 3  # t1, t4, t2 start before it
    assert store.trace_position(TASK_A, "t1-llm") is None


def test_a_projects_threads_span_its_tasks(both: tuple[Store, Api]) -> None:
    store, _ = both
    page = store.thread_page(project="chat")
    conv = next(t for t in page.threads if t.thread_id == "conv-1")
    assert (conv.turns, conv.tasks, conv.errors) == (4, 2, 1)
    turns = store.thread_turns("conv-1", project="chat")
    assert [(t.task_id, t.span_id) for t in turns.turns] == [
        (TASK_A, "t1"), (TASK_A, "t2"), (TASK_A, "t3"), (TASK_B, "u1"),
    ]  # fmt: skip
    assert store.thread_page(project="nobody").total == 0


def test_the_rest_api_serves_threads(both: tuple[Store, Api]) -> None:
    _, api = both
    found = api.get(f"/api/v1/tasks/{TASK_A}/threads").json()
    assert [t["thread_id"] for t in found["threads"]] == ["conv-1", HOSTILE]
    turns = api.get(f"/api/v1/tasks/{TASK_A}/threads/turns", params={"thread_id": HOSTILE})
    assert turns.status_code == 200
    assert turns.json()["turns"][0]["input"] == "<script>alert('prompt')</script>"
    project = api.get("/api/v1/projects/chat/threads").json()
    assert project["threads"][0]["thread_id"] == "conv-1" and project["threads"][0]["tasks"] == 2
    project_turns = api.get("/api/v1/projects/chat/threads/turns", params={"thread_id": "conv-1"})
    assert project_turns.json()["total"] == 4
    assert api.get(f"/api/v1/tasks/{'0' * 32}/threads").status_code == 404
    bad = api.get(f"/api/v1/tasks/{TASK_A}/threads", params={"limit": 0})
    assert bad.status_code == 422
    # Found by the API fuzz: an offset past SQL's 64-bit integers was a 500.
    huge = api.get("/api/v1/projects/chat/threads/turns", params={"thread_id": "x",
                                                                  "offset": 2**70})  # fmt: skip
    assert huge.status_code == 400 and "offset=" in huge.json()["detail"]
    position = api.get(f"/api/v1/tasks/{TASK_A}/trace-position", params={"span_id": "t2"})
    assert position.json() == {"position": 2}


def test_the_threads_tab_shows_turns_in_order_and_escapes_thread_ids(
    both: tuple[Store, Api],
) -> None:
    _, api = both
    page = api.get(f"/tasks/{TASK_A}?tab=threads").text
    assert 'data-tab="threads"' in page and 'id="threads"' in page
    assert HOSTILE not in page and "&lt;img src=x onerror=" in page
    assert "1 paused" in page
    turns = api.get(f"/tasks/{TASK_A}", params={"tab": "threads", "thread": "conv-1"}).text
    assert turns.index('id="turn-t1"') < turns.index('id="turn-t2"') < turns.index('id="turn-t3"')
    assert "2000 ms" in turns and ">15<" in turns and "$0.002" in turns
    assert ">paused<" in turns and "resumes <a" in turns and "&#34;yes&#34;" in turns
    assert f'href="/tasks/{TASK_A}/traces/t2"' in turns
    hostile = api.get(f"/tasks/{TASK_A}", params={"tab": "threads", "thread": HOSTILE}).text
    assert "<script>alert" not in hostile and "&lt;script&gt;alert(" in hostile
    # A turn's link opens the Trace tab on the page holding that root.
    jump = api.get(f"/tasks/{TASK_A}/traces/t3", follow_redirects=False)
    assert jump.status_code == 303
    assert jump.headers["location"] == f"/tasks/{TASK_A}?tab=trace&page=1#span-t3"


def test_the_project_threads_page(both: tuple[Store, Api]) -> None:
    _, api = both
    assert "/threads?project=chat" in api.get("/").text
    page = api.get("/threads", params={"project": "chat"}).text
    assert "conv-1" in page and "(2 tasks)" in page and "1 failed" in page
    turns = api.get("/threads", params={"project": "chat", "thread": "conv-1"}).text
    assert f'href="/tasks/{TASK_B}/traces/u1"' in turns and ">error<" in turns


def test_the_trace_tab_links_a_resumed_run_to_the_paused_one(both: tuple[Store, Api]) -> None:
    _, api = both
    page = api.get(f"/tasks/{TASK_A}?tab=trace").text
    assert page.index('id="span-t2"') < page.index('id="span-t3"')
    assert 'resumes <a href="#span-t2">the paused run</a>' in page
    assert "&#34;yes&#34;" in page
