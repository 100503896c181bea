"""The one seam between a producer of events and the writer: a :class:`Source`.

A producer (the LangChain handler, the OpenTelemetry span processor, an evaluation) asks its
task for a source with a ``convert`` function, then calls :meth:`Source.put` with whatever it
captured. ``put`` is an append to a deque (and, when the writer sleeps, one wake-up): no thread
of the producer's own, no I/O. The writer thread drains every source that has something, calls
``convert`` on the captured values in the order they were put, and writes the items it returns
in its next transaction. So one event passes one queue and one background thread, and the
producer knows nothing of the writer but this class.

The Logger's reports need no conversion; they go to the writer's queue directly (a source
whose ``convert`` is the identity would only add a step).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from chaintrack.sdk.items import Item

if TYPE_CHECKING:
    from chaintrack.sdk.writer import Writer

log = logging.getLogger("chaintrack")

#: Turns what a producer captured into queue items (runs on the writer thread).
Convert = Callable[[list[Any]], Iterable[Item]]


class Source:
    """A producer's queue that the writer drains (see the module docstring)."""

    __slots__ = ("__weakref__", "_scheduled", "convert", "pending", "writer")

    def __init__(self, writer: Writer, convert: Convert) -> None:
        self.writer = writer
        self.convert = convert
        self.pending: deque[Any] = deque()
        self._scheduled = False

    def put(self, captured: Any) -> None:
        """Queue ``captured`` for ``convert`` on the writer thread. O(1); never blocks."""
        self.pending.append(captured)
        if len(self.pending) >= self.writer.max_items:
            # The writer is far behind (or stopped): convert here, so that what was captured
            # goes to the writer's queue, which spills to disk, rather than piling up in memory.
            for item in self.drain():
                self.writer.put(item)
            return
        if not self._scheduled:
            self._scheduled = True
            self.writer._ready(self)

    def take(self) -> list[Any]:
        """Everything put so far, in order (the writer's side, or a read on the caller's)."""
        self._scheduled = False  # before taking: a put after this schedules the source again
        pending = self.pending
        taken = []
        while pending:
            taken.append(pending.popleft())
        return taken

    def drain(self) -> list[Item]:
        """Convert everything put so far; the items to write. Errors are logged, not raised."""
        taken = self.take()
        if not taken:
            return []
        try:
            return list(self.convert(taken))
        except Exception:
            log.exception("chaintrack: turning captured events into records failed")
            return []

    def forget(self) -> None:
        """Drop what is queued (a forked child: its parent writes it)."""
        self.pending.clear()
        self._scheduled = False
