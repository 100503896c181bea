"""Experiments compared example by example: one row per example (and repetition), each
experiment's output, scores, latency, tokens and cost side by side, and each score's delta
against the first experiment (the baseline). ``compare_experiments`` returns it as a DataFrame;
the REST API and the compare view page through it (sorted and filtered by a delta)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chaintrack.errors import InvalidArgumentError
from chaintrack.eval.experiment import EXPERIMENT_TAG, SECTION
from chaintrack.eval.feedback import example_feedback
from chaintrack.eval.results import ResultRow, load_rows, score_names
from chaintrack.eval.values import as_text
from chaintrack.store import open_store, params
from chaintrack.store.base import Store

#: Sorts of the compare view: the example order, a score's delta, a score, or a measure.
MEASURES = ("latency_ms", "total_tokens", "cost_usd")
FILTERS = ("all", "worse", "better", "changed", "same", "errors")


@dataclass
class ExperimentInfo:
    id: str
    name: str
    label: str
    status: str
    dataset_id: str | None
    dataset_version: str | None


@dataclass
class Cell:
    """One experiment's result on one example."""

    output: str
    scores: dict[str, dict[str, Any]]
    latency_ms: float | None
    total_tokens: int | None
    cost_usd: float | None
    error: str | None
    trace_id: str | None
    #: Human feedback on this example (see ``feedback.py``, the join point).
    feedback: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class CompareRow:
    example_id: str
    repetition: int
    position: int
    inputs: Any
    expected: Any
    cells: list[Cell | None]
    #: score → delta of each experiment against the baseline (None: not comparable).
    deltas: dict[str, list[float | None]]


@dataclass
class Comparison:
    experiments: list[ExperimentInfo]
    scores: list[str]
    rows: list[CompareRow]

    def means(self) -> dict[str, list[float | None]]:
        """Mean of each score (and measure) per experiment, for the charts."""
        found: dict[str, list[float | None]] = {}
        for name in [*self.scores, *MEASURES]:
            per: list[float | None] = []
            for index in range(len(self.experiments)):
                values = [_value(row, index, name) for row in self.rows]
                known = [v for v in values if v is not None]
                per.append(sum(known) / len(known) if known else None)
            found[name] = per
        return found


def _value(row: CompareRow, index: int, name: str) -> float | None:
    cell = row.cells[index]
    if cell is None:
        return None
    if name in MEASURES:
        value = getattr(cell, name)
        return None if value is None else float(value)
    found = cell.scores.get(name)
    return None if found is None else found.get("value")


def _cell(row: ResultRow, feedback: list[dict[str, Any]]) -> Cell:
    return Cell(output=as_text(row.output) if row.error is None else "", scores=row.scores,
                latency_ms=row.latency_ms, total_tokens=row.total_tokens,
                cost_usd=row.cost_usd, error=row.error, trace_id=row.trace_id,
                feedback=feedback)  # fmt: skip


def _info(store: Store, task_id: str) -> ExperimentInfo:
    record = store.get_task(task_id)
    if EXPERIMENT_TAG not in record.system_tags:
        raise InvalidArgumentError(
            f"task {task_id} ({record.name!r}) is not an experiment; compare experiments that "
            "evaluate() made (or compare tasks with `chaintrack` compare of tasks)"
        )
    parameters = {f"{p.section}/{p.name}": params.decode(p.value, p.type)
                  for p in store.get_parameters(task_id)}  # fmt: skip

    def text(name: str) -> str | None:
        value = parameters.get(f"{SECTION}/{name}")
        return None if value is None else str(value)

    return ExperimentInfo(record.id, record.name, record.name, record.status,
                          text("dataset_id"), text("dataset_version"))  # fmt: skip


def _same_dataset(store: Store, infos: list[ExperimentInfo]) -> None:
    names = {}
    for info in infos:
        if info.dataset_id is not None:
            dataset = store.get_dataset(info.dataset_id)
            names[info.id] = (dataset.project, dataset.name)
    if len(set(names.values())) > 1:
        shown = ", ".join(f"{i}: {p}/{n}" for i, (p, n) in names.items())
        raise InvalidArgumentError(
            f"these experiments ran on different datasets ({shown}); compare experiments of "
            "one dataset"
        )


def _label(infos: list[ExperimentInfo]) -> None:
    """Experiments are labelled by name; a name two of them share gets the id's start."""
    seen: dict[str, int] = {}
    for info in infos:
        seen[info.name] = seen.get(info.name, 0) + 1
    for info in infos:
        if seen[info.name] > 1:
            info.label = f"{info.name} ({info.id[:8]})"


def build(store: Store, experiment_ids: Sequence[str]) -> Comparison:
    """The comparison of two or more experiments on the same dataset (any of its versions)."""
    ids = list(dict.fromkeys(str(i) for i in experiment_ids))
    if len(ids) < 2:
        raise InvalidArgumentError(
            f"compare needs two or more experiment ids, got {len(ids)}; pass e.g. "
            "compare_experiments([baseline.id, candidate.id])"
        )
    infos = [_info(store, i) for i in ids]
    _same_dataset(store, infos)
    _label(infos)
    per_experiment = [load_rows(store, i) for i in ids]
    feedback = [example_feedback(store, i) for i in ids]
    scores: dict[str, None] = {}
    for rows in per_experiment:
        scores.update(dict.fromkeys(score_names(rows)))
    keyed: dict[tuple[str, int], CompareRow] = {}
    for index, rows in enumerate(per_experiment):
        for r in rows:
            key = (r.example_id, r.repetition)
            row = keyed.get(key)
            if row is None:
                row = keyed[key] = CompareRow(r.example_id, r.repetition, r.position, r.inputs,
                                              r.expected, [None] * len(ids), {})  # fmt: skip
            row.cells[index] = _cell(r, feedback[index].get(r.example_id, []))
    ordered = sorted(keyed.values(), key=lambda r: (r.position, r.example_id, r.repetition))
    for row in ordered:
        for name in scores:
            base = _value(row, 0, name)
            row.deltas[name] = [
                None if i == 0 or base is None or (v := _value(row, i, name)) is None
                else v - base
                for i in range(len(ids))
            ]  # fmt: skip
    return Comparison(infos, list(scores), ordered)


def select_rows(
    comparison: Comparison,
    *,
    sort: str = "example",
    descending: bool = False,
    score: str | None = None,
    against: int = 1,
    row_filter: str = "all",
) -> list[CompareRow]:
    """Rows filtered (``row_filter`` on ``score``'s delta of experiment ``against``) and
    sorted: ``example``, ``delta`` (of ``score``), ``score`` (experiment ``against``'s), or a
    measure (``latency_ms``, ``total_tokens``, ``cost_usd`` of ``against``). Rows without the
    sort value go last."""
    if row_filter not in FILTERS:
        raise InvalidArgumentError(f"filter={row_filter!r} is not valid: use one of "
                                   f"{', '.join(FILTERS)}")  # fmt: skip
    if not 0 <= against < len(comparison.experiments):
        raise InvalidArgumentError(f"against={against} is not valid: use 0 to "
                                   f"{len(comparison.experiments) - 1}")  # fmt: skip
    name = score or (comparison.scores[0] if comparison.scores else None)
    if name is not None and name not in comparison.scores:
        raise InvalidArgumentError(f"score={name!r} is not valid: the experiments' scores are "
                                   f"{', '.join(comparison.scores) or 'none'}")  # fmt: skip

    def delta(row: CompareRow) -> float | None:
        return None if name is None else row.deltas[name][against]

    rows = comparison.rows
    if row_filter == "errors":
        rows = [r for r in rows if any(c is None or c.error or any(
            s.get("error") for s in c.scores.values()) for c in r.cells)]  # fmt: skip
    elif row_filter != "all":
        sign = {"worse": (-1,), "better": (1,), "changed": (-1, 1), "same": (0,)}[row_filter]
        rows = [r for r in rows if (d := delta(r)) is not None and _sign(d) in sign]
    if sort == "example":
        key: Any = None
    elif sort == "delta":
        key = delta
    elif sort == "score":
        key = lambda r: None if name is None else _value(r, against, name)  # noqa: E731
    elif sort in MEASURES:
        key = lambda r: _value(r, against, sort)  # noqa: E731
    else:
        raise InvalidArgumentError(f"sort={sort!r} is not valid: use example, delta, score, "
                                   f"{', '.join(MEASURES)}")  # fmt: skip
    if key is None:
        return list(reversed(rows)) if descending else list(rows)
    known = [r for r in rows if key(r) is not None]
    unknown = [r for r in rows if key(r) is None]
    return sorted(known, key=key, reverse=descending) + unknown


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def frame(comparison: Comparison) -> Any:
    """The comparison as a DataFrame: ``example_id``, ``repetition``, ``inputs``, ``expected``,
    then per experiment (by its label) ``<label> output``, ``<label> <score>``…, latency,
    tokens, cost, error, trace id and human feedback (``task.log_feedback(example_id=…)``),
    then ``Δ <score> (<label>)`` against the first."""
    import pandas as pd

    labels = [e.label for e in comparison.experiments]
    records = []
    for row in comparison.rows:
        record: dict[str, Any] = {"example_id": row.example_id, "repetition": row.repetition,
                                  "inputs": row.inputs, "expected": row.expected}  # fmt: skip
        for index, label in enumerate(labels):
            cell = row.cells[index]
            record[f"{label} output"] = None if cell is None else cell.output
            for name in comparison.scores:
                value = _value(row, index, name)
                record[f"{label} {name}"] = math.nan if value is None else value
            for measure in MEASURES:
                record[f"{label} {measure}"] = None if cell is None else getattr(cell, measure)
            record[f"{label} error"] = None if cell is None else cell.error
            record[f"{label} trace_id"] = None if cell is None else cell.trace_id
            record[f"{label} feedback"] = (
                None
                if cell is None
                else [
                    {"name": f["name"], "value": f["value"], "comment": f["comment"]}
                    for f in cell.feedback
                ]
                or None
            )
        for name in comparison.scores:
            for index, label in enumerate(labels[1:], start=1):
                delta = row.deltas[name][index]
                record[f"Δ {name} ({label})"] = math.nan if delta is None else delta
        records.append(record)
    return pd.DataFrame(records)


def compare_experiments(experiment_ids: Sequence[Any]) -> Any:
    """Two or more experiments on the same dataset, example by example, as a DataFrame (see
    :func:`frame`); the first experiment is the baseline of the deltas."""
    ids = [getattr(i, "id", i) for i in experiment_ids]
    return frame(build(open_store(), ids))


def trace_diff(
    store: Store, task_a: str, trace_a: str, task_b: str, trace_b: str
) -> list[dict[str, Any]]:
    """Two traces of one example, step by step: spans paired by their place in the run tree
    (depth, kind, name), each pair with what changed (input, output, latency, tokens, model);
    a step only one trace has is paired with None."""
    import difflib

    spans_a = store.trace_spans(task_a, trace_a)
    spans_b = store.trace_spans(task_b, trace_b)

    def key(span: dict[str, Any]) -> tuple[Any, ...]:
        name = str(span.get("name") or "").split(" · ", 1)[0]
        return (span.get("depth"), span.get("kind"), name)

    steps: list[dict[str, Any]] = []
    matcher = difflib.SequenceMatcher(None, [key(s) for s in spans_a], [key(s) for s in spans_b],
                                      autojunk=False)  # fmt: skip
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        left, right = spans_a[a1:a2], spans_b[b1:b2]
        for i in range(max(len(left), len(right))):
            steps.append(_step(left[i] if i < len(left) else None,
                               right[i] if i < len(right) else None, tag))  # fmt: skip
    return steps


def _step(a: dict[str, Any] | None, b: dict[str, Any] | None, tag: str) -> dict[str, Any]:
    changed: list[str] = []
    if a is not None and b is not None:
        for field_name in ("input", "output", "model_name", "status"):
            if a.get(field_name) != b.get(field_name):
                changed.append(field_name)
        for measure in ("latency_ms", "total_tokens"):
            if a.get(measure) != b.get(measure):
                changed.append(measure)
    shown = a or b or {}

    def number(span: dict[str, Any] | None, name: str) -> float | None:
        value = None if span is None else span.get(name)
        return float(value) if isinstance(value, (int, float)) else None

    la, lb = number(a, "latency_ms"), number(b, "latency_ms")
    ta, tb = number(a, "total_tokens"), number(b, "total_tokens")
    return {
        "depth": shown.get("depth", 0), "kind": shown.get("kind"),
        "name": str(shown.get("name") or ""), "a": a, "b": b,
        "match": "same" if tag == "equal" and not changed else (
            "changed" if a is not None and b is not None else ("only a" if b is None
                                                                else "only b")),
        "changed": changed,
        "latency_delta": None if la is None or lb is None else round(lb - la, 3),
        "tokens_delta": None if ta is None or tb is None else tb - ta,
    }  # fmt: skip
