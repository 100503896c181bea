"""Conditions on tables other than ``spans``: ``feedback.<name>`` and ``score.<name>``.

- ``feedback.<name> op value`` holds for a span that has human feedback ``name`` matching
  (numbers and thumbs compare with its score, text with its label). Feedback given to a whole
  task holds for the task's root spans; feedback given to an experiment's example holds for
  the root span of that example's trace.
- ``score.<name> op value`` holds for the root span of an experiment example whose score
  ``name`` matches (the scores are JSON in ``eval_results.scores``: ``{name: {"value": …}}``).

Each is one EXISTS subquery with bound parameters; the name is a bound parameter too (a JSON
path built from the name is bound, never spliced into the SQL).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, case, cast, exists, func, or_

from chaintrack.store.evaltables import eval_results
from chaintrack.store.schema import feedback, spans

Compare = Callable[[Any, str, Sequence[Any]], ColumnElement[bool]]


def _is_text(values: Sequence[Any]) -> bool:
    return bool(values) and isinstance(values[0], str)


def _example_root(task_id: Any, example_id: Any) -> ColumnElement[bool]:
    """The span is the root of the trace of ``example_id`` in the experiment ``task_id``."""
    # Correlated with both enclosing queries (spans, and feedback around it).
    return (
        exists()
        .where(
            eval_results.c.task_id == task_id,
            eval_results.c.example_id == example_id,
            eval_results.c.trace_id == spans.c.span_id,
        )
        .correlate_except(eval_results)
    )


def feedback_condition(
    name: str, op: str, values: Sequence[Any], compare: Compare, dialect: str
) -> ColumnElement[bool]:
    """``feedback.<name> op value`` (see the module's docstring for what it matches)."""
    column = feedback.c.label if _is_text(values) else feedback.c.score
    on_span = feedback.c.span_id == spans.c.span_id
    on_task = and_(feedback.c.span_id.is_(None), feedback.c.example_id.is_(None),
                   spans.c.parent_id.is_(None))  # fmt: skip
    on_example = and_(feedback.c.span_id.is_(None), feedback.c.example_id.is_not(None),
                      _example_root(feedback.c.task_id, feedback.c.example_id))  # fmt: skip
    return exists().where(
        feedback.c.task_id == spans.c.task_id,
        feedback.c.name == name,
        column.is_not(None),
        or_(on_span, on_task, on_example),
        compare(column, op, values),
    )


def _score_value(name: str, text: bool, dialect: str) -> Any:
    scores = eval_results.c.scores
    if dialect == "sqlite":
        # The path is a bound parameter; the name is quoted as a JSON path key.
        path = '$."' + name.replace("\\", "\\\\").replace('"', '\\"') + '".value'
        kinds = ("text",) if text else ("integer", "real")
        return case((func.json_type(scores, path).in_(kinds), func.json_extract(scores, path)),
                    else_=None)  # fmt: skip
    from sqlalchemy.dialects.postgresql import JSONB

    node = cast(scores, JSONB)[name]["value"]
    return case(
        (func.jsonb_typeof(node) == ("string" if text else "number"),
         node.astext if text else cast(node.astext, Float)),
        else_=None,
    )  # fmt: skip


def score_condition(
    name: str, op: str, values: Sequence[Any], compare: Compare, dialect: str
) -> ColumnElement[bool]:
    """``score.<name> op value``: the root span of a scored example whose score matches."""
    value = _score_value(name, _is_text(values), dialect)
    return exists().where(
        eval_results.c.task_id == spans.c.task_id,
        eval_results.c.trace_id == spans.c.span_id,
        value.is_not(None),
        compare(value, op, values),
    )


MAPPINGS = {"feedback": feedback_condition, "score": score_condition}
