"""Costs from the SDK: what each trace of a task cost, and pricing stored tasks again
(``chaintrack.trace_costs``, ``chaintrack.reprice``; ``chaintrack reprice`` on the command line).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from chaintrack import config
from chaintrack.errors import InvalidArgumentError
from chaintrack.store.records import TaskQuery

if TYPE_CHECKING:
    from chaintrack.store.base import Store

#: The columns of ``chaintrack.reprice(…)``.
REPRICE_COLUMNS = ("task_id", "model_calls", "priced", "unknown", "cost_before", "cost_after",
                   "price_source")  # fmt: skip


def _store(store: Store | None) -> Store:
    from chaintrack.sdk.writers import writer_for
    from chaintrack.store import open_store

    store = store or open_store()
    writer_for(store).flush(config.drain_timeout())
    return store


def trace_costs(
    task_id: str, root_ids: Sequence[str] | None = None, *, store: Store | None = None
) -> dict[str, float | None]:
    """Each trace's cost in USD by its root span id (the sum over the trace's spans), for the
    roots given (default: every trace of the task). None means no span of that trace has a
    known price: unknown, not $0."""
    return _store(store).trace_costs(task_id, list(root_ids) if root_ids is not None else None)


def reprice(
    task_ids: Sequence[str] | str | None = None,
    *,
    project: str | None = None,
    store: Store | None = None,
) -> Any:
    """Price the model calls of stored tasks again with the current price table (genai-prices
    and ``CHAINTRACK_PRICES``; a tracking server uses its own), and update their totals.
    Give task ids, or ``project`` for every task of a project (and its sub-projects). Returns a
    DataFrame with one row per task (:data:`REPRICE_COLUMNS`)."""
    import pandas as pd

    if isinstance(task_ids, str):
        task_ids = [task_ids]
    if not task_ids and project is None:
        raise InvalidArgumentError(
            "reprice needs task ids or project=…: which tasks should be priced again?"
        )
    found = _store(store)
    ids = list(task_ids or [])
    if project is not None:
        query = TaskQuery(project=project, include_subprojects=True)
        ids += [t.id for t in found.find_tasks(query) if t.id not in ids]
    rows = [asdict(found.reprice_task(task_id)) for task_id in ids]
    return pd.DataFrame(rows, columns=list(REPRICE_COLUMNS))
