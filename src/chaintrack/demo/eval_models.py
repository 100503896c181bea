"""The evaluation demo's models: SCRIPTED STAND-INS for a support bot's chat model and for an
LLM judge. Neither is a language model; both are real LangChain chat models (``BaseChatModel``)
whose answers are written in advance, and they say what they are in their names.

- :class:`ScriptedSupportModel` answers a customer question from a small table of topics: a
  short answer when the system prompt asks for brevity (prompt v1), a fuller one that cites
  the policy when it asks for the policy and next steps (prompt v2). Token usage: word counts.
- :class:`ScriptedJudge` grades an output against the expected answer by the share of the
  expected answer's words the output contains, and answers in the JSON its instructions ask.
"""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

SUPPORT_STAND_IN = "scripted-stand-in-support-model"
JUDGE_STAND_IN = "scripted-stand-in-judge"

#: topic → (keywords of the question, short answer, answer citing the policy).
TOPICS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "refund": (
        ("refund", "money back"),
        "You can ask for a refund.",
        "Per our refund policy you get your money back within 30 days of purchase; "
        "open Orders and choose Request refund.",
    ),
    "shipping": (
        ("ship", "deliver", "arrive"),
        "Shipping takes 3-5 business days.",
        "Standard shipping takes 3-5 business days; express arrives in 1-2 days. "
        "Track it under Orders.",
    ),
    "password": (
        ("password", "log in", "login"),
        "Use Forgot password on the sign-in page.",
        "Use Forgot password on the sign-in page; the reset link is valid for 24 hours.",
    ),
    "cancel": (
        ("cancel",),
        "You can cancel in Settings.",
        "Cancel any time in Settings > Subscription; you keep access until the end of "
        "the billing period.",
    ),
    "invoice": (
        ("invoice", "receipt"),
        "Invoices are under Billing.",
        "Every invoice is a PDF under Billing > Invoices; we also email it on the billing date.",
    ),
    "warranty": (
        ("warranty", "broken", "defect"),
        "The warranty lasts 2 years.",
        "Our warranty policy covers defects for 1 year; contact support with your order number.",
    ),
    "address": (
        ("address",),
        "Change the address in your profile.",
        "Change the delivery address under Orders before the order ships; after that "
        "contact support.",
    ),
    "human": (
        ("human", "agent", "person"),
        "Write to support@example.com.",
        "Write to support@example.com or call us on weekdays from 9 to 17; we answer "
        "within one business day.",
    ),
}
UNKNOWN = "I am not sure; please contact support@example.com."


def _words(text: str) -> int:
    return len(text.split())


def support_answer(system: str, question: str) -> str:
    """The script: the topic's short or policy answer, by the prompt's version."""
    lowered = question.lower()
    for keywords, short, full in TOPICS.values():
        if any(k in lowered for k in keywords):
            return full if "policy" in system.lower() else short
    return UNKNOWN


class _Scripted(BaseChatModel):
    def _answer(self, messages: list[BaseMessage]) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        answer = self._answer(messages)
        asked = sum(_words(str(m.content)) for m in messages)
        usage = {"input_tokens": asked, "output_tokens": _words(answer),
                 "total_tokens": asked + _words(answer)}  # fmt: skip
        message = AIMessage(content=answer, usage_metadata=usage,
                            response_metadata={"model_name": self._llm_type})  # fmt: skip
        return ChatResult(
            generations=[ChatGeneration(message=message)],
            llm_output={"token_usage": {"prompt_tokens": asked,
                                        "completion_tokens": _words(answer),
                                        "total_tokens": asked + _words(answer)},
                        "model_name": self._llm_type},
        )  # fmt: skip


class ScriptedSupportModel(_Scripted):
    """A scripted stand-in for a support bot's chat model (see the module docstring)."""

    model_name: str = SUPPORT_STAND_IN

    @property
    def _llm_type(self) -> str:
        return SUPPORT_STAND_IN

    def _answer(self, messages: list[BaseMessage]) -> str:
        system = " ".join(str(m.content) for m in messages if m.type == "system")
        question = str(messages[-1].content)
        return support_answer(system, question)


_WORD = re.compile(r"[a-z0-9]+")


def overlap(output: str, expected: str) -> float:
    """Share of the expected answer's words found in the output (0-1)."""
    wanted = set(_WORD.findall(expected.lower()))
    if not wanted:
        return 0.0
    return len(wanted & set(_WORD.findall(output.lower()))) / len(wanted)


class ScriptedJudge(_Scripted):
    """A scripted stand-in for an LLM judge: grades 1-5 by word overlap with the expected
    answer and explains the grade, in the JSON format the judge's instructions ask for."""

    model_name: str = JUDGE_STAND_IN

    @property
    def _llm_type(self) -> str:
        return JUDGE_STAND_IN

    def _answer(self, messages: list[BaseMessage]) -> str:
        shown = json.loads(str(messages[-1].content))
        share = overlap(str(shown.get("output", "")), str(shown.get("expected", "")))
        score = 1 + round(share * 4)
        rationale = (f"The answer contains {share:.0%} of the expected answer's words "
                     f"(scripted stand-in judge).")  # fmt: skip
        return json.dumps({"rationale": rationale, "score": score})
