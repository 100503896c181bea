"""``chaintrack demo``: the two scenarios of ClearML's LangChain page, offline.

The page's code, with chaintrack's handler in place of ClearML's, a scripted stand-in in place
of ``OpenAI(temperature=0)`` (unless ``OPENAI_API_KEY`` is set and langchain-openai installed)
and two local tools in place of SerpAPI and llm-math: a search over a small bundled corpus and
a calculator.
"""

from __future__ import annotations

import argparse
import warnings
from typing import Any

from chaintrack import config

#: Session Analysis columns printed by the demo (the stored table has them all).
SHOWN_COLUMNS = [
    "prompt_step", "prompts", "output_step", "output", "token_usage_total_tokens",
    "flesch_reading_ease", "text_standard",
]  # fmt: skip
QUESTION = "Who is the wife of the person who sang summer of 69?"


def _print_table(task: Any, name: str) -> None:
    import pandas as pd

    frame = task.get_reported_tables()["Session Analysis"][name]
    shown = frame[[c for c in SHOWN_COLUMNS if c in frame.columns]].copy()
    if "token_usage_total_tokens" in shown.columns:
        shown["token_usage_total_tokens"] = shown["token_usage_total_tokens"].astype("Int64")
    for column in ("prompts", "output"):
        shown[column] = [" ".join(str(t).split())[:38] for t in shown[column]]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        text = shown.to_string(index=False)
    print(f"\nSession Analysis / {name} ({len(frame)} rows, {len(frame.columns)} columns):")
    print("".join(ch if ch.isprintable() or ch == "\n" else " " for ch in text))


def run(args: argparse.Namespace | None = None) -> int:
    from langchain_core.callbacks import StdOutCallbackHandler

    from chaintrack.demo.models import STAND_IN_TAG, demo_llm
    from chaintrack.demo.tools import demo_tools
    from chaintrack.langchain import ClearMLCallbackHandler
    from chaintrack.sdk.task import Task

    stream_logs = bool(getattr(args, "stream_logs", False))
    print("chaintrack demo: the two scenarios of ClearML's LangChain page, offline.\n")
    clearml_callback = ClearMLCallbackHandler(
        task_type="inference",
        project_name="langchain_callback_demo",
        task_name="llm",
        tags=["test"],
        visualize=True,
        complexity_metrics=True,
        stream_logs=stream_logs,
    )
    callbacks = [StdOutCallbackHandler(), clearml_callback]
    llm, stand_in = demo_llm(callbacks)
    if stand_in:
        clearml_callback.task.add_tags([STAND_IN_TAG])
        print(
            "Model: a SCRIPTED STAND-IN, not a language model: its answers are written in "
            "advance (tagged\n"
            f"'{STAND_IN_TAG}'). Set OPENAI_API_KEY and install langchain-openai to use "
            "OpenAI instead.\n"
        )
    else:
        print("Model: OpenAI(temperature=0) through langchain-openai.\n")

    print('Scenario 1: llm.generate(["Tell me a joke", "Tell me a poem"] * 3)')
    llm.generate(["Tell me a joke", "Tell me a poem"] * 3)
    clearml_callback.flush_tracker(langchain_asset=llm, name="simple_sequential")
    _print_table(clearml_callback.task, "simple_sequential")

    print(f"\nScenario 2: a zero-shot ReAct agent with Search and Calculator: {QUESTION!r}")
    tools = demo_tools(callbacks=callbacks)
    with warnings.catch_warnings():
        # initialize_agent and Chain.run are the page's API; LangChain marks them deprecated,
        # and langchain-community (which langchain_classic.agents imports) warns that it is
        # sunset. The import turns LangChain's deprecation warnings on again: filter after it.
        warnings.simplefilter("ignore", DeprecationWarning)
        from langchain_classic.agents import AgentType, initialize_agent

        warnings.simplefilter("ignore", DeprecationWarning)
        agent = initialize_agent(
            tools, llm, agent=AgentType.ZERO_SHOT_REACT_DESCRIPTION, callbacks=callbacks
        )
        agent.run(QUESTION)
    clearml_callback.flush_tracker(langchain_asset=agent, name="Agent with Tools", finish=True)
    task = Task.get_task(task_id=clearml_callback.task.id)
    _print_table(task, "Agent with Tools")

    print(f"\nStored task {task.id} in {config.tracking_uri()}")
    print(f"  tables: {', '.join(sorted(task.get_reported_tables()))}; "
          f"debug samples: {len(task.get_debug_samples())}; "
          f"models: {', '.join(m.name for m in task.models['output'])}")  # fmt: skip
    print(f"Show it with: chaintrack show {task.id}")
    _approval_scenario(stream_logs)
    return 0


def _approval_scenario(stream_logs: bool) -> None:
    """Scenario 2 again, as a LangGraph ``create_agent`` with a human approval step."""
    from chaintrack.demo.graph_agent import THREAD_ID, run_approval_scenario
    from chaintrack.langchain import ClearMLCallbackHandler
    from chaintrack.sdk.task import Task

    print(
        f"\nScenario 3: the agent as a LangGraph create_agent, on thread {THREAD_ID!r}, with "
        "a person's approval before it sends its answer (a SCRIPTED STAND-IN chat model)"
    )
    task = Task.init(project_name="langgraph_demo", task_name="agent with approval",
                     tags=["langgraph"])  # fmt: skip
    handler = ClearMLCallbackHandler(task=task, stream_logs=stream_logs)
    paused, resumed = run_approval_scenario(handler, QUESTION)
    [request] = paused["__interrupt__"]
    print(f"  turn 1 paused for approval: {request.value}")
    print('  turn 2 resumed with Command(resume={"approved": True}): '
          f"{resumed['messages'][-1].content}")  # fmt: skip
    handler.flush_tracker(name="Agent with approval", finish=True)
    task.close()
    print(f"Stored task {task.id}; its Threads tab shows both turns: chaintrack ui, then "
          f"/tasks/{task.id}?tab=threads")  # fmt: skip
