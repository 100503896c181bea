"""Threads from the SDK: ``task.get_threads()`` and ``task.get_thread_turns(thread_id)``, as
pandas DataFrames read through the task's store (embedded, PostgreSQL or a tracking server)."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any

from chaintrack.errors import invalid
from chaintrack.store.threads import MAX_LIMIT, ThreadSummary, Turn

if TYPE_CHECKING:
    from chaintrack.store.base import Store

#: The columns of ``task.get_threads()`` and ``task.get_thread_turns()``, in order.
THREAD_COLUMNS = tuple(f.name for f in fields(ThreadSummary))
TURN_COLUMNS = tuple(f.name for f in fields(Turn))


def _frame(rows: list[Any], columns: tuple[str, ...], times: tuple[str, ...]) -> Any:
    import pandas as pd

    frame = pd.DataFrame([[getattr(r, c) for c in columns] for r in rows], columns=list(columns))
    for column in times:
        frame[column] = pd.to_datetime(frame[column].astype("float64"), unit="s", utc=True)
    for column in ("prompt_tokens", "completion_tokens", "total_tokens"):
        if column in frame:
            frame[column] = frame[column].astype("Int64")
    if "cost_usd" in frame:
        frame["cost_usd"] = frame["cost_usd"].astype("float64")
    return frame


class TaskThreads:
    """Threads methods of :class:`~chaintrack.Task`; the task provides ``_read_store``."""

    id: str

    def _read_store(self) -> Store:
        raise NotImplementedError

    def get_threads(self) -> Any:
        """The task's threads (conversations), the most recently active first: ``thread_id``,
        ``turns``, ``first_start`` / ``last_end`` (UTC), ``errors`` and ``interrupted`` turns,
        ``total_tokens`` of the model calls, ``cost_usd`` (NaN: unknown) and ``tasks``."""
        store, found, offset = self._read_store(), [], 0
        while True:
            page = store.thread_page(task_id=self.id, offset=offset, limit=MAX_LIMIT)
            found.extend(page.threads)
            offset += len(page.threads)
            if not page.threads or offset >= page.total:
                break
        return _frame(found, THREAD_COLUMNS, ("first_start", "last_end"))

    def get_thread_turns(self, thread_id: str) -> Any:
        """One thread's turns (root runs) in the order they started: status (``ok``,
        ``error``, ``interrupted``), latency, the tokens and cost of the turn's model calls,
        the input and output (first 500 characters), and for a turn that resumed a paused one
        ``resumes`` (the paused turn's trace id) and ``resume`` (the value it resumed with)."""
        if not isinstance(thread_id, str) or not thread_id:
            raise invalid("thread_id", thread_id, "give a thread id (a non-empty string)")
        store, found, offset = self._read_store(), [], 0
        while True:
            page = store.thread_turns(thread_id, task_id=self.id, offset=offset, limit=MAX_LIMIT)
            found.extend(page.turns)
            offset += len(page.turns)
            if not page.turns or offset >= page.total:
                break
        return _frame(found, TURN_COLUMNS, ("start_time", "end_time"))
