"""Datasets and experiment results over HTTP: the :class:`~chaintrack.store.evalrecords.EvalStore`
methods of :class:`~chaintrack.store.rest.RestStore`, served by ``server/api_eval.py``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import orjson

from chaintrack.errors import DatasetNotFoundError, InvalidArgumentError, StoreError
from chaintrack.store.evalrecords import (
    DatasetRecord,
    ExampleRecord,
    ResultRecord,
    TraceTotals,
    from_dict,
    to_dict,
)

#: Results per request when an experiment writes many at once.
RESULTS_PER_REQUEST = 2_000


class EvalRestMixin:
    """The eval methods of the HTTP store; relies on RestStore's ``request`` and ``_get``."""

    request: Any
    _get: Any

    def _eval_call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        content = None if body is None else orjson.dumps(body)
        headers = None if body is None else {"Content-Type": "application/json"}
        try:
            if method == "GET":
                return self._get(path, **params)
            return self.request(method, path, content=content, headers=headers).json()
        except StoreError as exc:
            # The server's refusals keep their meaning on this side of the wire.
            text = str(exc)
            if "HTTP 404: no dataset" in text:
                raise DatasetNotFoundError(text.split("HTTP 404: ", 1)[1]) from None
            if "HTTP 400: " in text:
                raise InvalidArgumentError(text.split("HTTP 400: ", 1)[1]) from None
            raise

    def put_dataset(self, record: DatasetRecord) -> None:
        self._eval_call("POST", "/datasets", to_dict(record))

    def add_dataset_rows(self, dataset_id: str, rows: list[ExampleRecord]) -> int:
        # One request: the server adds all the rows in one transaction, or none.
        path = f"/datasets/{quote(dataset_id, safe='')}/rows"
        found = self._eval_call("POST", path, [to_dict(r) for r in rows])
        return int(found["rows"])

    def get_dataset(self, dataset_id: str) -> DatasetRecord:
        found = self._eval_call("GET", f"/datasets/{quote(dataset_id, safe='')}")
        return from_dict(DatasetRecord, found)

    def find_datasets(
        self, project: str | None = None, name: str | None = None
    ) -> list[DatasetRecord]:
        found = self._eval_call("GET", "/datasets", project=project, name=name)
        return [from_dict(DatasetRecord, d) for d in found]

    def dataset_rows(
        self, dataset_id: str, offset: int = 0, limit: int | None = None
    ) -> list[ExampleRecord]:
        path = f"/datasets/{quote(dataset_id, safe='')}/rows"
        found = self._eval_call("GET", path, offset=offset or None, limit=limit)
        return [from_dict(ExampleRecord, r) for r in found]

    def dataset_experiments(self, dataset_id: str) -> list[str]:
        found = self._eval_call("GET", f"/datasets/{quote(dataset_id, safe='')}/experiments")
        return [str(t) for t in found]

    def write_results(self, rows: list[ResultRecord]) -> None:
        for start in range(0, len(rows), RESULTS_PER_REQUEST):
            part = rows[start : start + RESULTS_PER_REQUEST]
            self._eval_call("POST", "/experiments/results", [to_dict(r) for r in part])

    def get_results(self, task_id: str) -> list[ResultRecord]:
        found = self._eval_call("GET", f"/experiments/{quote(task_id, safe='')}/results")
        return [from_dict(ResultRecord, r) for r in found]

    def trace_totals(self, task_id: str) -> list[TraceTotals]:
        found = self._eval_call("GET", f"/experiments/{quote(task_id, safe='')}/trace-totals")
        return [from_dict(TraceTotals, t) for t in found]

    def trace_spans(self, task_id: str, trace_id: str) -> list[dict[str, Any]]:
        path = f"/experiments/{quote(task_id, safe='')}/traces/{quote(trace_id, safe='')}"
        found: list[dict[str, Any]] = self._eval_call("GET", path)
        return found
