"""The demo's model: a scripted stand-in for the page's ``OpenAI(temperature=0)``.

It is not a language model. It answers the page's prompts from a script (the jokes and poems of
scenario 1, the ReAct steps of scenario 2), reports word counts as its token usage, and says
what it is in its name. With ``OPENAI_API_KEY`` set and ``langchain-openai`` installed the demo
uses the real model instead.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.llms import LLM
from langchain_core.outputs import Generation, LLMResult

STAND_IN_NAME = "scripted-stand-in"
STAND_IN_TAG = "scripted-stand-in-llm"

JOKE = "\n\nQ: What did the fish say when it hit the wall?\nA: Dam!"
POEM = "\n\nRoses are red,\nViolets are blue,\nSugar is sweet,\nAnd so are you."
#: The agent's steps for "Who is the wife of the person who sang summer of 69?", by the number
#: of observations the agent has made so far.
AGENT_STEPS = (
    " I need to find out who sang summer of 69 and then find out who their wife is.\n"
    'Action: Search\nAction Input: "Who sang summer of 69"',
    " I need to find out who Bryan Adams is married to.\n"
    'Action: Search\nAction Input: "Who is Bryan Adams married to"',
    " I now know the final answer.\nFinal Answer: Bryan Adams has never been married.",
)
FALLBACK = " I do not know: this is a scripted stand-in for a language model."


def scripted_answer(prompt: str) -> str:
    """What the script answers to ``prompt``."""
    if "Begin!" in prompt:  # a ReAct agent's prompt: answer the step it is at
        observations = prompt.split("Begin!", 1)[1].count("\nObservation:")
        return AGENT_STEPS[min(observations, len(AGENT_STEPS) - 1)]
    lowered = prompt.lower()
    if "joke" in lowered:
        return JOKE
    if "poem" in lowered:
        return POEM
    return FALLBACK


def _words(text: str) -> int:
    return len(text.split())


class ScriptedLLM(LLM):
    """A stand-in for an OpenAI completion model: scripted answers, no network."""

    model_name: str = STAND_IN_NAME

    @property
    def _llm_type(self) -> str:
        return STAND_IN_NAME

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def _call(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> str:
        return scripted_answer(prompt)

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        answers = [scripted_answer(p) for p in prompts]
        prompt_words = sum(_words(p) for p in prompts)
        answer_words = sum(_words(a) for a in answers)
        usage = {  # words, not tokens: a stand-in has no tokenizer
            "prompt_tokens": prompt_words,
            "completion_tokens": answer_words,
            "total_tokens": prompt_words + answer_words,
        }
        return LLMResult(
            generations=[
                [Generation(text=a, generation_info={"finish_reason": "stop", "logprobs": None})]
                for a in answers
            ],
            llm_output={"token_usage": usage, "model_name": self.model_name},
        )


def demo_llm(callbacks: list[Any]) -> tuple[Any, bool]:
    """The page's ``OpenAI(temperature=0, callbacks=callbacks)`` when an API key and
    langchain-openai are there, else the stand-in. Returns (llm, is_stand_in)."""
    if os.environ.get("OPENAI_API_KEY"):
        try:
            openai = importlib.import_module("langchain_openai")
        except ImportError:
            pass
        else:
            return openai.OpenAI(temperature=0, callbacks=callbacks), False
    return ScriptedLLM(callbacks=callbacks), True
