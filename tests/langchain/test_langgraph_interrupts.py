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
