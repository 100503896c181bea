"""Scorers for ``chaintrack.evaluate``: see ``chaintrack.eval.scorers`` and docs/evaluation.md.

A custom scorer is any function taking some of ``output, expected, inputs, metadata`` and
returning a number, a bool or ``{"score": ..., "comment": ...}``.
"""

from chaintrack.eval.judge import llm_judge
from chaintrack.eval.scorers import (
    contains,
    cost,
    exact_match,
    fuzzy_match,
    json_valid,
    latency,
    regex,
    textstat_metric,
    tokens,
)

__all__ = [
    "contains",
    "cost",
    "exact_match",
    "fuzzy_match",
    "json_valid",
    "latency",
    "llm_judge",
    "regex",
    "textstat_metric",
    "tokens",
]
