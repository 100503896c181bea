"""What an experiment reports through its Logger when it ends, so that any reader of tasks
(the task page's Tables and Scalars tabs, ``chaintrack clearml push``) sees it whole: the
results as a table, each score per example as a scalar series and its mean as a single value,
and the dataset's rows as an artifact."""

from __future__ import annotations

import json
from typing import Any

from chaintrack.eval import results as _results
from chaintrack.sdk.task import Task
from chaintrack.store.base import Store

RESULTS_TABLE = "Experiment results"
SCORES_TITLE = "scores"
DATASET_ARTIFACT = "dataset"


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                             default=str)  # fmt: skip


def report_experiment(task: Task, store: Store, dataset: Any) -> None:
    rows = _results.load_rows(store, task.id)
    names = _results.score_names(rows)
    logger = task.get_logger()
    header = ["example_id", "repetition", "inputs", "expected", "output", *names,
              "latency_ms", "error", "trace_id"]  # fmt: skip
    table: list[list[Any]] = [header]
    for row in rows:
        table.append([
            row.example_id, row.repetition, _text(row.inputs), _text(row.expected),
            _text(row.output), *[row.value(n) for n in names], row.latency_ms,
            row.error or "", row.trace_id or "",
        ])  # fmt: skip
    logger.report_table(RESULTS_TABLE, dataset.name, iteration=0, table_plot=table)
    for name in names:
        values = []
        for index, row in enumerate(rows):
            value = row.value(name)
            if value is not None:
                logger.report_scalar(SCORES_TITLE, name, value, iteration=index)
                values.append(value)
        if values:
            logger.report_single_value(f"{name} mean", sum(values) / len(values))
    errors = sum(1 for r in rows if r.error)
    logger.report_single_value("examples", float(len(rows)))
    logger.report_single_value("target errors", float(errors))
    task.upload_artifact(
        DATASET_ARTIFACT, dataset.to_dataframe().assign(
            inputs=lambda f: f["inputs"].map(_text), expected=lambda f: f["expected"].map(_text),
            metadata=lambda f: f["metadata"].map(_text)),
        metadata={"dataset_id": dataset.id, "dataset_name": dataset.name,
                  "dataset_version": dataset.version},
    )  # fmt: skip
