"""Built-in scorers (``chaintrack.scorers``). Each returns a scorer function: pass them to
``evaluate(..., scorers=[exact_match(), contains("refund")])``. Text scorers compare the text
of the output (a string, a message's content, a LangGraph state's last message) with the
expected value, or with a value given here."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from chaintrack.errors import invalid, missing_dependency
from chaintrack.eval.values import as_text

Scorer = Callable[..., Any]


def _named(function: Scorer, name: str) -> Scorer:
    function.__name__ = name
    function.scorer_name = name  # type: ignore[attr-defined]
    return function


def _norm(text: str, case_sensitive: bool, strip: bool) -> str:
    text = " ".join(text.split()) if strip else text
    return text if case_sensitive else text.casefold()


def exact_match(*, case_sensitive: bool = True, strip: bool = True) -> Scorer:
    """True when the output's text equals the expected value's text."""

    def exact_match(output: Any, expected: Any) -> bool:
        return _norm(as_text(output), case_sensitive, strip) == _norm(
            as_text(expected), case_sensitive, strip
        )

    return _named(exact_match, "exact_match")


def contains(text: str | None = None, *, case_sensitive: bool = False) -> Scorer:
    """True when the output contains ``text`` (default: the expected value's text)."""

    def contains(output: Any, expected: Any) -> bool:
        needle = as_text(expected) if text is None else text
        return _norm(needle, case_sensitive, True) in _norm(as_text(output), case_sensitive, True)

    return _named(contains, "contains" if text is None else f"contains:{text}")


def regex(pattern: str, *, flags: int = 0, name: str | None = None) -> Scorer:
    """True when ``pattern`` matches somewhere in the output."""
    try:
        compiled = re.compile(pattern, flags)
    except re.error as exc:
        raise invalid("pattern", pattern, f"a valid regular expression ({exc})") from None

    def regex(output: Any) -> bool:
        return compiled.search(as_text(output)) is not None

    return _named(regex, name or f"regex:{pattern}")


def json_valid(*, required_keys: tuple[str, ...] = ()) -> Scorer:
    """True when the output's text is JSON (an object with ``required_keys``, if given)."""

    def json_valid(output: Any) -> dict[str, Any]:
        try:
            parsed = json.loads(as_text(output))
        except ValueError as exc:
            return {"score": False, "comment": f"not JSON: {exc}"}
        missing = [k for k in required_keys
                   if not isinstance(parsed, dict) or k not in parsed]  # fmt: skip
        if missing:
            return {"score": False, "comment": f"missing keys: {', '.join(missing)}"}
        return {"score": True, "comment": None}

    return _named(json_valid, "json_valid")


def fuzzy_match(*, method: str = "ratio", threshold: float | None = None) -> Scorer:
    """Similarity of the output's text to the expected one, 0-1, by rapidfuzz
    (``method``: ratio, partial_ratio, token_sort_ratio, token_set_ratio, WRatio…); with
    ``threshold`` a bool: similarity >= threshold."""
    try:
        from rapidfuzz import fuzz
    except ModuleNotFoundError as exc:
        raise missing_dependency(exc.name or "rapidfuzz", "eval", "fuzzy_match") from None
    measure = getattr(fuzz, method, None)
    if measure is None:
        raise invalid("method", method, "a function of rapidfuzz.fuzz, e.g. 'ratio'")

    def fuzzy_match(output: Any, expected: Any) -> float | bool:
        similarity = float(measure(as_text(output), as_text(expected))) / 100.0
        return similarity >= threshold if threshold is not None else round(similarity, 4)

    return _named(fuzzy_match, "fuzzy_match" if method == "ratio" else f"fuzzy_{method}")


def textstat_metric(name: str) -> Scorer:
    """One of the 16 readability metrics (see ``chaintrack.text.METRIC_NAMES``) of the output
    (``text_standard`` as a grade number)."""
    from chaintrack.text.complexity import METRIC_NAMES, _load

    if name not in METRIC_NAMES:
        raise invalid("name", name, f"one of {', '.join(METRIC_NAMES)}")

    def metric(output: Any) -> float:
        textstat = _load()
        function = getattr(textstat, name)
        text = as_text(output)
        value = function(text, float_output=True) if name == "text_standard" else function(text)
        return float(value)

    return _named(metric, name)


def _limit(value: float | None, maximum: float | None, what: str) -> Any:
    if value is None:
        return {"score": None, "comment": f"{what} unknown"}
    return value if maximum is None else value <= maximum


def latency(max_ms: float | None = None) -> Scorer:
    """The target's latency in ms (with ``max_ms``: True when within it)."""

    def latency(latency_ms: float | None) -> Any:
        return _limit(latency_ms, max_ms, "latency")

    return _named(latency, "latency" if max_ms is None else f"latency<={max_ms:g}ms")


def tokens(max_tokens: int | None = None) -> Scorer:
    """Tokens the target's model calls used (with ``max_tokens``: True when within it)."""

    def tokens(total_tokens: int | None) -> Any:
        return _limit(None if total_tokens is None else float(total_tokens), max_tokens,
                      "token usage")  # fmt: skip

    return _named(tokens, "tokens" if max_tokens is None else f"tokens<={max_tokens}")


def cost(max_usd: float | None = None) -> Scorer:
    """What the example's model calls cost in USD, from their spans' prices (with
    ``max_usd``: True when within it). Unknown (no score) when no call had a known price.
    Runs once the experiment's spans are stored, after every example ran."""

    def cost(cost_usd: float | None) -> Any:
        return _limit(cost_usd, max_usd, "cost (no known price)")

    return _named(cost, "cost" if max_usd is None else f"cost<={max_usd:g}usd")
