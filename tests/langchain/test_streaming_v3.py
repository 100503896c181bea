"""Streaming, old and new: time to first token, streamed tokens, ``llm_streams`` and token usage
are recorded whether a model streams through ``on_llm_new_token`` (v1) or through the v3
streaming protocol's ``on_stream_event`` (``stream_events(version="v3")``, and LangGraph's v3
graph streaming, which routes a node's ``invoke`` through it)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from lc_fakes import NativeEventsChatModel, ScriptedChatModel, usage
from lc_helpers import stored

from chaintrack.langchain import ClearMLCallbackHandler

#: The tests of the v3 protocol (on_stream_event), which older langchain-core does not have.
v3 = pytest.mark.skipif(
    not hasattr(BaseCallbackHandler, "on_stream_event"),
    reason="this langchain-core has no v3 streaming protocol (on_stream_event)",
)
pytestmark = pytest.mark.filterwarnings(
    "ignore::langchain_core._api.beta_decorator.LangChainBetaWarning"
)


def ends(handler: ClearMLCallbackHandler) -> list[dict[str, Any]]:
    return [r for r in handler.action_records if r["action"] == "on_llm_end"]


def assert_streamed(end: dict[str, Any], tokens: int, total: int) -> None:
    assert end["streamed_tokens"] == tokens
    assert 0 <= end["time_to_first_token_ms"] <= end["latency_ms"]
    assert end["token_usage_total_tokens"] == total


@v3
def test_a_native_v3_stream_records_first_token_tokens_and_usage_once(
    handler: ClearMLCallbackHandler,
) -> None:
    model = NativeEventsChatModel(text="hello there world")
    stream = model.stream_events("hi", {"callbacks": [handler]}, version="v3")
    assert stream.output.usage_metadata == usage(7, 5)
    (end,) = ends(handler)
    assert_streamed(end, tokens=5, total=12)
    assert end["text"] == "hello there world"
    meta = handler.get_custom_callback_meta()
    assert (meta["llm_streams"], meta["llm_starts"], meta["llm_ends"]) == (5, 1, 1)
    span = stored(handler).get_spans().iloc[0]
    assert (span["prompt_tokens"], span["completion_tokens"], span["total_tokens"]) == (7, 5, 12)


@v3
def test_an_async_native_v3_stream_is_recorded_like_a_sync_one(
    handler: ClearMLCallbackHandler,
) -> None:
    model = NativeEventsChatModel(text="one two")

    async def main() -> Any:
        stream = await model.astream_events("hi", {"callbacks": [handler]}, version="v3")
        return await stream

    assert asyncio.run(main()).usage_metadata == usage(7, 3)
    (end,) = ends(handler)
    assert_streamed(end, tokens=3, total=10)
    assert handler.get_custom_callback_meta()["llm_streams"] == 3


@v3
def test_a_model_bridged_from_its_stream_counts_each_chunk_once(
    handler: ClearMLCallbackHandler,
) -> None:
    # Such a model sends on_llm_new_token from its _stream and LangChain turns the same chunks
    # into on_stream_event: one token per chunk, not two.
    model = ScriptedChatModel(replies=[AIMessage(content="a b c", usage_metadata=usage(3, 3))])
    stream = model.stream_events("hi", {"callbacks": [handler]}, version="v3")
    assert stream.output.usage_metadata == usage(3, 3)
    (end,) = ends(handler)
    chunks = 5 + 1  # "a", " ", "b", " ", "c", then the last chunk with the usage
    assert_streamed(end, tokens=chunks, total=6)
    assert handler.get_custom_callback_meta()["llm_streams"] == chunks


def test_v1_streaming_usage_in_the_last_chunk_is_counted_once(
    handler: ClearMLCallbackHandler,
) -> None:
    model = ScriptedChatModel(replies=[AIMessage(content="x y", usage_metadata=usage(4, 2))])
    chunks = list(model.stream("hi", config={"callbacks": [handler]}))
    assert [c.usage_metadata for c in chunks if c.usage_metadata] == [usage(4, 2)]
    (end,) = ends(handler)
    assert_streamed(end, tokens=4, total=6)
    span = stored(handler).get_spans().iloc[0]
    assert (span["prompt_tokens"], span["total_tokens"]) == (4, 6)


@v3
def test_a_record_per_token_on_the_v3_path_when_asked() -> None:
    handler = ClearMLCallbackHandler(task_name="v3 tokens", record_tokens=True)
    stream = NativeEventsChatModel(text="to be").stream_events(
        "hi", {"callbacks": [handler]}, version="v3"
    )
    assert stream.output.text == "to be"
    tokens = handler.on_llm_token_records
    assert [t["token"] for t in tokens] == ["to", " ", "be"]
    assert [t["llm_streams"] for t in tokens] == [1, 2, 3]
    assert [r["action"] for r in handler.action_records] == [
        "on_chat_model_start",
        *["on_llm_new_token"] * 3,
        "on_llm_end",
    ]


@v3
def test_a_graph_streamed_with_v3_records_its_node_models_streams(
    handler: ClearMLCallbackHandler,
) -> None:
    # LangGraph's v3 streaming attaches a v2 messages handler, so a model the node merely
    # invokes streams through on_stream_event and sends no on_llm_new_token.
    model = NativeEventsChatModel(text="graphs stream too")

    def answer(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("answer", answer)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    graph = builder.compile()
    if not hasattr(graph, "stream_events"):
        pytest.skip("this langgraph has no stream_events")
    run = graph.stream_events(
        {"messages": [("user", "hi")]}, {"callbacks": [handler]}, version="v3"
    )
    for _ in run:
        pass
    assert model.calls == 1  # it did stream natively
    (end,) = ends(handler)
    assert_streamed(end, tokens=5, total=12)
    spans = stored(handler).get_spans()
    model_span = spans[spans["kind"] == "chat_model"].iloc[0]
    node = spans[spans["span_id"] == model_span["parent_id"]].iloc[0]
    assert node["name"] == "answer" and model_span["total_tokens"] == 12


@v3
def test_an_async_graph_streamed_with_v3_records_its_async_node_models_streams(
    handler: ClearMLCallbackHandler,
) -> None:
    model = NativeEventsChatModel(text="async graphs too")

    async def answer(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("answer", answer)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    graph = builder.compile()
    if not hasattr(graph, "astream_events"):
        pytest.skip("this langgraph has no astream_events")

    async def main() -> None:
        config: Any = {"callbacks": [handler]}
        run = await graph.astream_events({"messages": [("user", "hi")]}, config, version="v3")
        async for _ in run:
            pass

    asyncio.run(main())
    assert model.calls == 1
    (end,) = ends(handler)
    assert_streamed(end, tokens=5, total=12)
    assert handler.get_custom_callback_meta()["llm_streams"] == 5
