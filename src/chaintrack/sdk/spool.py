"""Queue items as JSON lines: how the writer spills to disk and replays what it spilled."""

from __future__ import annotations

import json
from typing import Any

from chaintrack.store.records import (
    ArtifactRecord,
    ConfigurationRecord,
    EventRow,
    ModelRecord,
    ParameterRecord,
    TaskRecord,
)

# Item tags: the first element of every queue item.
EVENT = "e"
NEW_TASK = "t"
TASK_UPDATE = "u"
PARAMETER = "p"
CONFIGURATION = "c"
ARTIFACT = "a"
MODEL = "m"
BARRIER = "b"

Item = tuple[Any, ...]

_RECORD_TYPES: dict[str, Any] = {
    NEW_TASK: TaskRecord,
    PARAMETER: ParameterRecord,
    CONFIGURATION: ConfigurationRecord,
    ARTIFACT: ArtifactRecord,
    MODEL: ModelRecord,
}


def encode(item: Item) -> str:
    """One JSON line for a queue item (barriers are never spilled)."""
    tag = item[0]
    if tag == EVENT:
        return json.dumps([tag, list(item[1])])
    if tag == TASK_UPDATE:
        return json.dumps([tag, item[1], item[2]])
    if tag in _RECORD_TYPES:
        return json.dumps([tag, dict(item[1].__dict__)])
    raise ValueError(f"queue item {tag!r} cannot be spilled")


def decode(line: str) -> Item:
    data = json.loads(line)
    tag = data[0]
    if tag == EVENT:
        row: EventRow = tuple(data[1])
        return (tag, row)
    if tag == TASK_UPDATE:
        return (tag, data[1], data[2])
    return (tag, _RECORD_TYPES[tag](**data[1]))
