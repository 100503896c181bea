"""LangChain and LangGraph targets, and the LLM judge: real Runnables, a real LangGraph graph
and the scripted stand-in chat models of ``chaintrack.demo.eval_models`` (real
``BaseChatModel`` subclasses with answers written in advance)."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda
from langgraph.graph import END, START, MessagesState, StateGraph

from chaintrack import Dataset, evaluate
from chaintrack import scorers as s
from chaintrack.demo.eval_models import ScriptedJudge, ScriptedSupportModel
from chaintrack.errors import InvalidArgumentError

QUESTIONS = [
    {"id": "refund", "inputs": {"question": "How do I get a refund?"}, "expected": "30 days"},
    {"id": "ship", "inputs": {"question": "How long does shipping take?"},
     "expected": "3-5 business days"},
    {"id": "gift", "inputs": {"question": "Do you sell gift cards?"},
     "expected": "support@example.com"},
]  # fmt: skip


def _dataset() -> Dataset:
    return Dataset.create("support", "evals/lc").add_rows(QUESTIONS).finalize()


def _chain(system: str) -> Any:
    prompt = ChatPromptTemplate.from_messages([("system", system), ("human", "{question}")])
    return prompt | ScriptedSupportModel() | StrOutputParser()


def _spans(experiment: Any) -> Any:
    return experiment.task.get_spans().set_index("span_id")


def test_a_runnable_runs_with_the_handler_and_each_row_links_to_its_run_tree(
    backend: str,
) -> None:
    experiment = evaluate(_chain("Cite the policy."), _dataset(),
                          [s.contains(), s.tokens(), s.cost()], progress=False)  # fmt: skip
    results = experiment.results.set_index("example_id")
    assert results.loc["refund", "output"].startswith("Per our refund policy")
    assert list(results["contains"]) == [1.0, 1.0, 1.0]
    spans = _spans(experiment)
    for example_id, row in results.iterrows():
        root = spans.loc[row["trace_id"]]
        assert pd.isna(root["parent_id"]) and str(example_id) in root["name"]
        children = spans[spans["parent_id"] == row["trace_id"]]
        # the chain's three steps are the root's children
        assert {"ChatPromptTemplate", "StrOutputParser"} <= set(children["name"])
        assert "chat_model" in set(children["kind"])
        llm = children[children["kind"].isin(["llm", "chat_model"])]
        # tokens of the row: the trace's model calls (word counts of the stand-in)
        assert row["total_tokens"] == int(llm["total_tokens"].sum()) > 0
        assert row["tokens"] == row["total_tokens"]
    # no price is known for the stand-in: cost is unknown, never $0
    assert results["cost_usd"].isna().all() and results["cost"].isna().all()
    assert results["comments"].iloc[0] == {"cost": "cost (no known price) unknown"}


def test_a_langgraph_graph_is_a_target_and_its_failures_stay_on_their_row(backend: str) -> None:
    model = ScriptedSupportModel()

    def answer(state: MessagesState) -> dict[str, Any]:
        question = str(state["messages"][-1].content)
        if "gift" in question:
            raise RuntimeError("the gift card service is down")
        return {"messages": [model.invoke([SystemMessage("Answer briefly."), *state["messages"]])]}

    builder = StateGraph(MessagesState)
    builder.add_node("answer", answer)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    graph = builder.compile()
    to_messages = RunnableLambda(lambda i: {"messages": [HumanMessage(i["question"])]})

    experiment = evaluate(to_messages | graph, _dataset(), [s.contains(), s.fuzzy_match()],
                          progress=False)  # fmt: skip
    results = experiment.results.set_index("example_id")
    assert results.loc["ship", "contains"] == 1.0  # the state's last message is the answer
    assert json.loads(json.dumps(results.loc["ship", "output"]))["messages"][-1]["content"] == (
        "Shipping takes 3-5 business days."
    )
    assert "the gift card service is down" in results.loc["gift", "error"]
    assert math.isnan(results.loc["gift", "contains"])
    spans = _spans(experiment)
    gift_root = spans.loc[results.loc["gift", "trace_id"]]
    assert gift_root["status"] == "error"
    names = set(spans[spans["parent_id"].notna()]["name"].astype(str))
    assert any("answer" in n for n in names)  # the graph's node is a step of the trace


def test_the_llm_judge_grades_with_a_rationale_and_its_calls_are_traced_apart(
    backend: str,
) -> None:
    judge = s.llm_judge(ScriptedJudge(), "Does the answer give the expected facts?",
                        scale=(1, 5), rubric="5: every fact; 1: none", name="facts")  # fmt: skip
    experiment = evaluate(_chain("Answer briefly."), _dataset(), [judge, s.tokens()],
                          progress=False)  # fmt: skip
    results = experiment.results.set_index("example_id")
    assert results.loc["ship", "facts"] == 5.0  # "Shipping takes 3-5 business days."
    assert results.loc["refund", "facts"] == 1.0  # "You can ask for a refund." lacks 30 days
    assert "0% of the expected answer's words" in results.loc["refund", "comments"]["facts"]
    spans = _spans(experiment)
    judged = spans[spans["name"] == "judge: facts"]
    assert len(judged) == 3 and judged["parent_id"].isna().all()  # traces of their own
    judge_tokens = spans[spans["parent_id"].isin(judged.index)]["total_tokens"].sum()
    assert judge_tokens > 0
    # the example's tokens are the target's only: the judge's are counted on its own traces
    assert list(results["total_tokens"]) == list(results["tokens"])
    with pytest.raises(InvalidArgumentError, match="scale="):
        s.llm_judge(ScriptedJudge(), "x", scale=(5, 1))
    with pytest.raises(InvalidArgumentError, match="a LangChain chat model"):
        s.llm_judge("gpt-4o", "x")


def test_a_judge_answer_outside_the_scale_is_an_error_cell(backend: str) -> None:
    judge = s.llm_judge(ScriptedJudge(), "facts", scale=(0, 0.5), name="tight")
    experiment = evaluate(_chain("Cite the policy."), _dataset(), [judge], progress=False)
    errors = experiment.results["score_errors"]
    assert all("outside the scale 0-0.5" in e["tight"] for e in errors)


class ToolCallingJudge(ScriptedJudge):
    """The scripted stand-in judge as a model with tool calling: it answers with a call of the
    structured-output tool it was bound to (as OpenAI or Anthropic models do)."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        from langchain_core.utils.function_calling import convert_to_openai_tool

        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> Any:  # fmt: skip
        from langchain_core.messages import AIMessage
        from langchain_core.outputs import ChatGeneration, ChatResult

        verdict = json.loads(self._answer(messages))
        name = kwargs["tools"][0]["function"]["name"]
        call = {"name": name, "args": verdict, "id": "call-1", "type": "tool_call"}
        return ChatResult(generations=[ChatGeneration(message=AIMessage("", tool_calls=[call]))])


def test_a_judge_with_tool_calling_answers_through_structured_output(backend: str) -> None:
    judge = s.llm_judge(ToolCallingJudge(), "facts", scale=(1, 5), name="tools")
    experiment = evaluate(_chain("Answer briefly."), _dataset(), [judge], progress=False)
    results = experiment.results.set_index("example_id")
    assert list(results["tools"]) == [1.0, 5.0, 5.0]
    assert "expected answer's words" in results.loc["ship", "comments"]["tools"]


def test_a_progress_bar_runs_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    evaluate(_chain("Answer briefly."), _dataset(), [s.contains()], experiment_name="shown")
    err = capsys.readouterr().err
    assert "shown" in err and "3/3" in err and "example" in err
