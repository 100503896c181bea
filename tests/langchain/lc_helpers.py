"""Helpers of the LangChain handler's tests."""

from __future__ import annotations

from typing import Any

from chaintrack.langchain import ClearMLCallbackHandler
from chaintrack.sdk.task import Task


def stored(handler: ClearMLCallbackHandler) -> Task:
    """The handler's task as read back from the store (after everything queued is written)."""
    handler.flush()
    return Task.get_task(task_id=handler.task.id)


def table(handler: ClearMLCallbackHandler, title: str, series: str) -> Any:
    return stored(handler).get_reported_tables()[title][series]


def actions(records: list[dict[str, Any]]) -> list[str]:
    return [r["action"] for r in records]


def react_agent(llm: Any, tools: list[Any], callbacks: list[Any]) -> Any:
    """The page's zero-shot ReAct agent (langchain-classic's ``initialize_agent``)."""
    import warnings

    with warnings.catch_warnings():
        # initialize_agent is deprecated, and langchain-community (imported by
        # langchain_classic.agents) warns that it is sunset; the page uses both.
        warnings.simplefilter("ignore", DeprecationWarning)
        from langchain_classic.agents import AgentType, initialize_agent

        warnings.simplefilter("ignore", DeprecationWarning)
        return initialize_agent(
            tools, llm, agent=AgentType.ZERO_SHOT_REACT_DESCRIPTION, callbacks=callbacks
        )


def run_agent(agent: Any, question: str) -> Any:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Chain.run, as on the page
        return agent.run(question)
