"""The page's two scenarios, run as the page writes them (only the import line, the model and
the online tools change), and what a user then finds in the task."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from langchain_core.callbacks import StdOutCallbackHandler
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from lc_helpers import stored, table

from chaintrack.demo.models import JOKE, POEM, ScriptedLLM
from chaintrack.demo.tools import demo_tools
from chaintrack.langchain import ChainTrackCallbackHandler, ClearMLCallbackHandler
from chaintrack.langchain.counters import COUNTER_NAMES
from chaintrack.text import METRIC_NAMES

QUESTION = "Who is the wife of the person who sang summer of 69?"
SESSION_COLUMNS = [
    "prompt_step", "prompts", "name", "output_step", "output", "token_usage_total_tokens",
    "token_usage_prompt_tokens", "token_usage_completion_tokens", *METRIC_NAMES,
]  # fmt: skip


def page_handler(**overrides: Any) -> ClearMLCallbackHandler:
    arguments: dict[str, Any] = {
        "task_type": "inference", "project_name": "langchain_callback_demo", "task_name": "llm",
        "tags": ["test"], "visualize": True, "complexity_metrics": True, "stream_logs": True,
    }  # fmt: skip
    arguments.update(overrides)
    return ClearMLCallbackHandler(**arguments)


def test_the_handler_is_exported_under_both_names() -> None:
    assert ChainTrackCallbackHandler is ClearMLCallbackHandler


def test_scenario_1_simple_sequential(capsys: pytest.CaptureFixture[str]) -> None:
    clearml_callback = page_handler()
    callbacks = [StdOutCallbackHandler(), clearml_callback]
    llm = ScriptedLLM(callbacks=callbacks)
    llm_result = llm.generate(["Tell me a joke", "Tell me a poem"] * 3)
    clearml_callback.flush_tracker(langchain_asset=llm, name="simple_sequential")

    assert [g[0].text for g in llm_result.generations] == [JOKE, POEM] * 3
    task = stored(clearml_callback)
    assert task.get_project_name() == "langchain_callback_demo"
    assert (task.name, task.task_type, task.get_tags()) == ("llm", "inference", ["test"])

    records = table(clearml_callback, "Action Records", "simple_sequential")
    assert list(records["action"]) == ["on_llm_start"] * 6 + ["on_llm_end"] * 6
    assert list(records["step"]) == list(range(1, 13))
    counters = [c for c in records.columns if c in COUNTER_NAMES]
    assert counters == list(COUNTER_NAMES)  # all 13, in the original's order
    last = records.iloc[-1]
    assert (last["starts"], last["ends"], last["llm_starts"], last["llm_ends"]) == (6, 6, 6, 6)

    analysis = table(clearml_callback, "Session Analysis", "simple_sequential")
    assert list(analysis.columns[: len(SESSION_COLUMNS)]) == SESSION_COLUMNS
    assert list(analysis["prompts"]) == ["Tell me a joke", "Tell me a poem"] * 3
    assert list(analysis["output"]) == [JOKE, POEM] * 3
    assert set(analysis["name"]) == {"ScriptedLLM"}
    assert list(analysis["flesch_reading_ease"])[:2] == [109.04, 83.01]
    assert analysis["text_standard"][0] == "4th and 5th grade"

    samples = task.get_debug_samples()
    assert {s.title for s in samples} == {"Dependencies Plot", "Entities Plot"}
    assert {s.series for s in samples} == {"Tell me a joke", "Tell me a poem"}
    assert len(samples) == 12 and all(s.mime_type == "text/html" for s in samples)

    model = task.models["output"]["simple_sequential"]
    assert model.config_dict["_type"] == "scripted-stand-in"
    out = capsys.readouterr().out
    assert "'action': 'on_llm_end'" in out and "Session Analysis (simple_sequential)" in out
    console = "\n".join(task.get_reported_console_output())
    assert "'action': 'on_llm_start'" in console and "'flesch_reading_ease': 109.04" in console


def test_scenario_2_agent_with_tools_initialize_agent() -> None:
    clearml_callback = page_handler(stream_logs=False, visualize=False)
    callbacks = [StdOutCallbackHandler(), clearml_callback]
    llm = ScriptedLLM(callbacks=callbacks)
    llm.generate(["Tell me a joke"])
    clearml_callback.flush_tracker(langchain_asset=llm, name="simple_sequential")

    with warnings.catch_warnings():
        # The page's API: LangChain marks initialize_agent and Chain.run deprecated, and
        # langchain-community (imported by langchain_classic.agents) warns that it is sunset.
        # The import turns LangChain's deprecation warnings back on: filter again after it.
        warnings.simplefilter("ignore", DeprecationWarning)
        from langchain_classic.agents import AgentType, initialize_agent

        warnings.simplefilter("ignore", DeprecationWarning)
        tools = demo_tools(callbacks=callbacks)
        agent = initialize_agent(
            tools, llm, agent=AgentType.ZERO_SHOT_REACT_DESCRIPTION, callbacks=callbacks
        )
        answer = agent.run(QUESTION)
    clearml_callback.flush_tracker(langchain_asset=agent, name="Agent with Tools", finish=True)

    assert answer == "Bryan Adams has never been married."
    task = stored(clearml_callback)
    assert task.get_status() == "completed"
    records = table(clearml_callback, "Action Records", "Agent with Tools")
    # The page's sequence of actions.
    assert list(records["action"]) == [
        "on_chain_start",
        *["on_llm_start", "on_llm_end", "on_agent_action", "on_tool_start", "on_tool_end"] * 2,
        "on_llm_start", "on_llm_end", "on_agent_finish", "on_chain_end",
    ]  # fmt: skip
    assert records["input"][0] == QUESTION
    assert list(records["tool_input"].dropna()) == [
        "Who sang summer of 69",
        "Who is Bryan Adams married to",
    ]
    assert records["outputs"].iloc[-1] == answer
    tool_output = records[records["action"] == "on_tool_end"]["output"].iloc[1]
    assert "has never married" in tool_output
    assert set(records[records["action"] == "on_tool_start"]["name"]) == {"Search"}
    last = records.iloc[-1]
    assert (last["tool_starts"], last["tool_ends"], last["agent_ends"]) == (2, 2, 1)

    analysis = table(clearml_callback, "Session Analysis", "Agent with Tools")
    assert len(analysis) == 3
    assert all(p.startswith("Answer the following questions") for p in analysis["prompts"])
    assert list(analysis["prompt_step"] < analysis["output_step"]) == [True] * 3
    assert "llm_chain" in task.models["output"]["Agent with Tools"].config_dict

    # The run tree: the page gives the handler to the LLM, the tools and the agent, never to the
    # LLMChain between the agent and its LLM; the LLM runs still sit under the AgentExecutor
    # (LangChain's own parent, the unseen LLMChain run, is kept beside it).
    spans = task.get_spans()
    agent = spans[spans["name"] == "AgentExecutor"].iloc[0]
    agent_span = agent["span_id"]
    inside = spans[(spans["start_time"] > agent["start_time"]) & (spans["span_id"] != agent_span)]
    below = inside[inside["kind"].isin(["llm", "tool"])]
    assert sorted(below["kind"]) == ["llm"] * 3 + ["tool"] * 2
    assert set(below["parent_id"]) == {agent_span}
    raw = [e.data for e in task._read_store().get_events(task.id, "span")]
    llm_runs = [d for d in raw if d["kind"] == "llm" and d["parent_id"] == agent_span]
    assert len(llm_runs) == 3
    assert all(d["langchain_parent_id"] not in (None, agent_span) for d in llm_runs)
    tool_runs = [d for d in raw if d["kind"] == "tool" and d["parent_id"] == agent_span]
    assert len(tool_runs) == 2
    assert all(d["langchain_parent_id"] is None for d in tool_runs)  # seen: kept as it is


class ToolCallingModel(GenericFakeChatModel):
    """A fake chat model whose answers may call tools (bind_tools keeps it as it is)."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


@tool
def calculator(expression: str) -> str:
    """Useful for when you need to answer questions about math."""
    from chaintrack.demo.tools import calculate

    return str(calculate(expression))


def test_scenario_2_with_langchain_1_create_agent() -> None:
    from langchain.agents import create_agent

    from chaintrack.demo.tools import search

    @tool("Search")
    def search_tool(query: str) -> str:
        """A search engine. Input should be a search query."""
        return search(query)

    clearml_callback = page_handler(stream_logs=False, visualize=False)
    model = ToolCallingModel(
        messages=iter([
            AIMessage(content="", tool_calls=[{"name": "Search", "id": "call-1",
                                               "args": {"query": "Who sang summer of 69"}}]),
            AIMessage(content="", tool_calls=[{"name": "calculator", "id": "call-2",
                                               "args": {"expression": "2026 - 1985"}}]),
            AIMessage(content="Bryan Adams has never been married."),
        ])
    )  # fmt: skip
    agent = create_agent(model, tools=[search_tool, calculator])
    result = agent.invoke(
        {"messages": [("user", QUESTION)]}, config={"callbacks": [clearml_callback]}
    )
    clearml_callback.flush_tracker(langchain_asset=agent, name="Agent with Tools", finish=True)

    assert result["messages"][-1].content == "Bryan Adams has never been married."
    records = table(clearml_callback, "Action Records", "Agent with Tools")
    tools = records[records["action"] == "on_tool_start"]
    assert list(tools["name"]) == ["Search", "calculator"]
    assert "41" in list(records[records["action"] == "on_tool_end"]["output"])
    assert list(records["action"]).count("on_chat_model_start") == 3
    chat_ends = records[records["action"] == "on_llm_end"]
    assert "Search" in chat_ends["tool_calls"].iloc[0]
    last = records.iloc[-1]
    assert (last["tool_starts"], last["tool_ends"], last["errors"]) == (2, 2, 0)
    assert last["starts"] == last["ends"]
    analysis = table(clearml_callback, "Session Analysis", "Agent with Tools")
    assert analysis["prompts"][0].startswith("Human: Who is the wife")
    config = stored(clearml_callback).models["output"]["Agent with Tools"].config_dict
    assert {"tools", "model"} <= {n["id"] for n in config["graph"]["nodes"]}
