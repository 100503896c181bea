"""Each known defect of the original handler (SEED-SPEC.md), pinned by a test named after it."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import uuid4

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import FakeListChatModel, FakeListLLM, GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.outputs import Generation, LLMResult
from langchain_core.prompts import ChatPromptTemplate, PromptTemplate
from langchain_core.runnables import RunnableLambda
from langgraph.graph import END, START, StateGraph
from lc_helpers import react_agent, run_agent, stored, table
from typing_extensions import TypedDict

from chaintrack.demo.models import ScriptedLLM
from chaintrack.demo.tools import demo_tools
from chaintrack.langchain import ClearMLCallbackHandler
from chaintrack.langchain import records as records_module

AGENT_ANSWERS = [
    ' I should search.\nAction: Search\nAction Input: "Who sang summer of 69"',
    " I now know the final answer.\nFinal Answer: Bryan Adams.",
]


def test_seed_defect_1_session_analysis_keeps_prompts_and_model_name() -> None:
    handler = ClearMLCallbackHandler(task_name="defect 1")
    ScriptedLLM(callbacks=[handler]).generate(["Tell me a joke", "Tell me a poem"])
    handler.flush_tracker(name="s")
    analysis = table(handler, "Session Analysis", "s")
    assert list(analysis["prompts"]) == ["Tell me a joke", "Tell me a poem"]
    assert list(analysis["name"]) == ["ScriptedLLM", "ScriptedLLM"]
    assert list(analysis["model_name"]) == ["scripted-stand-in"] * 2
    assert list(analysis["prompt_step"]) == [1, 2]
    assert list(analysis["output_step"]) == [3, 4]


def test_seed_defect_2_action_records_do_not_repeat_across_flushes() -> None:
    handler = ClearMLCallbackHandler(task_name="defect 2")
    llm = FakeListLLM(responses=["a", "b"], callbacks=[handler])
    llm.invoke("first")
    handler.flush_tracker(name="one")
    llm.invoke("second")
    handler.flush_tracker(name="two")
    two = table(handler, "Action Records", "two")
    assert list(two["prompts"].dropna()) == ["second"]
    assert len(two) == 2 and list(two["step"]) == [1, 2]
    assert handler.action_records == [] and handler.step == 0


class TwoChoicesLLM(ScriptedLLM):
    """Two generations per prompt and one token count for the whole call (like n=2)."""

    def _generate(self, prompts: list[str], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs: Any) -> LLMResult:  # fmt: skip
        return LLMResult(
            generations=[[Generation(text=f"{p} 1"), Generation(text=f"{p} 2")] for p in prompts],
            llm_output={"token_usage": {"prompt_tokens": 5, "completion_tokens": 7,
                                        "total_tokens": 12}, "model_name": "two"},
        )  # fmt: skip


def test_seed_defect_3_batch_token_usage_is_counted_once_and_never_dropped() -> None:
    handler = ClearMLCallbackHandler(task_name="defect 3")
    # One call for 6 prompts: LangChain gives the call's usage to the first prompt's run.
    ScriptedLLM(callbacks=[handler]).generate(["Tell me a joke", "Tell me a poem"] * 3)
    # Two generations in one result: the usage is not copied onto the second.
    TwoChoicesLLM(callbacks=[handler]).invoke("pick")
    # Chat models report usage per message: every row has its own.
    usage = {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}
    chat = GenericFakeChatModel(
        messages=iter([AIMessage(content=f"m{i}", usage_metadata=usage) for i in range(3)])
    )
    chat.batch(["x", "y", "z"], config={"callbacks": [handler], "max_concurrency": 1})
    handler.flush_tracker(name="s")
    analysis = table(handler, "Session Analysis", "s")
    totals = list(analysis["token_usage_total_tokens"])
    scripted, two, chats = totals[:6], totals[6:8], totals[8:]
    assert scripted[0] > 0 and all(t != t for t in scripted[1:])  # NaN: not repeated
    assert two[0] == 12 and two[1] != two[1]
    assert chats == [7, 7, 7]
    assert list(analysis["token_usage_prompt_tokens"])[8:] == [3, 3, 3]


def test_seed_defect_4_one_tool_call_counts_one_tool_start() -> None:
    handler = ClearMLCallbackHandler(task_name="defect 4")
    llm = FakeListLLM(responses=AGENT_ANSWERS, callbacks=[handler])
    agent = react_agent(llm, demo_tools(callbacks=[handler]), callbacks=[handler])
    run_agent(agent, "Who sang summer of 69?")
    last = handler.action_records[-1]
    assert (last["tool_starts"], last["tool_ends"]) == (1, 1)
    assert last["starts"] + last["agent_ends"] == last["ends"]


def test_seed_defect_5_every_record_of_a_run_has_its_name_and_no_type_collides() -> None:
    handler = ClearMLCallbackHandler(task_name="defect 5")
    chain = PromptTemplate.from_template("Say {x}") | FakeListLLM(responses=["ok"])
    chain.invoke({"x": "hi"}, config={"callbacks": [handler]})
    names = [(r["action"], r["name"]) for r in handler.action_records]
    assert names == [
        ("on_chain_start", "RunnableSequence"), ("on_chain_start", "PromptTemplate"),
        ("on_chain_end", "PromptTemplate"), ("on_llm_start", "FakeListLLM"),
        ("on_llm_end", "FakeListLLM"), ("on_chain_end", "RunnableSequence"),
    ]  # fmt: skip
    handler.flush_tracker(name="s")
    columns = set(table(handler, "Action Records", "s").columns)
    assert "type" not in columns and "generation_type" in columns


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("cannot be shown")


def test_seed_defect_6_counters_never_run_ahead_of_the_records(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CHAINTRACK_STRICT", "0")
    handler = ClearMLCallbackHandler(task_name="defect 6")
    handler.on_text("fine", run_id=uuid4())
    with caplog.at_level(logging.WARNING, logger="chaintrack"):
        handler.on_text(Unprintable(), run_id=uuid4())  # type: ignore[arg-type]
        handler.on_text("fine again", run_id=uuid4())
        records = handler.action_records
    assert [r["step"] for r in records] == [1, 2, 3]
    assert records[1]["handler_error"] == "RuntimeError: cannot be shown"
    assert handler.text_ctr == 3
    assert "could not handle building the record of on_text" in caplog.text


def test_seed_defect_6_in_strict_mode_the_error_surfaces() -> None:
    handler = ClearMLCallbackHandler(task_name="defect 6 strict")
    handler.on_text(Unprintable(), run_id=uuid4())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="cannot be shown"):
        handler.flush_tracker(name="s")


def test_seed_defect_7_lcel_chains_are_recorded_not_crashes() -> None:
    handler = ClearMLCallbackHandler(task_name="defect 7")
    prompt = ChatPromptTemplate.from_messages([("system", "Be brief."), ("human", "{q}")])
    chain = prompt | FakeListChatModel(responses=["Paris."]) | StrOutputParser()
    assert chain.invoke({"q": "Capital of France?"}, config={"callbacks": [handler]}) == "Paris."
    shout = RunnableLambda(lambda text: text.upper())
    assert shout.invoke("plain string", config={"callbacks": [handler]}) == "PLAIN STRING"
    records = handler.action_records
    starts = [r for r in records if r["action"] == "on_chain_start"]
    assert starts[0]["input"] == '{"q": "Capital of France?"}'
    assert starts[-1]["input"] == "plain string"
    ends = {r["name"]: r["outputs"] for r in records if r["action"] == "on_chain_end"}
    assert ends["ChatPromptTemplate"] == "System: Be brief.\nHuman: Capital of France?"
    assert ends["RunnableSequence"] == "Paris."
    assert ends["RunnableLambda"] == "PLAIN STRING"


class State(TypedDict):
    text: str


def _graph() -> Any:
    graph = StateGraph(State)
    graph.add_node("upper", lambda s: {"text": s["text"].upper()})
    graph.add_edge(START, "upper")
    graph.add_edge("upper", END)
    return graph.compile()


class Opaque:
    def __repr__(self) -> str:
        raise RuntimeError("no repr either")


@pytest.mark.parametrize(
    ("asset", "check"),
    [
        (FakeListChatModel(responses=["x"]), lambda c: "FakeListChatModel" in c["type"]),
        (PromptTemplate.from_template("{a}") | StrOutputParser(),
         lambda c: c["langchain"]["id"][-1] == "RunnableSequence"),
        (_graph(), lambda c: {"upper"} <= {n["id"] for n in c["graph"]["nodes"]}),
        (Opaque(), lambda c: c["type"].endswith("Opaque")),
    ],
    ids=["chat model", "LCEL runnable", "LangGraph graph", "any object"],
)  # fmt: skip
def test_seed_defect_8_any_asset_can_be_flushed(asset: Any, check: Any) -> None:
    handler = ClearMLCallbackHandler(task_name="defect 8")
    FakeListLLM(responses=["a"]).invoke("q", config={"callbacks": [handler]})
    handler.flush_tracker(name="asset", langchain_asset=asset)
    assert check(stored(handler).models["output"]["asset"].config_dict)
    assert handler.step == 0 and handler.action_records == []


def test_seed_defect_9_errors_are_recorded_with_type_and_message() -> None:
    handler = ClearMLCallbackHandler(task_name="defect 9")

    def fail(_: str) -> str:
        raise ValueError("the chain broke")

    with pytest.raises(ValueError, match="the chain broke"):
        RunnableLambda(fail).invoke("x", config={"callbacks": [handler]})
    records = handler.action_records
    assert [r["action"] for r in records] == ["on_chain_start", "on_chain_error"]
    error = records[-1]
    assert (error["error_type"], error["error"], error["name"]) == (
        "ValueError", "the chain broke", "fail",
    )  # fmt: skip
    assert (error["errors"], error["step"]) == (1, 2)  # advanced exactly once
    assert error["latency_ms"] >= 0
    spans = stored(handler).get_spans()
    assert list(spans["status"]) == ["error"]
    assert spans["error"][0] == "ValueError: the chain broke"


def test_seed_defect_10_chat_retriever_custom_async_links_and_latency() -> None:
    import asyncio

    from langchain_core.callbacks.manager import adispatch_custom_event

    handler = ClearMLCallbackHandler(task_name="defect 10")

    async def step(text: str) -> str:
        await adispatch_custom_event("progress", {"done": 1})
        return text

    chain = RunnableLambda(step) | FakeListChatModel(responses=["hello"])
    asyncio.run(chain.ainvoke("hi", config={"callbacks": [handler]}))
    records = handler.action_records
    actions = [r["action"] for r in records]
    assert "on_chat_model_start" in actions and "on_custom_event" in actions
    root = records[0]["run_id"]
    assert all(r["parent_run_id"] == root for r in records[1:] if r["run_id"] != root)
    assert all(r["latency_ms"] is not None for r in records if r["action"].endswith("_end"))


def test_seed_defect_11_threads_spacy_only_when_asked_one_series_per_prompt() -> None:
    handler = ClearMLCallbackHandler(task_name="defect 11", visualize=True)
    llm = FakeListLLM(responses=["Bryan Adams sang it in Canada."])
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: llm.invoke(f"q{i % 2}", config={"callbacks": [handler]}),
                      range(40)))  # fmt: skip
    assert handler.llm_starts == handler.llm_ends == 40
    assert len(handler.action_records) == handler.step == 80
    handler.flush_tracker(name="s")
    samples = stored(handler).get_debug_samples()
    assert {s.series for s in samples} == {"q0", "q1"}
    assert sorted(s.iteration for s in samples if s.series == "q0") == sorted(list(range(20)) * 2)

    code = (
        "import sys\n"
        "from langchain_core.language_models import FakeListLLM\n"
        "from chaintrack.langchain import ClearMLCallbackHandler\n"
        "h = ClearMLCallbackHandler(task_name='no pictures')\n"
        "FakeListLLM(responses=['x']).invoke('q', config={'callbacks': [h]})\n"
        "h.flush_tracker(finish=True)\n"
        "print('spacy' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, env=_child_env())  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def _child_env() -> dict[str, str]:
    import os

    return {**os.environ, "CHAINTRACK_AUTO_CONNECT_STREAMS": "0"}


def test_seed_defect_12_metrics_run_off_the_caller_s_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    threads: list[str] = []
    original = records_module._metrics

    def watched(text: str) -> dict[str, Any]:
        threads.append(threading.current_thread().name)
        return original(text)

    monkeypatch.setattr(records_module, "_metrics", watched)
    handler = ClearMLCallbackHandler(task_name="defect 12", complexity_metrics=True)
    FakeListLLM(responses=["One. Two."]).batch(["a", "b", "c"], config={"callbacks": [handler]})
    handler.flush_tracker(name="s")
    assert threads == ["chaintrack-writer"] * 3
    analysis = table(handler, "Session Analysis", "s")
    assert list(analysis["flesch_reading_ease"].notna()) == [True] * 3


def test_seed_defect_13_the_model_is_stored_before_the_task_closes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = ClearMLCallbackHandler(task_name="defect 13")
    llm = ScriptedLLM(callbacks=[handler])
    llm.invoke("Tell me a joke")
    with caplog.at_level(logging.WARNING):
        handler.flush_tracker(langchain_asset=llm, name="last", finish=True)
    task = stored(handler)
    assert task.get_status() == "completed"
    model = task.models["output"]["last"]
    assert model.config_dict["_type"] == "scripted-stand-in"
    assert task.record.completed is not None and model._record.created <= task.record.completed
    assert not caplog.records
