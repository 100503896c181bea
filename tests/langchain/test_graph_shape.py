"""The shape of a graph: nodes, a compiled subgraph used as a node, ``Send`` fan-out, parallel
branches, async nodes, a ``RetryPolicy``, ``ToolNode`` and LangChain 1.x ``create_agent`` nest
in the stored run tree as LangGraph ran them, whichever way the graph is run (``invoke``,
``stream`` in each mode and in lists of modes, ``ainvoke``, ``astream``, ``astream_events``)."""

from __future__ import annotations

import asyncio
import operator
import warnings
from typing import Annotated, Any, TypedDict

import pandas as pd
import pytest
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import RetryPolicy, Send
from lc_fakes import ScriptedChatModel, usage
from lc_helpers import stored

from chaintrack.langchain import ClearMLCallbackHandler


class State(TypedDict):
    q: str
    answers: Annotated[list[str], operator.add]


def research_graph(async_nodes: bool) -> Any:
    """research (a compiled subgraph "researcher" whose node "think" calls a model), then
    "flaky" (fails once, retried by its RetryPolicy), which fans out two "worker" tasks with
    Send, then the parallel branches "a" and "b"."""
    model = ScriptedChatModel(replies=[AIMessage(content="x y", usage_metadata=usage(5, 2))])
    if async_nodes:

        async def think(state: State) -> dict[str, Any]:
            return {"answers": [(await model.ainvoke(state["q"])).text]}
    else:

        def think(state: State) -> dict[str, Any]:
            return {"answers": [model.invoke(state["q"]).text]}

    inner = StateGraph(State)
    inner.add_node("think", think)
    inner.add_edge(START, "think")
    inner.add_edge("think", END)
    failures = [ConnectionError("the first attempt fails")]

    def flaky(state: State) -> dict[str, Any]:
        if failures:
            raise failures.pop()
        return {"answers": ["flaky"]}

    def fan(state: State) -> list[Send]:
        return [Send("worker", {"q": f"part {i}", "answers": []}) for i in range(2)]

    outer = StateGraph(State)
    outer.add_node("research", inner.compile(name="researcher"))
    outer.add_node(
        "flaky",
        flaky,
        retry_policy=RetryPolicy(max_attempts=2, initial_interval=0.01, jitter=False),
    )
    outer.add_node("worker", lambda s: {"answers": [s["q"]]})
    outer.add_node("a", lambda s: {"answers": ["a"]})
    outer.add_node("b", lambda s: {"answers": ["b"]})
    outer.add_edge(START, "research")
    outer.add_edge("research", "flaky")
    outer.add_conditional_edges("flaky", fan, ["worker"])
    outer.add_edge("worker", "a")
    outer.add_edge("worker", "b")
    outer.add_edge("a", END)
    outer.add_edge("b", END)
    return outer.compile()


#: The stored tree: (depth, name, kind, status), siblings in the order they started (the
#: parallel ones by name).
TREE = [
    (0, "LangGraph", "chain", "ok"),
    (1, "research", "chain", "ok"),
    (2, "researcher", "chain", "ok"),
    (3, "think", "chain", "ok"),
    (4, "ScriptedChatModel", "chat_model", "ok"),
    (1, "flaky", "chain", "error"),
    (1, "flaky", "chain", "ok"),
    (2, "fan", "chain", "ok"),
    (1, "worker", "chain", "ok"),
    (1, "worker", "chain", "ok"),
    (1, "a", "chain", "ok"),
    (1, "b", "chain", "ok"),
]


def raw_spans(handler: ClearMLCallbackHandler) -> pd.DataFrame:
    """Every stored span with every field (LangGraph's metadata included)."""
    task = stored(handler)
    return pd.DataFrame([e.data for e in task._read_store().get_events(task.id, "span")])


def tree(spans: pd.DataFrame) -> list[tuple[int, str, str, str]]:
    """(depth, name, kind, status) of each span, depth first; siblings by LangGraph step, then
    name (parallel tasks of a step start in no set order), then attempt."""
    spans = spans.assign(
        order_step=spans["langgraph_step"].fillna(0), order_attempt=spans["attempt"].fillna(0)
    )
    rows: list[tuple[int, str, str, str]] = []

    def walk(parent: Any, depth: int) -> None:
        mine = spans["parent_id"].isna() if parent is None else spans["parent_id"] == parent
        children = spans[mine].sort_values(["order_step", "name", "order_attempt", "start_time"])
        for _, span in children.iterrows():
            rows.append((depth, span["name"], span["kind"], span["status"]))
            walk(span["span_id"], depth + 1)

    walk(None, 0)
    return rows


def run_sync(graph: Any, config: Any, mode: Any) -> None:
    start = {"q": "why?", "answers": []}
    if mode == "invoke":
        result = graph.invoke(start, config)
        assert sorted(result["answers"]) == sorted(["x y", "flaky", "part 0", "part 1", "a", "b"])
    else:
        assert list(graph.stream(start, config, stream_mode=mode, subgraphs=True))


def run_async(graph: Any, config: Any, mode: str) -> None:
    start = {"q": "why?", "answers": []}

    async def main() -> None:
        if mode == "ainvoke":
            assert len((await graph.ainvoke(start, config))["answers"]) == 6
        elif mode == "astream":
            assert [
                c async for c in graph.astream(start, config, stream_mode=["updates", "messages"])
            ]
        else:
            events = [e async for e in graph.astream_events(start, config, version="v2")]
            assert any(e["event"] == "on_chat_model_stream" for e in events)

    asyncio.run(main())


#: Ways of running the graph, and whether the model's reply is streamed (token by token).
SYNC = [
    ("invoke", False),
    ("values", False),
    ("updates", False),
    ("messages", True),
    (["values", "updates", "messages"], True),
]
ASYNC = [("ainvoke", False), ("astream", True), ("astream_events", True)]


def assert_shape(handler: ClearMLCallbackHandler, streamed: bool) -> None:
    spans = raw_spans(handler)
    assert tree(spans) == TREE
    meta = handler.get_custom_callback_meta()
    assert (meta["chain_starts"], meta["chain_ends"], meta["errors"]) == (11, 10, 1)
    assert (meta["llm_starts"], meta["llm_ends"]) == (1, 1)
    assert meta["llm_streams"] == (4 if streamed else 0)  # "x", " ", "y" and the usage chunk
    nodes = spans[spans["name"] == spans["langgraph_node"]]
    assert set(nodes["name"]) == {"research", "think", "flaky", "worker", "a", "b"}
    by_name: dict[Any, pd.DataFrame] = dict(list(spans.groupby("name")))
    think, model = by_name["think"].iloc[0], by_name["ScriptedChatModel"].iloc[0]
    research = by_name["research"].iloc[0]
    # The subgraph's node runs in the namespace of the node that holds the subgraph.
    assert think["checkpoint_ns"].startswith(research["checkpoint_ns"] + "|think:")
    assert model["checkpoint_ns"] == think["checkpoint_ns"] and model["langgraph_node"] == "think"
    assert model["total_tokens"] == 7
    flaky = by_name["flaky"].sort_values("start_time")
    assert list(flaky["attempt"]) == [1, 2] and list(flaky["status"]) == ["error", "ok"]
    assert flaky["checkpoint_ns"].nunique() == 1 and set(flaky["langgraph_step"]) == {2}
    assert "the first attempt fails" in flaky["error"].iloc[0]
    workers = by_name["worker"]
    assert workers["checkpoint_ns"].nunique() == 2  # two tasks, one per Send
    assert [list(t) for t in workers["langgraph_triggers"]] == [["__pregel_push"]] * 2
    assert list(by_name["a"]["langgraph_triggers"].iloc[0]) == ["branch:to:a"]
    assert list(by_name["a"]["langgraph_step"]) == list(by_name["b"]["langgraph_step"]) == [4]


@pytest.mark.parametrize(("mode", "streamed"), SYNC, ids=lambda m: str(m))
def test_a_graph_run_synchronously_is_stored_as_langgraph_ran_it(
    handler: ClearMLCallbackHandler, mode: Any, streamed: bool
) -> None:
    run_sync(research_graph(async_nodes=False), {"callbacks": [handler]}, mode)
    assert_shape(handler, streamed)


@pytest.mark.parametrize(("mode", "streamed"), ASYNC, ids=lambda m: str(m))
def test_a_model_in_an_async_node_of_a_subgraph_sits_under_that_node(
    handler: ClearMLCallbackHandler, mode: str, streamed: bool
) -> None:
    run_async(research_graph(async_nodes=True), {"callbacks": [handler]}, mode)
    assert_shape(handler, streamed)


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def tool_calling_model() -> ScriptedChatModel:
    call = {"name": "add", "args": {"a": 2, "b": 3}, "id": "call-1"}
    return ScriptedChatModel(
        replies=[
            AIMessage(content="", tool_calls=[call], usage_metadata=usage(10, 5)),
            AIMessage(content="It is 5.", usage_metadata=usage(20, 4)),
        ]
    )


def test_create_agent_nests_its_model_and_tool_calls_under_its_nodes(
    handler: ClearMLCallbackHandler,
) -> None:
    from langchain.agents import create_agent

    agent = create_agent(tool_calling_model(), tools=[add], name="calculator")
    result = agent.invoke({"messages": [("user", "2 + 3?")]}, {"callbacks": [handler]})
    assert result["messages"][-1].content == "It is 5."
    spans = raw_spans(handler)
    # Its nodes, model calls and tool calls (LangChain 1.0 also traces the function of its
    # conditional edge, model_to_tools, under the model node; later versions do not).
    runs = spans[
        (spans["name"] == spans["langgraph_node"])
        | (spans["kind"] != "chain")
        | spans["parent_id"].isna()
    ]
    assert tree(runs) == [
        (0, "calculator", "chain", "ok"),
        (1, "model", "chain", "ok"),
        (2, "ScriptedChatModel", "chat_model", "ok"),
        (1, "tools", "chain", "ok"),
        (2, "add", "tool", "ok"),
        (1, "model", "chain", "ok"),
        (2, "ScriptedChatModel", "chat_model", "ok"),
    ]
    assert list(spans[spans["kind"] == "chat_model"]["total_tokens"]) == [15, 24]
    assert list(spans[spans["name"] == "model"]["langgraph_step"]) == [1, 3]
    assert spans[spans["name"] == "add"]["output"].iloc[0] == "5"
    meta = handler.get_custom_callback_meta()
    assert (meta["tool_starts"], meta["tool_ends"], meta["llm_ends"], meta["errors"]) == (
        1,
        1,
        2,
        0,
    )


def test_a_toolnode_graph_streamed_with_astream_events_keeps_its_tree(
    handler: ClearMLCallbackHandler,
) -> None:
    with warnings.catch_warnings():
        # langgraph-prebuilt 1.0.0 warns, at import, of a deprecation inside itself.
        warnings.simplefilter("ignore", DeprecationWarning)
        from langgraph.prebuilt import ToolNode, tools_condition
    model = tool_calling_model()

    async def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode([add]))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    graph = builder.compile()

    async def main() -> list[str]:
        config: Any = {"callbacks": [handler]}
        return [
            e["event"]
            async for e in graph.astream_events(
                {"messages": [("user", "2 + 3?")]}, config, version="v2"
            )
        ]

    events = asyncio.run(main())
    assert "on_tool_end" in events
    spans = raw_spans(handler)
    assert tree(spans) == [
        (0, "LangGraph", "chain", "ok"),
        (1, "agent", "chain", "ok"),
        (2, "ScriptedChatModel", "chat_model", "ok"),
        (2, "tools_condition", "chain", "ok"),
        (1, "tools", "chain", "ok"),
        (2, "add", "tool", "ok"),
        (1, "agent", "chain", "ok"),
        (2, "ScriptedChatModel", "chat_model", "ok"),
        (2, "tools_condition", "chain", "ok"),
    ]
    tools = spans[spans["name"] == "tools"].iloc[0]
    assert tools["langgraph_node"] == "tools" and tools["langgraph_step"] == 2
    meta = handler.get_custom_callback_meta()
    assert meta["llm_streams"] > 0 and meta["tool_ends"] == 1
