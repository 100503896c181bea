"""An experiment's results as rows: the stored results, joined with the dataset's examples
and with the tokens and cost of each example's trace (from its spans)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from chaintrack.store.base import Store
from chaintrack.store.evalrecords import ExampleRecord, ResultRecord, TraceTotals

#: Columns of ``Experiment.results`` around the score columns.
LEADING = ("example_id", "repetition", "inputs", "expected", "output")
TRAILING = ("latency_ms", "total_tokens", "cost_usd", "error", "trace_id")


@dataclass
class ResultRow:
    """One scored example (and repetition), decoded."""

    example_id: str
    repetition: int
    position: int
    inputs: Any
    expected: Any
    output: Any
    scores: dict[str, dict[str, Any]]
    latency_ms: float | None
    total_tokens: int | None
    cost_usd: float | None
    error: str | None
    trace_id: str | None
    metadata: dict[str, Any] = field(default_factory=dict)

    def value(self, score: str) -> float | None:
        found = self.scores.get(score)
        return None if found is None else found.get("value")


def _decode(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def join(
    results: list[ResultRecord],
    examples: dict[str, ExampleRecord],
    totals: dict[str, TraceTotals],
) -> list[ResultRow]:
    rows: list[ResultRow] = []
    for r in results:
        example = examples.get(r.example_id)
        used = totals.get(r.trace_id or "")
        rows.append(ResultRow(
            example_id=r.example_id, repetition=r.repetition, position=r.position,
            inputs=_decode(example.inputs) if example else None,
            expected=_decode(example.expected) if example else None,
            output=_decode(r.output), scores=json.loads(r.scores or "{}"),
            latency_ms=r.latency_ms,
            total_tokens=used.total_tokens if used else None,
            cost_usd=used.cost_usd if used else None,
            error=r.error, trace_id=r.trace_id,
            metadata=_decode(example.metadata) if example else {},
        ))  # fmt: skip
    return rows


def load_rows(store: Store, task_id: str) -> list[ResultRow]:
    """Every result of the experiment ``task_id``, by example position and repetition."""
    results = store.get_results(task_id)
    if not results:
        return []
    dataset_ids = {r.dataset_id for r in results}
    examples: dict[str, ExampleRecord] = {}
    for dataset_id in sorted(dataset_ids):
        for example in store.dataset_rows(dataset_id):
            examples.setdefault(example.example_id, example)
    totals = {t.trace_id: t for t in store.trace_totals(task_id)}
    return join(results, examples, totals)


def score_names(rows: list[ResultRow]) -> list[str]:
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row.scores))
    return list(names)


def frame(rows: list[ResultRow]) -> Any:
    """``Experiment.results``: one row per example and repetition; a column per score (NaN
    where the scorer failed: its message is in ``score_errors``)."""
    import pandas as pd

    names = score_names(rows)
    records = []
    for row in rows:
        record: dict[str, Any] = {c: getattr(row, c) for c in LEADING}
        for name in names:
            value = row.value(name)
            record[name] = math.nan if value is None else value
        record.update({c: getattr(row, c) for c in TRAILING})
        record["score_errors"] = {n: c["error"] for n, c in row.scores.items() if c.get("error")}
        record["comments"] = {n: c["comment"] for n, c in row.scores.items() if c.get("comment")}
        records.append(record)
    columns = [*LEADING, *names, *TRAILING, "score_errors", "comments"]
    # Object columns keep None (no output, no error) as None; scores and latency are floats.
    found = pd.DataFrame(records, columns=columns, dtype=object)
    for name in [*names, "latency_ms"]:
        found[name] = found[name].astype(float)
    found["repetition"] = found["repetition"].astype(int)
    return found


def summary(rows: list[ResultRow]) -> Any:
    """Per score: mean, pass rate (boolean scores), count of values, errors."""
    import pandas as pd

    found = []
    for name in score_names(rows):
        cells = [r.scores[name] for r in rows if name in r.scores]
        values = [c["value"] for c in cells if c.get("value") is not None]
        boolean = any(c.get("kind") == "bool" for c in cells)
        found.append({
            "score": name,
            "mean": sum(values) / len(values) if values else math.nan,
            "pass_rate": (sum(values) / len(values) if values else math.nan) if boolean
            else math.nan,
            "count": len(values),
            "errors": sum(1 for c in cells if c.get("error")),
        })  # fmt: skip
    frame = pd.DataFrame(found, columns=["score", "mean", "pass_rate", "count", "errors"])
    return frame.set_index("score")
