"""Plain data passed between the SDK and a store: what is written and what is read back."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, cast

#: An event as the writer hands it to a store, in the order of ``schema.EVENT_COLUMNS``:
#: (task_id, writer, seq, kind, ts, metric, variant, iter, value, level, text, data_json).
EventRow = tuple[
    str, int, int, str, float, "str | None", "str | None", "int | None",
    "float | None", "int | None", "str | None", "str | None",
]  # fmt: skip

# Event kinds.
SCALAR = "scalar"
LOG = "log"
TABLE = "table"
MEDIA = "media"
PLOT = "plot"
SPAN = "span"
EVENT_KINDS = (SCALAR, LOG, TABLE, MEDIA, PLOT, SPAN)

#: ClearML reports single values as scalars of this title at this iteration.
SINGLE_VALUE_METRIC = "Summary"
SINGLE_VALUE_ITER = -(2**31)


@dataclass
class TaskRecord:
    """A task's own fields (everything but what it reported)."""

    id: str
    project: str
    name: str
    type: str
    status: str
    created: float
    last_update: float
    status_reason: str = ""
    tags: list[str] = field(default_factory=list)
    system_tags: list[str] = field(default_factory=list)
    comment: str = ""
    parent: str | None = None
    user: str = ""
    started: float | None = None
    completed: float | None = None
    script: dict[str, Any] = field(default_factory=dict)
    runtime: dict[str, Any] = field(default_factory=dict)
    packages: list[str] = field(default_factory=list)
    #: What could not be read from the stored row (each field shown with its default instead);
    #: never stored.
    warnings: list[str] = field(default_factory=list)

    #: Fields stored as JSON text.
    JSON_FIELDS = ("tags", "system_tags", "script", "runtime", "packages")

    def to_row(self) -> dict[str, Any]:
        row = dict(self.__dict__)
        del row["warnings"]
        for key in self.JSON_FIELDS:
            row[key] = json.dumps(row[key])
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> TaskRecord:
        """The record of a stored row. A value that cannot be read (damaged, or written by
        something other than chaintrack) never fails the read: the field gets its default and
        ``warnings`` says which field and why."""
        data = dict(row)
        warnings: list[str] = []
        for key in cls.JSON_FIELDS:
            data[key] = _json_field(key, data[key], warnings)
        for key in ("created", "last_update", "started", "completed"):
            value = data.get(key)
            if value is None and key in ("started", "completed"):
                continue
            if not _is_time(value):
                warnings.append(f"{key} is not a time ({_shown(value)})")
                data[key] = None if key in ("started", "completed") else 0.0
            else:
                data[key] = float(cast(float, value))
        for key in ("id", "project", "name", "type", "status", "status_reason", "comment", "user"):
            if not isinstance(data.get(key), str):
                warnings.append(f"{key} is not text ({_shown(data.get(key))})")
                data[key] = "" if data.get(key) is None else str(data[key])
        if data.get("parent") is not None and not isinstance(data["parent"], str):
            data["parent"] = str(data["parent"])
        return cls(**data, warnings=warnings)


#: Times are seconds since 1970 up to the end of year 9999 (what a date can show).
MAX_TIME = 253_402_300_799.0


def _is_time(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= MAX_TIME
    )


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _json_field(key: str, raw: Any, warnings: list[str]) -> Any:
    expected: type = dict if key in ("script", "runtime") else list
    try:
        value = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
    except (ValueError, RecursionError):
        value = None
    if isinstance(value, dict) and expected is dict:
        return value
    if isinstance(value, list) and expected is list and all(isinstance(v, str) for v in value):
        return value
    warnings.append(f"{key} could not be read ({_shown(raw)})")
    return expected()


#: The ``type`` of a parameter row that marks the parameter deleted (``task.delete_parameter``):
#: stores upsert parameters, so deleting writes this in place of the value, and every read of
#: parameters leaves such rows out.
DELETED_PARAMETER = "<deleted>"


@dataclass(frozen=True)
class ParameterRecord:
    task_id: str
    section: str
    name: str
    value: str
    type: str
    description: str = ""


@dataclass(frozen=True)
class ConfigurationRecord:
    task_id: str
    name: str
    type: str
    value: str
    description: str = ""


@dataclass(frozen=True)
class ArtifactRecord:
    task_id: str
    name: str
    type: str
    uri: str
    content_size: int
    hash: str
    timestamp: float
    preview: str = ""
    mode: str = "output"
    meta: str = "{}"


@dataclass(frozen=True)
class ModelRecord:
    id: str
    task_id: str
    name: str
    created: float
    mode: str = "output"
    framework: str = ""
    config_text: str = ""
    uri: str = ""
    tags: str = "[]"


@dataclass
class WriteBatch:
    """Everything the writer collected since its last write, applied in one transaction.

    Applying the same batch twice leaves the store as applying it once: new tasks and events are
    inserted only if absent, everything else is an upsert.
    """

    new_tasks: list[TaskRecord] = field(default_factory=list)
    task_updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    parameters: list[ParameterRecord] = field(default_factory=list)
    configurations: list[ConfigurationRecord] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    artifacts: list[ArtifactRecord] = field(default_factory=list)
    models: list[ModelRecord] = field(default_factory=list)

    def __len__(self) -> int:
        return (
            len(self.new_tasks)
            + len(self.task_updates)
            + len(self.parameters)
            + len(self.configurations)
            + len(self.events)
            + len(self.artifacts)
            + len(self.models)
        )


@dataclass(frozen=True)
class Event:
    """An event read back from a store."""

    kind: str
    ts: float
    metric: str | None
    variant: str | None
    iter: int | None
    value: float | None
    level: int | None
    text: str | None
    data: Any


@dataclass(frozen=True)
class TaskQuery:
    """Filters of :meth:`Store.find_tasks`; every given filter must match."""

    project: str | None = None
    name: str | None = None
    tags: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    limit: int | None = None
    #: Also match sub-projects of ``project`` (names nest with ``/``).
    include_subprojects: bool = False
