"""LangGraph's on_interrupt / on_resume callbacks, and the turn that resumes a paused one, with
real graphs and a real checkpointer (the installed langgraph sends both callbacks)."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from typing import Any, TypedDict

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from lc_helpers import stored

from chaintrack.langchain import ClearMLCallbackHandler

#: LangGraph sends on_interrupt / on_resume (langgraph.callbacks) from 1.2 on.
needs_lifecycle = pytest.mark.skipif(
    importlib.util.find_spec("langgraph.callbacks") is None,
    reason="this langgraph sends no on_interrupt / on_resume (langgraph 1.2 and later do)",
)


class State(TypedDict):
    draft: str
    approved: str


def approval_graph() -> Any:
    def ask(state: State) -> dict[str, str]:
        answer = interrupt({"question": "Send this?", "draft": state["draft"]})
        return {"approved": str(answer)}

    graph = StateGraph(State)
    graph.add_node("ask", ask)
    graph.add_edge(START, "ask")
    graph.add_edge("ask", END)
    return graph.compile(checkpointer=InMemorySaver())


def _roots(handler: ClearMLCallbackHandler) -> list[dict[str, Any]]:
    task = stored(handler)
    raw = [e.data for e in task._read_store().get_events(task.id, "span")]
    return sorted((d for d in raw if d["parent_id"] is None), key=lambda d: d["start_time"])


@needs_lifecycle
def test_on_interrupt_and_on_resume_become_records_without_warnings(
    handler: ClearMLCallbackHandler, caplog: pytest.LogCaptureFixture
) -> None:
    graph = approval_graph()
    config: Any = {"configurable": {"thread_id": "t-9"}, "callbacks": [handler]}
    with caplog.at_level(logging.WARNING):
        graph.invoke({"draft": "hello", "approved": ""}, config)
        graph.invoke(Command(resume="yes"), config)
    assert not [r for r in caplog.records if r.name.startswith(("chaintrack", "langchain"))]
    records = handler.action_records
    paused = [r for r in records if r["action"] == "on_interrupt"]
    resumed = [r for r in records if r["action"] == "on_resume"]
    assert len(paused) == 1 and len(resumed) == 1
    assert "Send this?" in paused[0]["interrupt"] and paused[0]["name"] == "LangGraph"
    # The pause and its resumption name the same checkpoint, and the graph's root runs.
    assert paused[0]["checkpoint_id"] and paused[0]["checkpoint_id"] == resumed[0]["checkpoint_id"]
    roots = _roots(handler)
    assert [paused[0]["run_id"], resumed[0]["run_id"]] == [r["span_id"] for r in roots]
    assert resumed[0]["resume"] == "yes" and resumed[0]["resumes"] == roots[0]["span_id"]
    assert max(r["errors"] for r in records) == 0


@needs_lifecycle
def test_the_resumed_turn_names_the_paused_turn_and_the_resume_value(
    handler: ClearMLCallbackHandler,
) -> None:
    graph = approval_graph()
    config: Any = {"configurable": {"thread_id": "conv-3"}, "callbacks": [handler]}
    graph.invoke({"draft": "hi", "approved": ""}, config)
    graph.invoke(Command(resume={"approved": True, "note": "<b>ok</b>"}), config)
    first, second = _roots(handler)
    assert first["status"] == "interrupted" and second["status"] == "ok"
    assert first["thread_id"] == second["thread_id"] == "conv-3"
    assert second["resumes"] == first["span_id"] == first["trace_id"]
    assert second["resume"] == '{"approved": true, "note": "<b>ok</b>"}'
    assert first["interrupt_checkpoint_id"] == second["resume_checkpoint_id"]
    assert "resumes" not in first


def test_a_new_question_on_a_paused_thread_is_not_a_resumption(
    handler: ClearMLCallbackHandler,
) -> None:
    graph = approval_graph()
    config: Any = {"configurable": {"thread_id": "conv-4"}, "callbacks": [handler]}
    other: Any = {"configurable": {"thread_id": "conv-5"}, "callbacks": [handler]}
    graph.invoke({"draft": "a", "approved": ""}, config)
    graph.invoke({"draft": "b", "approved": ""}, other)
    graph.invoke(Command(resume="yes"), other)
    roots = _roots(handler)
    assert [r["thread_id"] for r in roots] == ["conv-4", "conv-5", "conv-5"]
    assert roots[2]["resumes"] == roots[1]["span_id"]  # its own thread's pause, not conv-4's


@needs_lifecycle
def test_async_graphs_send_the_lifecycle_callbacks_too(handler: ClearMLCallbackHandler) -> None:
    graph = approval_graph()
    config: Any = {"configurable": {"thread_id": "a-1"}, "callbacks": [handler]}

    async def run() -> None:
        await graph.ainvoke({"draft": "x", "approved": ""}, config)
        await graph.ainvoke(Command(resume="later"), config)

    asyncio.run(run())
    actions = [r["action"] for r in handler.action_records]
    assert actions.count("on_interrupt") == 1 and actions.count("on_resume") == 1
    first, second = _roots(handler)
    assert second["resumes"] == first["span_id"] and second["resume"] == "later"


@needs_lifecycle
def test_the_handler_stays_itself_when_it_starts_hearing_graph_events(
    handler: ClearMLCallbackHandler,
) -> None:
    from langgraph.callbacks import GraphCallbackHandler

    graph = approval_graph()
    graph.invoke({"draft": "x", "approved": ""}, {"configurable": {"thread_id": "s"},
                                                  "callbacks": [handler]})  # fmt: skip
    assert isinstance(handler, GraphCallbackHandler)
    assert isinstance(handler, ClearMLCallbackHandler)
    assert type(handler).__name__ == "ClearMLCallbackHandler"
    # A second handler reuses the same class, and calling the hooks directly is harmless.
    second = ClearMLCallbackHandler(task=handler.task)
    second.on_chain_start({}, {}, run_id=None)
    assert type(second) is type(handler)
    second.on_interrupt(object())
    second.on_resume(object())
    assert [r["action"] for r in second.action_records][-2:] == ["on_interrupt", "on_resume"]
