"""The server's write path: requests enqueue their batch; one thread writes them in bulk.

A request hands its decoded batch to a bounded queue and waits for the commit, so a client's
retry after an answer never loses data and a retry after a lost answer never duplicates it
(writes are idempotent). The thread ``chaintrack-ingest`` merges what is waiting (up to
``MERGE_ITEMS`` items) into one transaction; when a merged write fails it writes each request's
batch alone, so one bad batch fails only its own request. A full queue answers 503 at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from dataclasses import dataclass

from chaintrack.store.base import Store
from chaintrack.store.records import WriteBatch

log = logging.getLogger("chaintrack.server")

MERGE_ITEMS = 20_000


class QueueFullError(Exception):
    """The ingest queue holds as many items as it may; the client should retry shortly."""


@dataclass
class _Pending:
    batch: WriteBatch
    size: int
    future: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # the client went away
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


class Ingest:
    """The bounded queue and its writer thread (started on the first batch)."""

    def __init__(self, store: Store, max_items: int) -> None:
        self.store = store
        self.max_items = max_items
        self._queue: deque[_Pending] = deque()
        self._items = 0
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.written = 0

    @property
    def queued(self) -> int:
        return self._items

    async def submit(self, batch: WriteBatch) -> None:
        """Write ``batch``; returns once it is committed. QueueFullError when the queue is full
        (a batch larger than the whole queue is taken when the queue is empty)."""
        loop = asyncio.get_running_loop()
        pending = _Pending(batch, max(1, len(batch)), loop.create_future(), loop)
        with self._cond:
            if self._closed:
                raise QueueFullError("the server is shutting down")
            if self._items and self._items + pending.size > self.max_items:
                raise QueueFullError(f"{self._items} items are waiting to be written")
            self._items += pending.size
            self._queue.append(pending)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="chaintrack-ingest", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        await pending.future

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued (within ``timeout`` seconds), then stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _take(self) -> list[_Pending] | None:
        with self._cond:
            while not self._queue:
                if self._closed:
                    return None
                self._cond.wait()
            taken = [self._queue.popleft()]
            size = taken[0].size
            while self._queue and size + self._queue[0].size <= MERGE_ITEMS:
                taken.append(self._queue.popleft())
                size += taken[-1].size
            return taken

    def _run(self) -> None:
        while (taken := self._take()) is not None:
            if len(taken) == 1:
                self._write_each(taken)
            else:
                merged = WriteBatch()
                for p in taken:
                    for name in merged.__dataclass_fields__:
                        getattr(merged, name).extend(getattr(p.batch, name))
                try:
                    self.store.write(merged)
                except Exception:
                    self._write_each(taken)
                else:
                    self._done(taken, None)
            with self._cond:
                self._items -= sum(p.size for p in taken)

    def _write_each(self, taken: list[_Pending]) -> None:
        for p in taken:
            try:
                self.store.write(p.batch)
            except Exception as exc:
                log.exception("chaintrack server: writing a batch of %d items failed", p.size)
                self._done([p], exc)
            else:
                self._done([p], None)

    def _done(self, taken: list[_Pending], error: BaseException | None) -> None:
        for p in taken:
            if error is None:
                self.written += p.size
            with contextlib.suppress(RuntimeError):  # the event loop is closed: nobody waits
                p.loop.call_soon_threadsafe(_settle, p.future, error)
