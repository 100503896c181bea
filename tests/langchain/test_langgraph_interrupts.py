"""LangGraph's interrupt() with a real graph and checkpointer: paused, not failed."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from lc_helpers import stored

from chaintrack.langchain import ClearMLCallbackHandler


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


def test_an_interrupt_is_a_pause_not_an_error(handler: ClearMLCallbackHandler) -> None:
    graph = approval_graph()
    config: Any = {"configurable": {"thread_id": "t-1"}, "callbacks": [handler]}
    graph.invoke({"draft": "hello", "approved": ""}, config)
    records = handler.action_records
    assert not [r for r in records if r["action"].endswith("_error")]
    assert max(r["errors"] for r in records) == 0
    paused = [r for r in records if r["action"] == "on_chain_interrupt"]
    assert paused and "Send this?" in str(paused[0]["interrupt"])
    result = graph.invoke(Command(resume="yes"), config)
    assert result["approved"] == "yes"
    spans = stored(handler).get_spans()
    ask = spans[spans["name"] == "ask"]
    assert list(ask["status"]) == ["interrupted", "ok"]
    assert "Send this?" in str(ask["output"].iloc[0])
    assert "error" not in set(spans["status"])


def test_every_span_of_a_turn_carries_the_thread_and_its_root(
    handler: ClearMLCallbackHandler,
) -> None:
    graph = approval_graph()
    config: Any = {"configurable": {"thread_id": "conv-7"}, "callbacks": [handler]}
    graph.invoke({"draft": "hi", "approved": ""}, config)
    graph.invoke(Command(resume="ok"), config)
    spans = stored(handler).get_spans()
    assert set(spans["thread_id"]) == {"conv-7"}
    roots = spans[spans["parent_id"].isna()]
    assert len(roots) == 2
    for _, root in roots.iterrows():
        assert root["trace_id"] == root["span_id"]
    assert set(spans["trace_id"]) == set(roots["span_id"])
    raw = [e.data for e in stored(handler)._read_store().get_events(stored(handler).id, "span")]
    ask = [d for d in raw if d and d["name"] == "ask"]
    assert ask and all(d["langgraph_node"] == "ask" for d in ask)
    assert all(d["checkpoint_ns"].startswith("ask") for d in ask)
