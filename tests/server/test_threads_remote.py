"""Threads through a tracking server: a real LangGraph graph paused and resumed on a thread,
logged over HTTP, read back with ``task.get_threads()`` / ``get_thread_turns()`` (RestStore)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypedDict

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from test_rest_store import LiveServer

from chaintrack.errors import InvalidArgumentError
from chaintrack.langchain import ClearMLCallbackHandler
from chaintrack.sdk.task import Task
from chaintrack.store import open_store
from chaintrack.store.rest import RestStore

THREAD = "<b>conv</b>/1?&"


class State(TypedDict):
    draft: str
    approved: str


def approval_graph() -> Any:
    def ask(state: State) -> dict[str, str]:
        return {"approved": str(interrupt({"question": "Send this?", "draft": state["draft"]}))}

    graph = StateGraph(State)
    graph.add_node("ask", ask)
    graph.add_edge(START, "ask")
    graph.add_edge("ask", END)
    return graph.compile(checkpointer=InMemorySaver())


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path)
    monkeypatch.setenv("CHAINTRACK_TRACKING_URI", server.url)
    yield server
    server.stop()


def test_threads_read_back_through_a_tracking_server(live: LiveServer) -> None:
    handler = ClearMLCallbackHandler(project_name="remote-chat", task_name="graph")
    graph = approval_graph()
    config: Any = {"configurable": {"thread_id": THREAD}, "callbacks": [handler]}
    graph.invoke({"draft": "hello", "approved": ""}, config)
    graph.invoke(Command(resume="yes"), config)
    handler.flush_tracker(finish=True)
    assert isinstance(open_store(), RestStore)

    task = Task.get_task(task_id=handler.task.id)
    threads = task.get_threads()
    assert list(threads["thread_id"]) == [THREAD]
    assert (int(threads["turns"].iloc[0]), int(threads["interrupted"].iloc[0])) == (2, 1)
    turns = task.get_thread_turns(THREAD)
    assert list(turns["status"]) == ["interrupted", "ok"]
    assert turns["resumes"].iloc[1] == turns["span_id"].iloc[0]
    assert turns["resume"].iloc[1] == "yes"
    assert all(latency > 0 for latency in turns["latency_ms"])
    # The server's own store answers the same.
    local = live.store.thread_turns(THREAD, task_id=task.id)
    assert [t.span_id for t in local.turns] == list(turns["span_id"])
    remote = open_store().thread_page(project="remote-chat")
    assert [t.thread_id for t in remote.threads] == [THREAD]
    assert open_store().trace_position(task.id, str(turns["span_id"].iloc[1])) == 1
    with pytest.raises(InvalidArgumentError, match="thread_id='' is not valid: give a thread id"):
        task.get_thread_turns("")
    with pytest.raises(InvalidArgumentError, match="give task_id or project"):
        open_store().thread_page()
