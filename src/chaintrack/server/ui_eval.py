"""The web UI's pages of datasets and experiments: the Datasets page (versions, rows, the
experiments run on each), the per-example comparison of experiments (paged on the server,
sorted and filtered by a score's delta), one example's trace, and two traces' step-by-step
diff. Same rules as ``ui.py``: autoescaped templates, data for scripts through ``|tojson``."""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from chaintrack.eval import compare
from chaintrack.server.ui import _store, render
from chaintrack.store.evalrecords import DatasetRecord

router = APIRouter(include_in_schema=False)
ROWS_PAGE = 50
COMPARE_PAGE = 50


def _pretty(text: str | None) -> str:
    if text is None:
        return ""
    value = json.loads(text)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=1)


@router.get("/datasets")
def datasets(request: Request, project: str | None = None) -> Response:
    store = _store(request)
    groups: dict[tuple[str, str], list[DatasetRecord]] = {}
    for record in store.find_datasets(project):
        groups.setdefault((record.project, record.name), []).append(record)
    return render(request, "datasets.html", groups=groups, project=project)


@router.get("/datasets/{dataset_id}")
def dataset(request: Request, dataset_id: str, page: int = Query(1, ge=1)) -> Response:
    store = _store(request)
    record = store.get_dataset(dataset_id)
    versions = store.find_datasets(record.project, record.name)
    rows = store.dataset_rows(dataset_id, (page - 1) * ROWS_PAGE, ROWS_PAGE)
    shown = [(r.example_id, _pretty(r.inputs), _pretty(r.expected), _pretty(r.metadata))
             for r in rows]  # fmt: skip
    experiments = [store.get_task(t) for t in store.dataset_experiments(dataset_id)]
    pages = max(1, math.ceil(record.rows / ROWS_PAGE))
    return render(request, "dataset.html", dataset=record, versions=versions, rows=shown,
                  experiments=experiments, number=page, pages=pages)  # fmt: skip


def _charts(comparison: compare.Comparison) -> list[dict[str, Any]]:
    labels = [e.label for e in comparison.experiments]
    return [
        {"title": name, "labels": labels, "values": values}
        for name, values in comparison.means().items()
        if any(v is not None for v in values)
    ]


@router.get("/experiments/compare")
def compare_view(
    request: Request,
    ids: list[str] = Query([]),  # noqa: B008
    sort: str = "example",
    order: str = "asc",
    score: str | None = None,
    against: int = Query(1, ge=0),
    filter: str = "all",
    page: int = Query(1, ge=1),
) -> Response:
    comparison = compare.build(_store(request), ids)
    score = score or None
    chosen = score or (comparison.scores[0] if comparison.scores else None)
    rows = compare.select_rows(comparison, sort=sort, descending=order == "desc", score=score,
                               against=against, row_filter=filter)  # fmt: skip
    pages = max(1, math.ceil(len(rows) / COMPARE_PAGE))
    shown = rows[(page - 1) * COMPARE_PAGE : page * COMPARE_PAGE]
    return render(
        request, "experiments_compare.html", comparison=comparison, rows=shown,
        total=len(rows), number=page, pages=pages, sort=sort, order=order, score=chosen,
        against=against, row_filter=filter, filters=compare.FILTERS,
        measures=compare.MEASURES, charts=_charts(comparison), pretty=json.dumps,
    )  # fmt: skip


@router.get("/experiments/trace")
def example_trace(request: Request, task: str, trace: str) -> Response:
    store = _store(request)
    record = store.get_task(task)
    spans = store.trace_spans(task, trace)
    return render(request, "example_trace.html", task=record, trace_id=trace, spans=spans)


@router.get("/experiments/trace-diff")
def trace_diff(request: Request, a_task: str, a_trace: str, b_task: str, b_trace: str) -> Response:
    store = _store(request)
    steps = compare.trace_diff(store, a_task, a_trace, b_task, b_trace)
    return render(request, "trace_diff.html", a=store.get_task(a_task), b=store.get_task(b_task),
                  a_trace=a_trace, b_trace=b_trace, steps=steps)  # fmt: skip
