"""Never counted twice: the same handler attached twice to a run, or beside LangChain's own
tracers, stores each run once and counts its tokens once (real LangChain and LangGraph)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from langchain_core.callbacks import StdOutCallbackHandler
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables.config import merge_configs
from langchain_core.tracers import ConsoleCallbackHandler
from langchain_core.tracers.run_collector import RunCollectorCallbackHandler
from langgraph.graph import END, START, MessagesState, StateGraph
from lc_fakes import ScriptedChatModel, usage
from lc_helpers import stored

from chaintrack.langchain import ClearMLCallbackHandler

#: What one streamed call of ``chain()`` records: a sequence, its prompt, model and parser runs.
ONCE = {
    "chain_starts": 3,
    "chain_ends": 3,
    "llm_starts": 1,
    "llm_ends": 1,
    "starts": 4,
    "ends": 4,
    "errors": 0,
    "llm_streams": 4,
    "step": 8,
}


def model(callbacks: list[Any] | None = None) -> ScriptedChatModel:
    reply = AIMessage(content="x y", usage_metadata=usage(5, 2))
    return ScriptedChatModel(replies=[reply], callbacks=callbacks)


def chain(llm: ScriptedChatModel) -> Any:
    return ChatPromptTemplate.from_messages([("human", "{q}")]) | llm | StrOutputParser()


def assert_once(handler: ClearMLCallbackHandler, runs: int = 4) -> None:
    meta = handler.get_custom_callback_meta()
    assert {k: meta[k] for k in ONCE} == ONCE
    assert len(handler.action_records) == ONCE["step"]
    (end,) = [r for r in handler.action_records if r["action"] == "on_llm_end"]
    assert (end["token_usage_total_tokens"], end["streamed_tokens"]) == (7, 4)
    spans = stored(handler).get_spans()
    assert len(spans) == runs and spans["span_id"].is_unique
    assert spans["total_tokens"].sum() == 7


def test_a_handler_in_two_merged_configs_records_each_run_once(
    handler: ClearMLCallbackHandler,
) -> None:
    # merge_configs concatenates callback lists: the handler is attached twice to every run.
    config = merge_configs({"callbacks": [handler]}, {"callbacks": [handler]})
    assert config["callbacks"] == [handler, handler]
    assert "".join(chain(model()).stream({"q": "hi"}, config=config)) == "x y"
    assert_once(handler)


def test_a_handler_twice_in_an_async_run_records_each_run_once(
    handler: ClearMLCallbackHandler,
) -> None:
    async def main() -> str:
        parts = [
            p async for p in chain(model()).astream({"q": "hi"}, {"callbacks": [handler, handler]})
        ]
        return "".join(parts)

    assert asyncio.run(main()) == "x y"
    assert_once(handler)


def test_a_model_with_its_own_handler_run_with_the_same_handler_records_once(
    handler: ClearMLCallbackHandler,
) -> None:
    llm = model(callbacks=[handler])
    assert "".join(chain(llm).stream({"q": "hi"}, config={"callbacks": [handler]})) == "x y"
    assert_once(handler)


def test_a_graph_given_the_handler_twice_records_each_node_once(
    handler: ClearMLCallbackHandler,
) -> None:
    llm = model()

    def answer(state: MessagesState) -> dict[str, Any]:
        return {"messages": [llm.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("answer", answer)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    config: Any = {"callbacks": [handler, handler]}
    for _ in builder.compile().stream(
        {"messages": [("user", "hi")]}, config, stream_mode=["updates", "messages"]
    ):
        pass
    spans = stored(handler).get_spans()
    assert sorted(spans["name"]) == ["LangGraph", "ScriptedChatModel", "answer"]
    meta = handler.get_custom_callback_meta()
    assert (meta["llm_starts"], meta["chain_starts"], meta["llm_streams"]) == (1, 2, 4)
    assert spans["total_tokens"].sum() == 7


# langchain-core 1.0's RunCollectorCallbackHandler calls pydantic's deprecated BaseModel.copy.
@pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince20")
def test_beside_langchains_tracers_each_run_is_counted_once(
    handler: ClearMLCallbackHandler,
) -> None:
    collector = RunCollectorCallbackHandler()
    tracers = [ConsoleCallbackHandler(), StdOutCallbackHandler(), collector]
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        parts = chain(model()).stream({"q": "hi"}, {"callbacks": [*tracers, handler]})
        assert "".join(parts) == "x y"
    assert "[chain/end]" in printed.getvalue()  # the tracers did run
    assert len(collector.traced_runs) == 1
    assert_once(handler)


class LangSmithStandIn(BaseHTTPRequestHandler):
    """A STAND-IN for the LangSmith API on 127.0.0.1 (LangSmith is not reachable here): it
    answers every request with an empty JSON object and keeps (method, path) of each."""

    seen: list[tuple[str, str]]

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.seen.append((self.command, self.path))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_PATCH = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def langsmith() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    seen: list[tuple[str, str]] = []
    handler = type("Handler", (LangSmithStandIn,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="langsmith-standin", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()
    server.server_close()
    thread.join()


def test_beside_langsmiths_tracer_each_run_is_counted_once(
    handler: ClearMLCallbackHandler, langsmith: tuple[str, list[tuple[str, str]]]
) -> None:
    from langchain_core.tracers import LangChainTracer
    from langsmith import Client

    url, seen = langsmith
    client = Client(api_url=url, api_key="stand-in")
    tracer = LangChainTracer(client=client, project_name="beside chaintrack")
    assert "".join(chain(model()).stream({"q": "hi"}, {"callbacks": [tracer, handler]})) == "x y"
    tracer.wait_for_futures()
    client.flush()
    assert any(method == "POST" and path.startswith("/runs") for method, path in seen)
    assert_once(handler)
