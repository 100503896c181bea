"""The HTTP store's feedback and cost calls (``/api/v1/tasks/{id}/feedback``, ``…/reprice``,
``…/trace-costs``, ``/api/v1/feedback``): the server's SQL store does the work."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from chaintrack.store.costs import RepriceResult
from chaintrack.store.feedback import FeedbackRecord, feedback_from_dict

if TYPE_CHECKING:
    from chaintrack.text.prices import PriceTable


def _record(data: dict[str, Any]) -> FeedbackRecord:
    names = {f.name for f in fields(FeedbackRecord)}
    return FeedbackRecord(**{k: v for k, v in data.items() if k in names})


class RestExtrasMixin:
    """Feedback and costs for :class:`~chaintrack.store.rest.RestStore`."""

    if TYPE_CHECKING:  # provided by RestStore

        def request(
            self,
            method: str,
            path: str,
            *,
            params: Any = None,
            content: Any = None,
            headers: dict[str, str] | None = None,
        ) -> Any: ...

    def _get(self, path: str, **params: Any) -> Any:  # provided by RestStore
        raise NotImplementedError

    @staticmethod
    def _path(task_id: str, rest: str) -> str:
        return f"/tasks/{quote(task_id, safe='')}{rest}"

    def add_feedback(self, record: FeedbackRecord) -> FeedbackRecord:
        body = json.dumps({**record.to_dict(), "source": record.source}).encode()
        response = self.request("POST", self._path(record.task_id, "/feedback"), content=body,
                                headers={"Content-Type": "application/json"})  # fmt: skip
        return feedback_from_dict(response.json())

    def get_feedback(self, task_ids: list[str]) -> list[FeedbackRecord]:
        if not task_ids:
            return []
        return [_record(f) for f in self._get("/feedback", task=list(task_ids))]

    def trace_costs(
        self, task_id: str, root_ids: list[str] | None = None
    ) -> dict[str, float | None]:
        found = self._get(self._path(task_id, "/trace-costs"), root=root_ids or None)
        return {str(k): v for k, v in found.items()}

    def span_costs(self, task_id: str) -> dict[str, tuple[float | None, str | None]]:
        found = self._get(self._path(task_id, "/span-costs"))
        return {str(k): (v[0], v[1]) for k, v in found.items()}

    def reprice_task(self, task_id: str, prices: PriceTable | None = None) -> RepriceResult:
        # The server prices with its own table (its CHAINTRACK_PRICES): ``prices`` is not sent.
        found = self.request("POST", self._path(task_id, "/reprice")).json()
        return RepriceResult(**found)
