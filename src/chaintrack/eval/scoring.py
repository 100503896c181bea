"""Scorers as the runner calls them: a name, the arguments a function asks for, and its answer
normalized to a score cell ``{"value", "kind", "comment", "error"}``.

A scorer is any function taking some of ``output, expected, inputs, metadata`` (and, for the
built-in ones, ``latency_ms, total_tokens, cost_usd``) and returning a number, a bool, or a
dict ``{"score": …, "comment": …}``. A scorer that raises, or answers something else, gives a
cell with ``error`` set; the experiment goes on.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chaintrack.errors import invalid

#: What a scorer may ask for, by parameter name.
ARGUMENTS = ("output", "expected", "inputs", "metadata", "latency_ms", "total_tokens",
             "cost_usd")  # fmt: skip
#: Known only once the run's spans are stored and priced: scorers asking for them run after
#: every example ran (see ``runner.py``).
DEFERRED = frozenset({"cost_usd"})


@dataclass(frozen=True)
class Scorer:
    name: str
    function: Callable[..., Any]
    arguments: tuple[str, ...]

    @property
    def deferred(self) -> bool:
        return bool(DEFERRED & set(self.arguments))

    def score(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The cell of this scorer for one example (never raises)."""
        try:
            answer = self.function(**{a: values.get(a) for a in self.arguments})
            return cell(answer)
        except Exception as exc:
            return {"value": None, "kind": None, "comment": None,
                    "error": f"{type(exc).__name__}: {exc}"}  # fmt: skip


def cell(answer: Any) -> dict[str, Any]:
    """A scorer's answer as a stored cell; raises TypeError for an answer that is no score."""
    extra: dict[str, Any] = {}
    comment = None
    if isinstance(answer, Mapping):
        if "score" not in answer:
            raise TypeError(f"the scorer returned a dict without 'score': {dict(answer)!r}")
        comment = answer.get("comment")
        extra = {k: v for k, v in answer.items() if k not in ("score", "comment")}
        answer = answer["score"]
    if isinstance(answer, bool):
        value, kind = float(answer), "bool"
    elif isinstance(answer, (int, float)) or hasattr(answer, "__float__"):
        value, kind = float(answer), "number"
        if not math.isfinite(value):
            raise TypeError(f"the scorer returned {value!r}, not a finite number")
    elif answer is None:
        value, kind = None, None
    else:
        raise TypeError(
            f"the scorer returned a {type(answer).__name__} ({answer!r:.80}); return a number, "
            "a bool or {'score': ..., 'comment': ...}"
        )
    found = {"value": value, "kind": kind, "comment": None if comment is None else str(comment),
             "error": None}  # fmt: skip
    found.update({k: v for k, v in extra.items() if isinstance(v, (str, int, float, bool))})
    return found


def _arguments(function: Callable[..., Any], name: str) -> tuple[str, ...]:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        raise invalid("scorers", function, "functions whose signature Python can read") from None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return ARGUMENTS
    names = tuple(p.name for p in parameters
                  if p.kind not in (inspect.Parameter.VAR_POSITIONAL,))  # fmt: skip
    unknown = [n for n in names if n not in ARGUMENTS]
    required_unknown = [
        p.name for p in parameters
        if p.name in unknown and p.default is inspect.Parameter.empty
        and p.kind is not inspect.Parameter.VAR_POSITIONAL
    ]  # fmt: skip
    if required_unknown:
        raise invalid(
            "scorers", name,
            f"a scorer takes some of {', '.join(ARGUMENTS)}; {name!r} asks for "
            f"{', '.join(required_unknown)}",
        )  # fmt: skip
    return tuple(n for n in names if n in ARGUMENTS)


def scorer_name(function: Any) -> str:
    name = getattr(function, "scorer_name", None) or getattr(function, "__name__", None)
    return str(name or type(function).__name__)


def as_scorers(scorers: Any) -> list[Scorer]:
    """Scorers from a list of functions, or a dict of name → function."""
    if callable(scorers):
        scorers = [scorers]
    if isinstance(scorers, Mapping):
        pairs = [(str(k), f) for k, f in scorers.items()]
    elif isinstance(scorers, Sequence) and not isinstance(scorers, str):
        pairs = [(scorer_name(f), f) for f in scorers]
    else:
        raise invalid("scorers", scorers, "a list of scorer functions or a dict name -> function")
    found: list[Scorer] = []
    for name, function in pairs:
        if not callable(function):
            raise invalid("scorers", function, "callables (see chaintrack.scorers)")
        if name in {s.name for s in found}:
            raise invalid("scorers", name, "distinct names: pass a dict to name each scorer")
        found.append(Scorer(name, function, _arguments(function, name)))
    return found
