"""The one interface every store implements; the backend is picked by URI (see ``open_store``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable

from chaintrack.store.evalrecords import EvalStore
from chaintrack.store.records import (
    ArtifactRecord,
    ConfigurationRecord,
    Event,
    ModelRecord,
    ParameterRecord,
    TaskQuery,
    TaskRecord,
    WriteBatch,
)
from chaintrack.store.threads import ThreadStore
from chaintrack.store.views import (
    EventPage,
    EventQuery,
    ProjectSummary,
    ScalarSeries,
    SeriesSummary,
    TaskPage,
    TaskPageQuery,
    TaskSummary,
    TracePage,
)

if TYPE_CHECKING:
    from chaintrack.store.costs import RepriceResult
    from chaintrack.store.feedback import FeedbackRecord
    from chaintrack.text.prices import PriceTable


@runtime_checkable
class BlobStore(Protocol):
    """Where artifact, model and media files live. Keys are relative, '/'-separated paths."""

    def uri_for(self, key: str) -> str:
        """The URI the blob at ``key`` has once put; computed without I/O."""
        ...

    def put_bytes(self, key: str, data: bytes) -> str:
        """Store ``data`` under ``key``; return the blob's URI."""
        ...

    def put_file(self, key: str, path: Path) -> str:
        """Copy the file at ``path`` under ``key``; return the blob's URI."""
        ...

    def local_path(self, uri: str) -> Path:
        """A local file holding the blob at ``uri`` (downloaded first when remote)."""
        ...

    def open(self, uri: str) -> BinaryIO:
        """The blob's bytes as a readable binary stream."""
        ...


@runtime_checkable
class Store(EvalStore, ThreadStore, Protocol):
    """Tasks and everything they report. Writes are idempotent (see :class:`WriteBatch`)."""

    uri: str

    @property
    def blobs(self) -> BlobStore: ...

    def write(self, batch: WriteBatch) -> None:
        """Apply ``batch`` in one transaction."""
        ...

    def reset_task(self, task_id: str) -> None:
        """Delete what ``task_id`` reported, keeping the task (``reuse_last_task_id``)."""
        ...

    def get_task(self, task_id: str) -> TaskRecord:
        """The task with this id; raises :class:`~chaintrack.errors.TaskNotFoundError`."""
        ...

    def find_tasks(self, query: TaskQuery) -> list[TaskRecord]:
        """Tasks matching ``query``, newest first."""
        ...

    def get_parameters(self, task_id: str) -> list[ParameterRecord]: ...

    def get_configurations(self, task_id: str) -> list[ConfigurationRecord]: ...

    def get_events(
        self, task_id: str, kind: str, metric: str | None = None, variant: str | None = None
    ) -> list[Event]:
        """Events of one kind, in the order they were reported."""
        ...

    def get_artifacts(self, task_id: str) -> list[ArtifactRecord]: ...

    def get_models(self, task_id: str) -> list[ModelRecord]: ...

    # -- paginated reads (the web UI and the REST API; see ``views.py``) --------------------

    def list_projects(self) -> list[ProjectSummary]:
        """Every project with tasks, by name."""
        ...

    def task_page(self, query: TaskPageQuery) -> TaskPage:
        """A page of the tasks table, with each task's span totals."""
        ...

    def task_summary(self, task_id: str) -> TaskSummary:
        """A task's span totals and its number of events of each kind."""
        ...

    def event_page(self, task_id: str, query: EventQuery) -> EventPage:
        """A page of one kind of events."""
        ...

    def event_series(self, task_id: str, kind: str) -> list[SeriesSummary]:
        """Each (metric, variant) of a kind of events."""
        ...

    def scalar_series(self, task_id: str, max_points: int = 2_000) -> list[ScalarSeries]:
        """Every scalar series, thinned to at most ``max_points`` points each."""
        ...

    def trace_page(self, task_id: str, offset: int = 0, limit: int = 20) -> TracePage:
        """Root spans ``offset`` to ``offset + limit`` with their descendants."""
        ...

    # -- feedback and costs (``store/feedback.py``, ``store/costs.py``) ---------------------

    def add_feedback(self, record: FeedbackRecord) -> FeedbackRecord:
        """Store a feedback (once per id); the task, and the span when named, must exist."""
        ...

    def get_feedback(self, task_ids: list[str]) -> list[FeedbackRecord]:
        """Every feedback of these tasks, oldest first."""
        ...

    def trace_costs(
        self, task_id: str, root_ids: list[str] | None = None
    ) -> dict[str, float | None]:
        """Each trace's cost (USD, None: unknown) by root span id."""
        ...

    def span_costs(self, task_id: str) -> dict[str, tuple[float | None, str | None]]:
        """(cost in USD, price source) of each span by span id."""
        ...

    def reprice_task(self, task_id: str, prices: PriceTable | None = None) -> RepriceResult:
        """Price the task's model calls again (``prices`` None: the store's own table; a
        tracking server always uses its own)."""
        ...

    def close(self) -> None:
        """Release connections. The store may not be used afterwards."""
        ...
