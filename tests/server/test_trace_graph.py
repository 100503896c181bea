"""The Trace tab shows a LangGraph node's metadata (node, step, namespace, what triggered it,
which attempt of a retried task it was), escaped, for a real graph run with the real handler."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy
from server_helpers import Api

from chaintrack.langchain import ClearMLCallbackHandler

NODE = "<i>review</i>"


class State(TypedDict):
    notes: Annotated[list[str], operator.add]


def test_the_trace_tab_shows_triggers_and_the_attempt_of_a_retried_node(api: Api) -> None:
    failures = [ConnectionError("the reviewer is unreachable")]

    def review(state: State) -> dict[str, Any]:
        if failures:
            raise failures.pop()
        return {"notes": ["reviewed"]}

    builder = StateGraph(State)
    builder.add_node("draft", lambda s: {"notes": ["drafted"]})
    builder.add_node(NODE, review, retry_policy=RetryPolicy(max_attempts=3, initial_interval=0.01))
    builder.add_edge(START, "draft")
    builder.add_edge("draft", NODE)
    builder.add_edge(NODE, END)
    handler = ClearMLCallbackHandler(project_name="graphs", task_name="retried review")
    result = builder.compile().invoke({"notes": []}, {"callbacks": [handler]})
    assert result["notes"] == ["drafted", "reviewed"]
    handler.flush()
    page = api.get(f"/tasks/{handler.task.id}?tab=trace").text
    assert "<i>" not in page
    escaped = "&lt;i&gt;review&lt;/i&gt;"
    assert f"node {escaped}, step 2" in page
    assert f"triggered by branch:to:{escaped}, attempt 2 ·" in page
    assert "node draft, step 1" in page and "triggered by branch:to:draft ·" in page
    assert page.count('class="status status-failed"') == 1  # the first attempt
    assert "ConnectionError: the reviewer is unreachable" in page
