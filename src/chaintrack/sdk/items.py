"""What the writer's queue holds: one typed constructor per kind of item.

Every producer builds its items here, so the shapes are written out once and mypy checks each
caller's arguments: an event is ``(EVENT, row)`` with ``row`` in the order of
``schema.EVENT_COLUMNS``; a task's fields are ``(NEW_TASK, TaskRecord)`` or
``(TASK_UPDATE, task id, fields)``; records are ``(tag, record)``. Items stay plain tuples of
builtins and records so that a burst can spill to disk cheaply (``spool.py``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal

from chaintrack.store.records import (
    ArtifactRecord,
    ConfigurationRecord,
    EventRow,
    ModelRecord,
    ParameterRecord,
    TaskRecord,
)

if TYPE_CHECKING:
    from chaintrack.sdk.writer import Writer

# Item tags: the first element of every queue item.
EVENT: Literal["e"] = "e"
NEW_TASK: Literal["t"] = "t"
TASK_UPDATE: Literal["u"] = "u"
PARAMETER: Literal["p"] = "p"
CONFIGURATION: Literal["c"] = "c"
ARTIFACT: Literal["a"] = "a"
MODEL: Literal["m"] = "m"
BARRIER: Literal["b"] = "b"
#: (UPLOAD, blob key, bytes or None, source file path or None, ArtifactRecord or None): a file
#: the writer puts in the blob store; with a record, it then stores the artifact's row, with the
#: size and sha256 of what it uploaded.
UPLOAD: Literal["f"] = "f"
#: (CALL, function): the writer runs ``function()`` on its thread and writes the items it
#: returns. Never spilled (a function cannot be).
CALL: Literal["x"] = "x"

#: A queue item (see the constructors below for each shape).
Item = tuple[Any, ...]
EventItem = tuple[Literal["e"], EventRow]

_time = time.time


def event(
    writer: Writer,
    task_id: str,
    kind: str,
    ts: float | None = None,
    metric: str | None = None,
    variant: str | None = None,
    iteration: int | None = None,
    value: float | None = None,
    level: int | None = None,
    text: str | None = None,
    data: str | None = None,
) -> EventItem:
    """An event of ``task_id``, numbered by ``writer`` (its id and next sequence number: the
    event's identity, so that a replay stores it once); ``ts`` defaults to now."""
    return (
        EVENT,
        (task_id, writer.wid, next(writer.seq), kind, _time() if ts is None else ts, metric,
         variant, iteration, value, level, text, data),
    )  # fmt: skip


def new_task(record: TaskRecord) -> Item:
    return (NEW_TASK, record)


def task_update(task_id: str, fields: dict[str, Any]) -> Item:
    return (TASK_UPDATE, task_id, fields)


def record(
    item: ParameterRecord | ConfigurationRecord | ArtifactRecord | ModelRecord,
) -> Item:
    """A parameter, configuration object, artifact or model row."""
    if isinstance(item, ParameterRecord):
        return (PARAMETER, item)
    if isinstance(item, ConfigurationRecord):
        return (CONFIGURATION, item)
    if isinstance(item, ArtifactRecord):
        return (ARTIFACT, item)
    return (MODEL, item)


def upload(key: str, data: bytes | None, source: str | None, row: ArtifactRecord | None) -> Item:
    return (UPLOAD, key, data, source, row)


def barrier(done: threading.Event) -> Item:
    return (BARRIER, done)


def call(function: Callable[[], Iterable[Item]]) -> Item:
    return (CALL, function)
