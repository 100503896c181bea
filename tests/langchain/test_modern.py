"""Modern LangChain with real objects: chat models, LCEL, async, streaming, retrievers, tool
calls, custom events, errors, token usage, the run tree, threads."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.callbacks.manager import dispatch_custom_event
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.language_models import (
    FakeListChatModel,
    FakeMessagesListChatModel,
    GenericFakeChatModel,
)
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.outputs import ChatResult
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool
from langchain_core.vectorstores import InMemoryVectorStore
from lc_helpers import stored

from chaintrack.langchain import ClearMLCallbackHandler
from chaintrack.sdk.reading import SPAN_COLUMNS


def chain_of(model: Any) -> Any:
    prompt = ChatPromptTemplate.from_messages([("system", "You are terse."), ("human", "{q}")])
    return prompt | model | StrOutputParser()


def by_action(handler: ClearMLCallbackHandler, action: str) -> list[dict[str, Any]]:
    return [r for r in handler.action_records if r["action"] == action]


def test_chat_models_record_messages_with_their_roles(handler: ClearMLCallbackHandler) -> None:
    model = FakeMessagesListChatModel(responses=[AIMessage(content="Hi!")])
    model.invoke([SystemMessage("Be kind."), HumanMessage("Hello")],
                 config={"callbacks": [handler]})  # fmt: skip
    start = by_action(handler, "on_chat_model_start")[0]
    assert start["prompts"] == "System: Be kind.\nHuman: Hello"
    assert json.loads(start["messages"]) == [
        {"role": "system", "content": "Be kind."},
        {"role": "human", "content": "Hello"},
    ]
    assert (start["llm_starts"], start["starts"]) == (1, 1)
    end = by_action(handler, "on_llm_end")[0]
    assert end["text"] == "Hi!" and end["name"] == "FakeMessagesListChatModel"
    assert handler.on_chat_model_start_records == [start]


def test_an_lcel_chain_is_a_tree_of_spans(handler: ClearMLCallbackHandler) -> None:
    chain = chain_of(FakeListChatModel(responses=["Paris."]))
    assert chain.invoke({"q": "Capital of France?"}, config={"callbacks": [handler]}) == "Paris."
    spans = stored(handler).get_spans()
    assert list(spans.columns) == list(SPAN_COLUMNS)
    root = spans[spans["parent_id"].isna()]
    assert list(root["name"]) == ["RunnableSequence"]
    children = spans[spans["parent_id"] == root["span_id"].iloc[0]]
    assert list(children["name"]) == ["ChatPromptTemplate", "FakeListChatModel", "StrOutputParser"]
    assert list(children["kind"]) == ["chain", "chat_model", "chain"]
    assert set(spans["status"]) == {"ok"}
    assert (spans["end_time"] >= spans["start_time"]).all() and (spans["latency_ms"] >= 0).all()
    assert root["output"].iloc[0] == "Paris."
    assert children["input"].iloc[1] == "System: You are terse.\nHuman: Capital of France?"


def test_async_ainvoke_astream_abatch_count_exactly(handler: ClearMLCallbackHandler) -> None:
    chain = chain_of(FakeListChatModel(responses=["one two"]))
    config: Any = {"callbacks": [handler]}

    async def main() -> None:
        await chain.ainvoke({"q": "a"}, config=config)
        async for _ in chain.astream({"q": "b"}, config=config):
            pass
        await chain.abatch([{"q": "c"}, {"q": "d"}, {"q": "e"}], config=config)

    asyncio.run(main())
    meta = handler.get_custom_callback_meta()
    assert (meta["llm_starts"], meta["llm_ends"]) == (5, 5)
    assert meta["chain_starts"] == meta["chain_ends"] == 5 * 3  # sequence, prompt, parser
    assert meta["starts"] == meta["ends"] and meta["errors"] == 0
    assert len(by_action(handler, "on_llm_end")) == 5


def test_streaming_records_time_to_first_token_and_token_count(
    handler: ClearMLCallbackHandler,
) -> None:
    model = FakeListChatModel(responses=["hello"])
    chunks = [c.content for c in model.stream("hi", config={"callbacks": [handler]})]
    assert chunks == list("hello")
    end = by_action(handler, "on_llm_end")[0]
    assert end["streamed_tokens"] == 5 and end["text"] == "hello"
    assert 0 <= end["time_to_first_token_ms"] <= end["latency_ms"]
    assert by_action(handler, "on_llm_new_token") == []  # no record per token unless asked
    assert end["llm_streams"] == 5 and end["step"] == 2


def test_a_record_per_token_when_asked() -> None:
    handler = ClearMLCallbackHandler(task_name="tokens", record_tokens=True)
    list(FakeListChatModel(responses=["abc"]).stream("hi", config={"callbacks": [handler]}))
    tokens = handler.on_llm_token_records
    assert [t["token"] for t in tokens] == ["a", "b", "c"]
    assert [t["llm_streams"] for t in tokens] == [1, 2, 3]
    assert [r["step"] for r in handler.action_records] == [1, 2, 3, 4, 5]


def test_retrievers_record_the_query_and_the_documents(handler: ClearMLCallbackHandler) -> None:
    store = InMemoryVectorStore(DeterministicFakeEmbedding(size=16))
    store.add_documents([Document("Bryan Adams sang it.", metadata={"id": 1}),
                         Document("The Eiffel Tower is tall.", metadata={"id": 2})])  # fmt: skip
    retriever = store.as_retriever(search_kwargs={"k": 2})
    docs = retriever.invoke("Who sang?", config={"callbacks": [handler]})
    start = by_action(handler, "on_retriever_start")[0]
    end = by_action(handler, "on_retriever_end")[0]
    assert start["query"] == "Who sang?" and start["starts"] == 1
    assert end["document_count"] == 2 and end["ends"] == 1
    assert [d["page_content"] for d in json.loads(end["documents"])] == [
        d.page_content for d in docs
    ]
    spans = stored(handler).get_spans()
    assert list(spans["kind"]) == ["retriever"]


def test_tool_calls_from_chat_models_are_recorded(handler: ClearMLCallbackHandler) -> None:
    call = {"name": "calculator", "args": {"expression": "2 + 2"}, "id": "call-7"}
    model = GenericFakeChatModel(messages=iter([AIMessage(content="", tool_calls=[call])]))
    model.invoke("2+2?", config={"callbacks": [handler]})
    end = by_action(handler, "on_llm_end")[0]
    assert json.loads(end["tool_calls"]) == [call]

    @tool
    def calculator(expression: str) -> str:
        """Evaluate arithmetic."""
        return "4"

    calculator.invoke({"expression": "2 + 2"}, config={"callbacks": [handler]})
    start = by_action(handler, "on_tool_start")[0]
    assert start["name"] == "calculator" and "2 + 2" in start["input_str"]
    assert start["description"] == "Evaluate arithmetic."
    assert by_action(handler, "on_tool_end")[0]["output"] == "4"


def test_custom_events_are_recorded(handler: ClearMLCallbackHandler) -> None:
    def work(x: str) -> str:
        dispatch_custom_event("retrieved", {"docs": 3, "query": x})
        return x

    RunnableLambda(work).invoke("q", config={"callbacks": [handler]})
    event = by_action(handler, "on_custom_event")[0]
    assert event["event_name"] == "retrieved"
    assert json.loads(event["data"]) == {"docs": 3, "query": "q"}
    assert event["run_id"] == handler.action_records[0]["run_id"]


class BrokenChatModel(FakeListChatModel):
    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs: Any) -> ChatResult:  # fmt: skip
        raise ConnectionError("the provider is down")


def test_errors_of_models_and_tools_are_recorded_once(handler: ClearMLCallbackHandler) -> None:
    chain = chain_of(BrokenChatModel(responses=["never"]))
    with pytest.raises(ConnectionError):
        chain.invoke({"q": "hi"}, config={"callbacks": [handler]})

    @tool
    def flaky(x: str) -> str:
        """Always fails."""
        raise KeyError(x)

    with pytest.raises(KeyError):
        flaky.invoke({"x": "k"}, config={"callbacks": [handler]})
    errors = [r for r in handler.action_records if r["action"].endswith("_error")]
    assert [(r["action"], r["error_type"]) for r in errors] == [
        ("on_llm_error", "ConnectionError"),
        ("on_chain_error", "ConnectionError"),
        ("on_tool_error", "KeyError"),
    ]
    assert errors[0]["error"] == "the provider is down"
    assert [r["errors"] for r in errors] == [1, 2, 3]
    spans = stored(handler).get_spans()
    assert list(spans[spans["status"] == "error"]["kind"]) == ["chain", "chat_model", "tool"]


def test_token_usage_from_usage_metadata_reaches_records_and_spans(
    handler: ClearMLCallbackHandler,
) -> None:
    message = AIMessage(content="hi", usage_metadata={"input_tokens": 11, "output_tokens": 2,
                                                      "total_tokens": 13},
                        response_metadata={"model_name": "fake-4o"})  # fmt: skip
    GenericFakeChatModel(messages=iter([message])).invoke("x", config={"callbacks": [handler]})
    end = by_action(handler, "on_llm_end")[0]
    usage = [end[f"token_usage_{k}_tokens"] for k in ("prompt", "completion", "total")]
    assert (usage, end["model_name"]) == ([11, 2, 13], "fake-4o")
    span = stored(handler).get_spans().iloc[0]
    assert (span["prompt_tokens"], span["total_tokens"], span["model_name"]) == (11, 13, "fake-4o")


def test_concurrent_batches_and_threads_lose_nothing(handler: ClearMLCallbackHandler) -> None:
    chain = chain_of(FakeListChatModel(responses=["ok"]))
    config: Any = {"callbacks": [handler], "max_concurrency": 8}
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: chain.batch([{"q": f"{i}-{j}"} for j in range(10)], config=config),
                      range(6)))  # fmt: skip
    meta = handler.get_custom_callback_meta()
    assert meta["llm_starts"] == meta["llm_ends"] == 60
    assert meta["chain_starts"] == meta["chain_ends"] == 180
    assert meta["step"] == len(handler.action_records) == 480
    assert sorted(r["step"] for r in handler.action_records) == list(range(1, 481))
    handler.flush_tracker(name="threads")
    assert len(stored(handler).get_spans()) == 240


def test_runs_whose_parent_the_handler_never_saw(handler: ClearMLCallbackHandler) -> None:
    # The handler on the model only: the batch's chain runs are unseen and no chain or tool run
    # is open, so each model run keeps LangChain's parent (the trace shows it as a root), never
    # nested under a sibling model run that is open at the same time.
    model = FakeListChatModel(responses=["a", "a", "a"], callbacks=[handler])
    chain = ChatPromptTemplate.from_messages([("human", "{q}")]) | model | StrOutputParser()
    assert chain.batch([{"q": "1"}, {"q": "2"}, {"q": "3"}]) == ["a", "a", "a"]
    task = stored(handler)
    spans = task.get_spans()
    assert list(spans["kind"]) == ["chat_model"] * 3
    assert not spans["parent_id"].isin(spans["span_id"]).any()
    assert spans["parent_id"].nunique() == 3  # three RunnableSequence runs, one each
    raw = [e.data for e in task._read_store().get_events(task.id, "span")]
    assert [d["langchain_parent_id"] for d in raw] == [None] * 3
    assert task._read_store().trace_page(task.id).total_roots == 3
