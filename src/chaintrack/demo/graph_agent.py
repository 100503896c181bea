"""The demo's agent scenario as a LangGraph agent (``langchain.agents.create_agent``) with one
human approval step, on a conversation thread.

The agent answers the page's question with the bundled Search tool, then asks to send its
answer with ``send_answer``: that tool calls LangGraph's ``interrupt()``, so the run pauses
until a person approves. The demo approves with ``Command(resume={"approved": True})`` on the
same ``thread_id``: two turns of one thread, the second resuming the first (see the task's
Threads tab).

The model is a SCRIPTED STAND-IN for a tool-calling chat model (:class:`ScriptedToolModel`):
its steps are written in advance, it reports word counts as token usage, and it needs no
network or key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from chaintrack.demo.models import STAND_IN_NAME
from chaintrack.demo.tools import search

THREAD_ID = "demo-approval-1"
#: The tool calls the stand-in makes, by the number of tool results it has seen so far.
TOOL_STEPS: tuple[tuple[str, dict[str, str]], ...] = (
    ("search", {"query": "Who sang summer of 69"}),
    ("search", {"query": "Who is Bryan Adams married to"}),
    ("send_answer", {"answer": "Bryan Adams has never been married."}),
)
FINAL = "Bryan Adams has never been married. (Sent after approval.)"


class ScriptedToolModel(BaseChatModel):
    """A SCRIPTED STAND-IN for a tool-calling chat model (not a language model)."""

    model_name: str = STAND_IN_NAME

    @property
    def _llm_type(self) -> str:
        return STAND_IN_NAME

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        return self  # the script knows its tools

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        step = sum(isinstance(m, ToolMessage) for m in messages)
        if step < len(TOOL_STEPS):
            name, args = TOOL_STEPS[step]
            call = {"name": name, "args": args, "id": f"call-{step}", "type": "tool_call"}
            message = AIMessage(content="", tool_calls=[call])
        else:
            message = AIMessage(content=FINAL)
        prompt = sum(len(str(m.content).split()) for m in messages)
        answer = len(str(message.content).split()) + 4 * len(message.tool_calls)
        total = prompt + answer
        message.usage_metadata = {
            "input_tokens": prompt, "output_tokens": answer, "total_tokens": total}  # fmt: skip
        message.response_metadata = {"model_name": self.model_name}
        return ChatResult(generations=[ChatGeneration(message=message)])


def approval_agent() -> Any:
    """The agent: Search, and ``send_answer`` guarded by a person's approval."""
    from langchain.agents import create_agent
    from langchain_core.tools import tool
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.types import interrupt

    @tool("search")
    def search_tool(query: str) -> str:
        """Search the bundled corpus."""
        return search(query)

    @tool
    def send_answer(answer: str) -> str:
        """Send the answer to the person who asked; a person approves it first."""
        decision = interrupt({"action": "send_answer", "answer": answer})
        approved = isinstance(decision, dict) and decision.get("approved") is True
        return "Sent." if approved else "Not sent: the reviewer declined."

    return create_agent(
        ScriptedToolModel(), [search_tool, send_answer], checkpointer=InMemorySaver(),
        name="approval_agent",
    )  # fmt: skip


def run_approval_scenario(handler: Any, question: str) -> tuple[Any, Any]:
    """Ask, pause at the approval, approve: the two turns' results."""
    from langchain_core.messages import HumanMessage
    from langgraph.types import Command

    agent = approval_agent()
    config: Any = {"configurable": {"thread_id": THREAD_ID}, "callbacks": [handler]}
    paused = agent.invoke({"messages": [HumanMessage(question)]}, config)
    resumed = agent.invoke(Command(resume={"approved": True}), config)
    return paused, resumed
