"""What is recorded is what the callback received, whatever the application changes afterwards.

Each test changes its state right after the call returns: the records are built later, on the
writer's thread, so a handler that queued the application's own objects would record the
changed values (it did: ``RunnableLambda(f).invoke(state)`` then ``state["history"].append``
stored the appended history as the run's input).
"""

from __future__ import annotations

import json
from typing import Any, TypedDict

import pytest
from langchain_core.documents import Document
from langchain_core.language_models import FakeListChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool
from lc_helpers import stored

from chaintrack.langchain import ClearMLCallbackHandler
from chaintrack.langchain.snapshot import snapshot, snapshot_kwargs


def spans(handler: ClearMLCallbackHandler) -> list[dict[str, Any]]:
    frame = stored(handler).get_spans()
    return frame.to_dict("records")  # type: ignore[no-any-return]


def span_named(handler: ClearMLCallbackHandler, name: str) -> dict[str, Any]:
    found = [s for s in spans(handler) if s["name"] == name]
    assert len(found) == 1, [s["name"] for s in spans(handler)]
    return found[0]


def test_a_history_appended_after_the_call_is_not_the_recorded_input(
    handler: ClearMLCallbackHandler,
) -> None:
    state = {"question": "capital of France?", "history": ["hi", "hello"]}
    RunnableLambda(lambda s: len(s["history"]), name="count").invoke(
        state, config={"callbacks": [handler]}
    )
    state["history"].append("appended later")
    state["question"] = "changed later"
    recorded = json.loads(span_named(handler, "count")["input"])
    assert recorded == {"question": "capital of France?", "history": ["hi", "hello"]}
    assert handler.on_chain_start_records[0]["input"] == json.dumps(
        {"question": "capital of France?", "history": ["hi", "hello"]}
    )


def test_a_message_list_reused_across_turns_records_each_turn_as_it_was(
    handler: ClearMLCallbackHandler,
) -> None:
    model = FakeListChatModel(responses=["first answer", "second answer"], name="chat")
    history: list[Any] = [SystemMessage("Be brief."), HumanMessage("turn one")]
    reply = model.invoke(history, config={"callbacks": [handler]})
    history.append(reply)  # the usual agent loop: the same list grows
    history.append(HumanMessage("turn two"))
    model.invoke(history, config={"callbacks": [handler]})
    history.clear()
    prompts = [r["prompts"] for r in handler.on_chat_model_start_records]
    assert prompts[0] == "System: Be brief.\nHuman: turn one"
    assert prompts[1] == ("System: Be brief.\nHuman: turn one\nAI: first answer\nHuman: turn two")


def test_a_message_edited_after_the_call_keeps_its_recorded_content(
    handler: ClearMLCallbackHandler,
) -> None:
    model = FakeListChatModel(responses=["the answer"], name="chat")
    question = HumanMessage("what is 2+2?")
    reply = model.invoke([question], config={"callbacks": [handler]})
    question.content = "edited question"
    reply.content = "edited answer"
    assert handler.on_chat_model_start_records[0]["prompts"] == "Human: what is 2+2?"
    assert handler.on_llm_end_records[0]["text"] == "the answer"
    chat = span_named(handler, "chat")
    assert chat["input"] == "Human: what is 2+2?" and chat["output"] == "the answer"


def test_an_output_dict_updated_in_place_keeps_its_recorded_value(
    handler: ClearMLCallbackHandler,
) -> None:
    result = RunnableLambda(lambda _: {"answer": "42", "sources": ["a"]}, name="answer").invoke(
        "q", config={"callbacks": [handler]}
    )
    result["answer"] = "changed"
    result["sources"].append("b")
    assert json.loads(span_named(handler, "answer")["output"]) == {
        "answer": "42",
        "sources": ["a"],
    }


def test_tool_arguments_changed_after_the_call_are_recorded_as_passed(
    handler: ClearMLCallbackHandler,
) -> None:
    @tool
    def lookup(query: str, filters: dict[str, Any]) -> str:
        """Look something up."""
        return f"{query}: {len(filters)} filters"

    arguments: dict[str, Any] = {"query": "paris", "filters": {"lang": "fr"}}
    lookup.invoke(arguments, config={"callbacks": [handler]})
    arguments["filters"]["year"] = 2024
    arguments["query"] = "changed"
    record = handler.on_tool_start_records[0]
    assert "paris" in record["input_str"] and "year" not in record["input_str"]
    assert json.loads(span_named(handler, "lookup")["input"].replace("'", '"')) == {
        "query": "paris",
        "filters": {"lang": "fr"},
    }


def test_metadata_changed_after_the_call_keeps_its_recorded_value(
    handler: ClearMLCallbackHandler,
) -> None:
    metadata = {"user": "alice"}
    captured: list[Any] = []

    def first_event_metadata(event: Any) -> None:
        captured.append(event[6].get("metadata"))

    RunnableLambda(lambda x: x, name="echo").invoke(
        "q", config={"callbacks": [handler], "metadata": metadata}
    )
    metadata["user"] = "mallory"
    # The queued event holds a copy of the metadata, not the application's dict.
    with handler._lock:
        queued = list(handler._source.pending)
    for event in queued:
        if event[0] == "on_chain_start":
            first_event_metadata(event)
    assert all(m == {"user": "alice"} for m in captured)
    assert handler.action_records[0]["action"] == "on_chain_start"


def test_langgraph_state_mutated_after_invoke_is_recorded_as_passed(
    handler: ClearMLCallbackHandler,
) -> None:
    from langgraph.graph import END, START, StateGraph

    class State(TypedDict):
        messages: list[str]
        count: int

    def node(state: State) -> dict[str, Any]:
        return {"count": state["count"] + 1}

    graph = StateGraph(State)
    graph.add_node("step", node)
    graph.add_edge(START, "step")
    graph.add_edge("step", END)
    app = graph.compile()
    state: State = {"messages": ["hello"], "count": 0}
    out = app.invoke(state, config={"callbacks": [handler]})
    state["messages"].append("mutated input")
    out["messages"].append("mutated output")
    recorded = span_named(handler, "LangGraph")
    assert json.loads(recorded["input"]) == {"messages": ["hello"], "count": 0}
    assert json.loads(recorded["output"]) == {"messages": ["hello"], "count": 1}


def test_retrieved_documents_changed_after_the_call_are_recorded_as_returned(
    handler: ClearMLCallbackHandler,
) -> None:
    from langchain_core.retrievers import BaseRetriever

    docs = [Document(page_content="Paris is in France.", metadata={"id": 1})]

    class Fixed(BaseRetriever):
        def _get_relevant_documents(self, query: str, **_: Any) -> list[Document]:
            return docs

    Fixed().invoke("paris", config={"callbacks": [handler]})
    docs[0].page_content = "edited"
    docs[0].metadata["id"] = 2
    docs.append(Document(page_content="added later"))
    record = handler.on_retriever_end_records[0]
    assert record["document_count"] == 1
    assert json.loads(record["documents"]) == [
        {"page_content": "Paris is in France.", "metadata": {"id": 1}}
    ]


class Unbreakable:
    """An object whose copy fails and whose repr works."""

    def __init__(self) -> None:
        self.value = 1

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise RuntimeError("cannot be copied")

    def __repr__(self) -> str:
        return "<Unbreakable value=1>"


def test_an_object_that_cannot_be_copied_is_recorded_as_its_repr(
    handler: ClearMLCallbackHandler,
) -> None:
    RunnableLambda(lambda x: "ok", name="odd").invoke(
        {"thing": Unbreakable()}, config={"callbacks": [handler]}
    )
    assert "<Unbreakable value=1>" in span_named(handler, "odd")["input"]


@pytest.mark.parametrize(
    "value",
    [
        {"a": [1, {"b": {2, 3}}], "t": (1, [2])},
        [AIMessage("x", tool_calls=[{"name": "f", "args": {"k": [1]}, "id": "1"}])],
    ],
)
def test_a_snapshot_shares_nothing_mutable_with_the_original(value: Any) -> None:
    copied = snapshot(value)
    assert copied == value

    def containers(v: Any, found: list[int]) -> list[int]:
        if isinstance(v, (dict, list, set)):
            found.append(id(v))
            for item in v.values() if isinstance(v, dict) else v:
                containers(item, found)
        elif isinstance(v, tuple):
            for item in v:
                containers(item, found)
        elif hasattr(v, "__dict__"):
            found.append(id(v))
            for item in vars(v).values():
                containers(item, found)
        return found

    assert not set(containers(copied, [])) & set(containers(value, []))


def test_a_callbacks_keyword_arguments_are_kept_as_passed() -> None:
    """The ``**kwargs`` dict is the callback's own and is kept, but the tags, metadata and
    invocation parameters in it are the caller's and are copied."""
    tags, metadata = ["seq:step:1"], {"user": "alice", "session": {"turn": 1}}

    def callback(**kwargs: Any) -> dict[str, Any]:
        return snapshot_kwargs(kwargs)

    kept = callback(tags=tags, metadata=metadata, name="step", run_type=None)
    tags.append("later")
    metadata["user"] = "mallory"
    metadata["session"]["turn"] = 2  # type: ignore[index]
    assert kept == {"tags": ["seq:step:1"], "metadata": {"user": "alice", "session": {"turn": 1}},
                    "name": "step", "run_type": None}  # fmt: skip
