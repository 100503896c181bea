"""Human feedback from the SDK: ``task.log_feedback(…)``, ``task.get_feedback()`` and the
feedback of several tasks for comparing them (``chaintrack.get_feedback([id, …])``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chaintrack import config
from chaintrack.store.feedback import FeedbackRecord, make_feedback

if TYPE_CHECKING:
    from chaintrack.store.base import Store

#: The columns of ``task.get_feedback()``, in order.
FEEDBACK_COLUMNS = (
    "id", "task_id", "span_id", "example_id", "name", "value", "value_type", "comment",
    "author", "source", "created",
)  # fmt: skip


def feedback_frame(records: list[FeedbackRecord]) -> Any:
    """Feedback records as a DataFrame of :data:`FEEDBACK_COLUMNS` (``created`` in UTC)."""
    import pandas as pd

    frame = pd.DataFrame(
        [[getattr(r, c) for c in FEEDBACK_COLUMNS] for r in records],
        columns=list(FEEDBACK_COLUMNS),
    )
    frame["created"] = pd.to_datetime(frame["created"].astype("float64"), unit="s", utc=True)
    return frame


class TaskFeedback:
    """Feedback methods of :class:`~chaintrack.Task`; the task provides ``_read_store``."""

    id: str

    def _read_store(self) -> Store:
        raise NotImplementedError

    def log_feedback(
        self,
        name: str,
        value: float | bool | str,
        *,
        span_id: str | None = None,
        example_id: str | None = None,
        comment: str | None = None,
        author: str | None = None,
    ) -> str:
        """Record a person's judgement of this task, of one of its spans (``span_id``, as in
        ``task.get_spans()``) or of one of its examples (``example_id``): a number (a score),
        a bool (thumbs up/down) or a string (a label), with an optional comment and author.
        Stored at once (what the task reported so far is stored first, so a span just reported
        can be named); returns the feedback's id."""
        record = make_feedback(
            self.id, name, value, span_id=span_id, example_id=example_id, comment=comment,
            author=author, source="sdk",
        )  # fmt: skip
        return self._read_store().add_feedback(record).id

    def get_feedback(self) -> Any:
        """This task's feedback as a pandas DataFrame (:data:`FEEDBACK_COLUMNS`), oldest first;
        ``value`` is the number, bool or label given."""
        return feedback_frame(self._read_store().get_feedback([self.id]))


def get_feedback(task_ids: Sequence[str], store: Store | None = None) -> Any:
    """The feedback of several tasks (e.g. the experiments being compared) as one DataFrame;
    group it by ``example_id`` (or ``span_id``) and ``task_id`` to show it per example."""
    from chaintrack.store import open_store

    if isinstance(task_ids, str):
        task_ids = [task_ids]
    store = store or _flushed(open_store())
    return feedback_frame(store.get_feedback(list(task_ids)))


def _flushed(store: Store) -> Store:
    from chaintrack.sdk.writers import writer_for

    writer_for(store).flush(config.drain_timeout())
    return store
