"""Plain data of datasets and experiment results, as stores write and read them.

Structured values (inputs, expected, metadata, outputs, scores) are JSON text here: the
evaluation code encodes and decodes them, stores and the wire only move text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Protocol, TypeVar

DRAFT = "draft"
FINAL = "final"

_R = TypeVar("_R")


def from_dict(kind: type[_R], data: dict[str, Any]) -> _R:
    """``kind`` from a dict, ignoring keys it does not have (a newer server may add some)."""
    names = {f.name for f in fields(kind)}  # type: ignore[arg-type]
    return kind(**{k: v for k, v in data.items() if k in names})


def to_dict(record: Any) -> dict[str, Any]:
    return asdict(record)


@dataclass
class DatasetRecord:
    """One version of a dataset."""

    id: str
    project: str
    name: str
    version: str
    status: str
    created: float
    parent: str | None = None
    description: str = ""
    finalized: float | None = None
    rows: int = 0


@dataclass
class ExampleRecord:
    """One example of a dataset version; ``inputs``, ``expected`` (or None) and ``metadata``
    are JSON text."""

    example_id: str
    position: int
    inputs: str
    expected: str | None = None
    metadata: str = "{}"


@dataclass
class ResultRecord:
    """One scored example (and repetition) of an experiment; ``output`` and ``scores`` are JSON
    text. ``trace_id`` is the root span of the example's run in the experiment's task."""

    task_id: str
    example_id: str
    repetition: int
    dataset_id: str
    position: int
    created: float
    output: str | None = None
    scores: str = "{}"
    latency_ms: float | None = None
    error: str | None = None
    trace_id: str | None = None


@dataclass
class TraceTotals:
    """What one trace (a root span and its descendants) of a task used: tokens of its model
    calls, and their cost (None when no call of it had a known price: unknown, never $0)."""

    trace_id: str
    total_tokens: int | None = None
    cost_usd: float | None = None
    llm_calls: int = 0
    priced_calls: int = 0


class EvalStore(Protocol):
    """What every store adds for datasets and experiments (SQL, and HTTP through the server)."""

    def put_dataset(self, record: DatasetRecord) -> None:
        """Create the dataset version, or update its status, description and row count."""
        ...

    def add_dataset_rows(self, dataset_id: str, rows: list[ExampleRecord]) -> int:
        """Add ``rows`` to a draft version in one transaction: all of them or none (an example
        id the version has already is an error). Returns the version's row count."""
        ...

    def get_dataset(self, dataset_id: str) -> DatasetRecord:
        """The version with this id; raises :class:`~chaintrack.errors.DatasetNotFoundError`."""
        ...

    def find_datasets(
        self, project: str | None = None, name: str | None = None
    ) -> list[DatasetRecord]:
        """Dataset versions, newest first."""
        ...

    def dataset_rows(
        self, dataset_id: str, offset: int = 0, limit: int | None = None
    ) -> list[ExampleRecord]:
        """A version's examples in the order they were added."""
        ...

    def dataset_experiments(self, dataset_id: str) -> list[str]:
        """Ids of the tasks with results on this version."""
        ...

    def write_results(self, rows: list[ResultRecord]) -> None:
        """Store results (a row stored again replaces the earlier one)."""
        ...

    def get_results(self, task_id: str) -> list[ResultRecord]:
        """An experiment's results, by example position and repetition."""
        ...

    def trace_totals(self, task_id: str) -> list[TraceTotals]:
        """Tokens and cost of each trace (root span) of a task."""
        ...

    def trace_spans(self, task_id: str, trace_id: str) -> list[dict[str, Any]]:
        """The spans of one trace (its root span ``trace_id`` and descendants), depth first,
        each payload with its ``depth``."""
        ...
