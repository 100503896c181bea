"""``llm_judge``: a scorer that asks a LangChain chat model to grade an output.

The model answers with structured output (a score and its rationale): through
``with_structured_output`` when the model supports tool calling, else through a JSON format
instruction and LangChain's Pydantic output parser. The rationale is stored as the score's
comment. The judge's calls are recorded in the experiment's task as runs of their own (tagged
``chaintrack-judge``), so their tokens and cost are counted apart from the target's; the
judge run's id is kept in the score cell (``judge_trace_id``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from chaintrack.errors import invalid, missing_dependency
from chaintrack.eval.targets import JUDGE_TAG, current_example
from chaintrack.eval.values import as_text

INSTRUCTIONS = """You are an impartial judge grading the output of an AI application.
Criteria: {criteria}
{rubric}Grade on this scale: {scale}.
Think about the output against the criteria, then give your rationale and the score."""


def _scale_text(scale: Any) -> str:
    if scale == "binary":
        return "0 (fails the criteria) or 1 (meets the criteria)"
    low, high = scale
    return f"a number from {low} (worst) to {high} (best)"


def _uses_tools(model: Any) -> bool:
    from langchain_core.language_models import BaseChatModel

    return type(model).bind_tools is not BaseChatModel.bind_tools


def llm_judge(
    model: Any,
    criteria: str,
    *,
    scale: tuple[float, float] | Sequence[float] | str = (1, 5),
    rubric: str | None = None,
    name: str | None = None,
) -> Any:
    """A scorer grading each output on ``criteria`` with ``model`` (any LangChain chat model).

    ``scale``: ``(low, high)`` (the score is a number in it) or ``"binary"`` (pass/fail, a
    bool). ``rubric``: what each score means, given to the judge as is.
    """
    try:
        from langchain_core.language_models import BaseChatModel
        from langchain_core.messages import HumanMessage, SystemMessage
        from langchain_core.output_parsers import PydanticOutputParser
        from pydantic import BaseModel, Field
    except ModuleNotFoundError as exc:
        raise missing_dependency(exc.name or "langchain-core", "langchain", "llm_judge") from None
    if not isinstance(model, BaseChatModel):
        raise invalid("model", model, "a LangChain chat model (a BaseChatModel)")
    if not isinstance(criteria, str) or not criteria.strip():
        raise invalid("criteria", criteria, "a non-empty description of what to grade")
    if scale != "binary":
        if (
            isinstance(scale, str)
            or not isinstance(scale, Sequence)
            or len(scale) != 2
            or not all(isinstance(v, (int, float)) for v in scale)
            or float(scale[0]) >= float(scale[1])
        ):
            raise invalid("scale", scale, "(low, high) with low < high, or 'binary'")
        low, high = float(scale[0]), float(scale[1])
    else:
        low, high = 0.0, 1.0

    class Verdict(BaseModel):
        """The judge's grade."""

        rationale: str = Field(description="why this score, in one or two sentences")
        score: float = Field(description=f"the score: {_scale_text(scale)}")

    system = INSTRUCTIONS.format(
        criteria=criteria, rubric=f"Rubric:\n{rubric}\n" if rubric else "", scale=_scale_text(scale)
    )
    if _uses_tools(model):
        chain = model.with_structured_output(Verdict)
    else:
        parser = PydanticOutputParser(pydantic_object=Verdict)
        system += "\n" + parser.get_format_instructions()
        chain = model | parser
    label = name or "llm_judge"

    def judge(output: Any, expected: Any = None, inputs: Any = None) -> dict[str, Any]:
        context = current_example.get()
        shown = {"inputs": inputs, "output": as_text(output)}
        if expected is not None:
            shown["expected"] = as_text(expected)
        messages = [SystemMessage(system),
                    HumanMessage(json.dumps(shown, ensure_ascii=False, default=str))]  # fmt: skip
        run_id = uuid.uuid4()
        config: dict[str, Any] = {"run_id": run_id, "run_name": f"judge: {label}",
                                  "tags": [JUDGE_TAG]}  # fmt: skip
        if context is not None:
            config["callbacks"] = context.callbacks
            config["metadata"] = {"example_id": context.example_id,
                                  "judged_trace_id": context.trace_id}  # fmt: skip
        verdict: Any = chain.invoke(messages, config=config)  # type: ignore[arg-type]
        if isinstance(verdict, dict):
            verdict = Verdict(**verdict)
        if not low <= verdict.score <= high:
            raise ValueError(
                f"the judge gave {verdict.score:g}, outside the scale {low:g}-{high:g}"
            )
        score: Any = verdict.score >= 0.5 if scale == "binary" else verdict.score
        return {"score": score, "comment": verdict.rationale, "judge_trace_id": str(run_id)}

    judge.__name__ = label
    judge.scorer_name = label  # type: ignore[attr-defined]
    judge.needs_callbacks = True  # type: ignore[attr-defined]
    return judge
