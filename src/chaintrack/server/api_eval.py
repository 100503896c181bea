"""The REST API of datasets and experiments (``/api/v1/datasets…``, ``/api/v1/experiments…``):
the eval methods of the Store interface (``RestStore`` is their client) and the comparison of
experiments, example by example, paged on the server."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, field_validator

from chaintrack.eval import compare
from chaintrack.store import wire
from chaintrack.store.base import Store
from chaintrack.store.evalrecords import (
    DRAFT,
    FINAL,
    DatasetRecord,
    ExampleRecord,
    ResultRecord,
)

router = APIRouter(prefix="/api/v1")
Offset = Annotated[int, Query(ge=0)]
Id = Annotated[str, Field(min_length=1, max_length=32)]
ExampleId = Annotated[str, Field(min_length=1, max_length=64)]


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _json_text(value: str | None, what: str, kind: type | None = None) -> str | None:
    """``value`` if it is JSON text (of ``kind``): a stored value must never break a read."""
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        raise ValueError(f"{what} is not JSON text") from None
    if kind is not None and not isinstance(parsed, kind):
        raise ValueError(f"{what} is not a JSON {kind.__name__}")
    return value


class DatasetIn(BaseModel):
    id: Id
    project: Annotated[str, Field(min_length=1, max_length=512)]
    name: Annotated[str, Field(min_length=1, max_length=512)]
    version: Annotated[str, Field(min_length=1, max_length=64)]
    status: Annotated[str, Field(pattern=f"^({DRAFT}|{FINAL})$")]
    created: float
    parent: Annotated[str | None, Field(max_length=32)] = None
    description: str = ""
    finalized: float | None = None
    rows: Annotated[int, Field(ge=0)] = 0


class ExampleIn(BaseModel):
    example_id: ExampleId
    position: Annotated[int, Field(ge=0)]
    inputs: str
    expected: str | None = None
    metadata: str = "{}"

    @field_validator("inputs")
    @classmethod
    def _inputs(cls, value: str) -> str:
        return str(_json_text(value, "inputs", dict))

    @field_validator("expected")
    @classmethod
    def _expected(cls, value: str | None) -> str | None:
        return _json_text(value, "expected")

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: str) -> str:
        return str(_json_text(value, "metadata", dict))


class ResultIn(BaseModel):
    task_id: Id
    example_id: ExampleId
    repetition: Annotated[int, Field(ge=0)]
    dataset_id: Id
    position: Annotated[int, Field(ge=0)]
    created: float
    output: str | None = None
    scores: str = "{}"
    latency_ms: float | None = None
    error: str | None = None
    trace_id: Annotated[str | None, Field(max_length=64)] = None

    @field_validator("output")
    @classmethod
    def _output(cls, value: str | None) -> str | None:
        return _json_text(value, "output")

    @field_validator("scores")
    @classmethod
    def _scores(cls, value: str) -> str:
        return str(_json_text(value, "scores", dict))


def _records(items: list[Any]) -> list[dict[str, Any]]:
    return [asdict(i) for i in items]


# -- datasets --------------------------------------------------------------------------------


@router.post("/datasets", tags=["datasets"])
def put_dataset(request: Request, body: DatasetIn) -> dict[str, str]:
    """Create a dataset version, or update its status, description and row count."""
    _store(request).put_dataset(DatasetRecord(**body.model_dump()))
    return {"id": body.id}


@router.post("/datasets/{dataset_id}/rows", tags=["datasets"])
def add_dataset_rows(request: Request, dataset_id: str, body: list[ExampleIn]) -> dict[str, int]:
    """Add examples to a draft version, all in one transaction (or none: 400 names the row)."""
    rows = [ExampleRecord(**r.model_dump()) for r in body]
    return {"rows": _store(request).add_dataset_rows(dataset_id, rows)}


@router.get("/datasets", tags=["datasets"])
def find_datasets(request: Request, project: str | None = None, name: str | None = None) -> Any:
    """Dataset versions, newest first."""
    return _records(_store(request).find_datasets(project, name))


@router.get("/datasets/{dataset_id}", tags=["datasets"])
def get_dataset(request: Request, dataset_id: str) -> Any:
    return asdict(_store(request).get_dataset(dataset_id))


@router.get("/datasets/{dataset_id}/rows", tags=["datasets"])
def dataset_rows(
    request: Request,
    dataset_id: str,
    offset: Offset = 0,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> Any:
    """A version's examples in the order they were added (JSON text fields)."""
    store = _store(request)
    store.get_dataset(dataset_id)
    return _records(store.dataset_rows(dataset_id, offset, limit))


@router.get("/datasets/{dataset_id}/experiments", tags=["datasets"])
def dataset_experiments(request: Request, dataset_id: str) -> list[str]:
    """Ids of the experiments with results on this version."""
    return _store(request).dataset_experiments(dataset_id)


# -- experiments -----------------------------------------------------------------------------


@router.post("/experiments/results", tags=["experiments"])
def write_results(request: Request, body: list[ResultIn]) -> dict[str, int]:
    """Store results (idempotent: a result stored again replaces the earlier one)."""
    _store(request).write_results([ResultRecord(**r.model_dump()) for r in body])
    return {"results": len(body)}


@router.get("/experiments/compare", tags=["experiments"])
def compare_page(
    request: Request,
    ids: Annotated[list[str], Query()],
    sort: str = "example",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
    score: str | None = None,
    against: Annotated[int, Query(ge=0)] = 1,
    filter: str = "all",
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    """Two or more experiments on one dataset, example by example: a page of rows (each
    experiment's output, scores, latency, tokens, cost, trace id, feedback), score deltas
    against the first experiment, sorted and filtered by ``score``'s delta of experiment
    ``against``; ``means`` per score and experiment for charts."""
    comparison = compare.build(_store(request), ids)
    rows = compare.select_rows(comparison, sort=sort, descending=order == "desc", score=score,
                               against=against, row_filter=filter)  # fmt: skip
    body = {
        "experiments": _records(comparison.experiments),
        "scores": comparison.scores,
        "means": comparison.means(),
        "total": len(rows),
        "offset": offset,
        "limit": limit,
        "rows": _records(rows[offset : offset + limit]),
    }
    return Response(wire.dumps(body), media_type="application/json")


@router.get("/experiments/trace-diff", tags=["experiments"])
def trace_diff(request: Request, a_task: str, a_trace: str, b_task: str, b_trace: str) -> Any:
    """Two traces of one example step by step: what changed at each step."""
    steps = compare.trace_diff(_store(request), a_task, a_trace, b_task, b_trace)
    return Response(wire.dumps(steps), media_type="application/json")


@router.get("/experiments/{task_id}/results", tags=["experiments"])
def get_results(request: Request, task_id: str) -> Any:
    """An experiment's stored results (JSON text fields), by example position."""
    store = _store(request)
    store.get_task(task_id)
    return _records(store.get_results(task_id))


@router.get("/experiments/{task_id}/trace-totals", tags=["experiments"])
def trace_totals(request: Request, task_id: str) -> Any:
    """Tokens and cost of each trace (root span) of a task."""
    return _records(_store(request).trace_totals(task_id))


@router.get("/experiments/{task_id}/traces/{trace_id}", tags=["experiments"])
def trace_spans(request: Request, task_id: str, trace_id: str) -> Any:
    """The spans of one trace, depth first."""
    return Response(wire.dumps(_store(request).trace_spans(task_id, trace_id)),
                    media_type="application/json")  # fmt: skip
