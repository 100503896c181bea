"""Decoded OTLP spans as one write batch of the store: span events and the tasks they need.

Each span becomes an event of kind ``span`` whose identity (``writer``, ``seq``) is derived from
its (trace id, span id): an exporter that sends a batch again after a lost answer stores every
span once, however often it retries and whichever server process takes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import orjson

from chaintrack.otel import tasks
from chaintrack.otel.decode import OtelSpan
from chaintrack.otel.mapping import payload
from chaintrack.store.records import SPAN, EventRow, WriteBatch

_MASK = (1 << 63) - 1  # writer and seq are signed 64-bit columns


def identity(trace_id: str, span_id: str) -> tuple[int, int]:
    """(writer, seq) of the span event of (trace id, span id), both hex."""
    high, low = int(trace_id[:16], 16), int(trace_id[16:], 16)
    return (high ^ low) & _MASK, int(span_id, 16) & _MASK


class Converted:
    """The batch to write and what was refused."""

    def __init__(self) -> None:
        self.batch = WriteBatch()
        self.spans = 0
        self.rejected = 0
        self.reason = ""

    def refuse(self, count: int, reason: str) -> None:
        self.rejected += count
        self.reason = self.reason or reason


def convert(spans: Iterable[OtelSpan], task_exists: Callable[[str], bool]) -> Converted:
    """The write batch of ``spans``; spans for a ``chaintrack.task_id`` that ``task_exists``
    denies are refused (counted, not written)."""
    out = Converted()
    now = time.time()
    created: dict[str, tuple[str, str]] = {}
    targets: dict[tuple[int, int], tasks.Target] = {}  # (resource, day) -> target
    events: list[EventRow] = out.batch.events
    dumps = orjson.dumps
    for span in spans:
        given = span.attributes.get(tasks.TASK_ID)  # a span linked to a LangChain run's task
        if given:
            target = tasks.Target(str(given)[:32], None)
        else:
            key = (id(span.resource), span.start_unix_nano // 86_400_000_000_000)
            found = targets.get(key)
            if found is None:
                found = targets[key] = tasks.target(span.resource, span.start_unix_nano)
            target = found
        if target.created is None:
            if not task_exists(target.task_id):
                out.refuse(1, f"resource attribute {tasks.TASK_ID}={target.task_id!r} names no "
                           "task of this server: create the task first, or send "
                           f"{tasks.PROJECT} and {tasks.TASK} instead")  # fmt: skip
                continue
        else:
            created.setdefault(target.task_id, target.created)
        data = payload(span)
        writer, seq = identity(span.trace_id, span.span_id)
        text = dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
        events.append((target.task_id, writer, seq, SPAN, data["end_time"], None, None, None,
                       None, None, None, text))  # fmt: skip
        out.spans += 1
    for task_id, (project, name) in created.items():
        out.batch.new_tasks.append(tasks.new_task(task_id, project, name, now))
    touched = {e[0] for e in events}
    out.batch.task_updates.extend((task_id, {"last_update": now}) for task_id in sorted(touched))
    return out
