"""One tree: an OpenAI call made directly inside a LangGraph node (not through LangChain), with
the client instrumented by OpenInference, hangs under that node's run in the task of
chaintrack's LangChain handler, not in a second, separate trace."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from langgraph.graph import END, START, StateGraph
from openai_standin import OpenAIStandIn
from typing_extensions import TypedDict

from chaintrack import Task
from chaintrack.langchain import ClearMLCallbackHandler
from chaintrack.otel import register
from chaintrack.store.records import SPAN


class State(TypedDict):
    question: str
    answer: str


@pytest.fixture
def standin() -> Iterator[OpenAIStandIn]:
    server = OpenAIStandIn()
    yield server
    server.close()


def test_an_instrumented_call_in_a_langgraph_node_nests_under_the_node(
    standin: OpenAIStandIn,
) -> None:
    from openinference.instrumentation.openai import OpenAIInstrumentor

    handler = ClearMLCallbackHandler(project_name="graphs", task_name="one tree")
    elsewhere = Task.init(project_name="otel", task_name="spans outside LangChain")
    provider = register(task=elsewhere, set_global=False)
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    client = openai.OpenAI(base_url=standin.base_url, api_key="stand-in", max_retries=0)

    def ask_model(state: State) -> dict[str, Any]:
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": state["question"]}]
        )
        return {"answer": reply.choices[0].message.content}

    graph = StateGraph(State)
    graph.add_node("ask_model", ask_model)
    graph.add_edge(START, "ask_model")
    graph.add_edge("ask_model", END)
    try:
        result = graph.compile().invoke({"question": "who are you?", "answer": ""},
                                        config={"callbacks": [handler]})  # fmt: skip
        # A call outside any LangChain run stays in the provider's own task.
        client.chat.completions.create(model="gpt-4o-mini",
                                       messages=[{"role": "user", "content": "alone"}])  # fmt: skip
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    assert result["answer"] == "Echo: who are you?"
    assert handler.flush() and elsewhere.flush()

    store = handler.task._read_store()
    spans = {s["name"]: s for s in (e.data for e in store.get_events(handler.task.id, SPAN))}
    assert {"LangGraph", "ask_model", "ChatCompletion"} <= set(spans)
    call, node = spans["ChatCompletion"], spans["ask_model"]
    assert call["parent_id"] == node["span_id"]  # the node's LangChain run id
    assert call["kind"] == "chat_model" and call["input"] == "user: who are you?"
    trace = store.trace_page(handler.task.id, 0, 50)
    assert trace.total_roots == 1
    depths = {v.span["name"]: v.depth for v in trace.spans}
    assert depths["ChatCompletion"] == depths["ask_model"] + 1

    alone = [e.data for e in store.get_events(elsewhere.id, SPAN)]
    assert [(s["name"], s["input"], s["parent_id"]) for s in alone] == [
        ("ChatCompletion", "user: alone", None)
    ]
