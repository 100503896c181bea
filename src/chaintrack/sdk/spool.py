"""How the writer spills queue items to disk and reads them back.

Spool files hold blocks of items: a header line, then for each block a 4-byte length and the
block in Python's ``marshal`` format (lists, strings and numbers only: ten times cheaper to
encode and decode than JSON, which matters when a burst overflows the queue). Files of failed
items, meant to be read by people, are JSON lines; readers accept both.
"""

from __future__ import annotations

import base64
import json
import marshal
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

from chaintrack.sdk.items import (  # the tags, re-exported for the writer
    ARTIFACT,
    BARRIER,
    CALL,
    CONFIGURATION,
    EVENT,
    MODEL,
    NEW_TASK,
    PARAMETER,
    TASK_UPDATE,
    UPLOAD,
    Item,
)
from chaintrack.store.records import (
    ArtifactRecord,
    ConfigurationRecord,
    EventRow,
    ModelRecord,
    ParameterRecord,
    TaskRecord,
)

__all__ = [
    "ARTIFACT", "BARRIER", "CALL", "CONFIGURATION", "EVENT", "MODEL", "NEW_TASK", "PARAMETER",
    "TASK_UPDATE", "UPLOAD", "Item",
]  # fmt: skip

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


MAGIC = b"chaintrack spool 1\n"
_LENGTH = 4


def pack_block(items: list[Item]) -> bytes:
    """One block of a spool file: its length, then the items in ``marshal`` format."""
    # An event is a tuple of strings and numbers: marshalled as it is (the common case, and
    # read back as it is); other items as their JSON-able lists.
    payload = marshal.dumps([i if i[0] == EVENT else _to_json(i) for i in items])
    return len(payload).to_bytes(_LENGTH, "little") + payload


def read_blocks(path: Path, on_damaged: Callable[[], None]) -> Generator[list[Item], None, None]:
    """The items of a spool file, a block at a time. A damaged block or line (a crash cut it
    short) calls ``on_damaged`` and is skipped."""
    with path.open("rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            f.seek(0)
            for raw in f:
                line = raw.decode("utf-8", "replace")
                if not line.strip():
                    continue
                try:
                    yield decode_line(line)
                except Exception:
                    on_damaged()
            return
        while header := f.read(_LENGTH):
            payload = f.read(int.from_bytes(header, "little")) if len(header) == _LENGTH else b""
            if len(header) < _LENGTH or len(payload) < int.from_bytes(header, "little"):
                on_damaged()
                return
            try:
                # The spool folder is the user's own, like the database beside it; marshal
                # builds only lists, strings and numbers from it.
                block = marshal.loads(payload)  # noqa: S302
                yield [d if type(d) is tuple else _from_json(list(d)) for d in block]
            except Exception:
                on_damaged()


def read_file(path: Path) -> list[Item]:
    """Every readable item of a spool file (damaged parts skipped)."""
    return [item for block in read_blocks(path, lambda: None) for item in block]


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
