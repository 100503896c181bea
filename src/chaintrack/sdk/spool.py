"""Queue items as JSON lines: how the writer spills to disk and replays what it spilled."""

from __future__ import annotations

import base64
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
#: (UPLOAD, blob key, bytes or None, source file path or None, ArtifactRecord or None): a file
#: the writer puts in the blob store; with a record, it then stores the artifact's row, with the
#: size and sha256 of what it uploaded.
UPLOAD = "f"
#: (CALL, function): the writer runs ``function()`` on its thread and writes the items it
#: returns. Never spilled (a function cannot be); it is for work done per LLM call or less often.
CALL = "x"

Item = tuple[Any, ...]

_RECORD_TYPES: dict[str, Any] = {
    NEW_TASK: TaskRecord,
    PARAMETER: ParameterRecord,
    CONFIGURATION: ConfigurationRecord,
    ARTIFACT: ArtifactRecord,
    MODEL: ModelRecord,
}


def _to_json(item: Item) -> list[Any]:
    tag = item[0]
    if tag == EVENT:
        return [tag, item[1]]
    if tag == TASK_UPDATE:
        return [tag, item[1], item[2]]
    if tag in _RECORD_TYPES:
        return [tag, dict(item[1].__dict__)]
    if tag == UPLOAD:
        data = None if item[2] is None else base64.b64encode(item[2]).decode("ascii")
        record = None if item[4] is None else dict(item[4].__dict__)
        return [tag, item[1], data, item[3], record]
    raise ValueError(f"queue item {tag!r} cannot be spilled")


def encode(item: Item) -> str:
    """One JSON line for a queue item (barriers and calls are never spilled)."""
    return json.dumps(_to_json(item))


def encode_block(items: list[Item]) -> str:
    """One JSON line for many items: ``[[item], [item], …]``. One ``json.dumps`` for the block
    costs a fraction of one per item, which matters when a burst overflows the queue."""
    return json.dumps([_to_json(i) for i in items])


def decode_line(line: str) -> list[Item]:
    """The items of a spool line: a block (see :func:`encode_block`) or a single item."""
    data = json.loads(line)
    if data and isinstance(data[0], list):
        return [_from_json(d) for d in data]
    return [_from_json(data)]


def decode(line: str) -> Item:
    return _from_json(json.loads(line))


def _from_json(data: list[Any]) -> Item:
    tag = data[0]
    if tag == EVENT:
        row: EventRow = tuple(data[1])
        return (tag, row)
    if tag == TASK_UPDATE:
        return (tag, data[1], data[2])
    if tag == UPLOAD:
        payload = None if data[2] is None else base64.b64decode(data[2])
        record = None if data[4] is None else ArtifactRecord(**data[4])
        return (tag, data[1], payload, data[3], record)
    return (tag, _RECORD_TYPES[tag](**data[1]))
