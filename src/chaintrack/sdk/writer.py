"""The background writer: the only place where reports turn into store writes.

The caller's thread appends a small tuple to a deque and returns; a thread named
``chaintrack-writer`` batches what arrived and applies it to the store in one transaction.
When the deque holds ``CHAINTRACK_QUEUE_SIZE`` items, further items are appended to a spool file
instead (the app is never blocked and nothing is dropped); the writer replays that file once it
has caught up. Spool files left by a process that died are replayed by the next writer of the
same store. Writes are idempotent, so a replay never duplicates.

Unreachable store (a tracking server that is down): a write that raises StoreUnavailableError is
retried with backoff for as long as it takes, never dropped nor saved as failed; meanwhile new
items go to the spool file on disk, so a crash during the outage loses at most a spill block.

Order: items reach the store in the order they were put. Once an item has spilled, later items
spill too until the writer has caught up with the queue and taken the spool file, so a status
change can never be applied before the creation of its task. (Events are ordered by their
timestamps when read, but task updates are applied in the order they arrive.)
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import logging
import os
import random
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from chaintrack.errors import StoreUnavailableError
from chaintrack.sdk import spool
from chaintrack.sdk.lostfile import LostFileGuard
from chaintrack.sdk.process import block_process_signals
from chaintrack.sdk.recovery import BATCH_MAX, SpoolRecovery
from chaintrack.sdk.source import Convert, Source
from chaintrack.sdk.uploads import upload
from chaintrack.store import redact
from chaintrack.store.base import Store
from chaintrack.store.records import WriteBatch

log = logging.getLogger("chaintrack")

#: Spilled items are written to the spool file this many at a time (one JSON line).
SPILL_BLOCK = 1_000
#: Most text rows indexed after one write (about 0.1 s of work).
_INDEX_CHUNK = 2_000
_IDLE_WAIT = 0.5
_RETRIES = 3
#: How long ``shutdown`` waits for the thread to end once the queue is drained.
_JOIN_TIMEOUT = 5.0
#: Backoff between attempts to reach an unreachable store, and how long an exit waits for one
#: (what is not sent by then stays in the spool folder for the next process of this store).
_OFFLINE_BACKOFF = (0.5, 5.0)
_OFFLINE_EXIT_WAIT = 5.0
#: With this many items queued the writer writes at once rather than waiting for its interval.
_PACE_QUEUE_LIMIT = 10_000


def _new_writer_id() -> int:
    return random.SystemRandom().getrandbits(62)


class Writer(SpoolRecovery):
    """One per store per process; see the module docstring."""

    def __init__(
        self, store: Store, spool_dir: Path, max_items: int, interval: float = 0.05
    ) -> None:
        self.store = store
        self._interval = interval
        self._lost_file = LostFileGuard(store)
        self._spool_dir = spool_dir
        self.max_items = max_items
        self._key = hashlib.sha1(store.uri.encode(), usedforsecurity=False).hexdigest()[:12]
        self._reset_state()

    def _reset_state(self) -> None:
        self.wid = _new_writer_id()
        self.seq = itertools.count(1)
        self._queue: deque[spool.Item] = deque()
        self._wake = threading.Event()
        self._idle = False
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        # Re-entrant: a signal handler (SIGTERM) that drains may interrupt a put() that holds it.
        self._spill_lock = threading.RLock()
        # The spool file stays open while items spill: opening it for every item cost ~50 µs
        # of the caller's time (benchmarks/bench_sdk.py). After a fork the child drops the
        # parent's handle without closing it; it opens its own file (its own pid in the name).
        self._spool_file: BinaryIO | None = None
        self._overflow: list[spool.Item] = []
        self._spilled = 0
        self._stop = False
        # Held by the thread while it uses the store: os.fork() waits for it (see _before_fork),
        # so a child never inherits a SQLite connection in the middle of a transaction.
        self._io_lock = threading.Lock()
        # The batch the thread is writing: spilled by shutdown() if the store hangs.
        self._inflight: list[spool.Item] = []
        # Producers' sources with something to convert (see source.py), and every source, so
        # that a forked child can drop what its parent will write.
        self._ready_sources: deque[Source] = deque()
        self._sources: weakref.WeakSet[Source] = weakref.WeakSet()
        # Set by flush(): write now, without waiting for the end of the batching interval.
        self._urgent = False
        self._last_write = 0.0
        # Set while the store is unreachable: new items go straight to the spool file.
        self._offline = False
        # Set when a wait gave up on the unreachable store; cleared when it is reachable again
        # (later waits, such as the exit's after close(), then spill at once).
        self._gave_up_offline = False
        self._spool_stamp = 0
        self.written = 0
        self.spilled_total = 0
        self.failed_total = 0
        self.dropped_total = 0
        # The spool file could not be written (its disk is full): when to try again.
        self._spool_retry_at = 0.0
        self._spool_warned = False
        self._dropped_warned_at = -1e9

    @property
    def spool_path(self) -> Path:
        return self._spool_dir / f"{self._key}-{os.getpid()}-{self.wid:x}.spool"

    @property
    def failed_path(self) -> Path:
        return self._spool_dir / f"{self._key}-{os.getpid()}-{self.wid:x}.failed"

    # -- the caller's side -----------------------------------------------------------------

    def put(self, item: spool.Item) -> None:
        """Hand ``item`` to the writer. O(1); never blocks on I/O unless the queue is full."""
        if self._thread is None:
            self._start()
        if self._spilled or self._offline or len(self._queue) >= self.max_items:
            self._spill_one(item)
            return
        self._queue.append(item)
        if self._idle:
            self._idle = False
            self._wake.set()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything put so far is in the store. False if ``timeout`` ran out.

        During exit (see :func:`begin_exit`) the wait also ends at the exit deadline.
        """
        from chaintrack.sdk.writers import capped

        timeout = capped(timeout)
        if self._thread is None:
            if not self._queue and not self._spilled:
                return True
            self._start()
        if threading.current_thread() is self._thread:
            return True
        done = threading.Event()
        self._queue.append((spool.BARRIER, done))
        self._urgent = True
        self._wake.set()
        if self._wait(done, timeout):
            return True
        if self._offline:
            leftover = [i for i in self._take_queue() if i[0] != spool.BARRIER]
            with self._spill_lock:
                if leftover:
                    self._spill(leftover)
                self._write_overflow()
        return False

    def _wait(self, done: threading.Event, timeout: float | None) -> bool:
        """Wait for ``done`` until ``timeout``; once the store is found unreachable or
        unwritable, at most _OFFLINE_EXIT_WAIT more (close() must not hang the application:
        what is queued then stays on disk for the next process)."""
        now = time.monotonic()
        deadline = None if timeout is None else now + timeout
        offline_deadline: float | None = None
        while True:
            step = 0.1 if deadline is None else max(0.0, min(0.1, deadline - now))
            if done.wait(step):
                return True
            now = time.monotonic()
            if self._offline:
                if offline_deadline is None:
                    wait = 0.0 if self._gave_up_offline else _OFFLINE_EXIT_WAIT
                    offline_deadline = now + wait
                if now >= offline_deadline:
                    self._gave_up_offline = True
                    return False
            if deadline is not None and now >= deadline:
                return False

    @property
    def offline(self) -> bool:
        """True while the store is found unreachable or unwritable."""
        return self._offline

    def pending(self) -> int:
        return len(self._queue) + self._spilled

    def source(self, convert: Convert) -> Source:
        """A new producer's queue, drained by this writer's thread (see ``source.py``)."""
        created = Source(self, convert)
        self._sources.add(created)
        return created

    def _ready(self, source: Source) -> None:
        """``source`` has something to convert (called by its first put since it was drained)."""
        self._ready_sources.append(source)
        if self._thread is None:
            self._start()
        if self._idle:
            self._idle = False
            self._wake.set()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None:
                return
            self._stop = False
            thread = threading.Thread(target=self._run, name="chaintrack-writer", daemon=True)
            self._thread = thread
            thread.start()
        from chaintrack.sdk.writers import drain_at_multiprocessing_exit

        drain_at_multiprocessing_exit()

    def _spill(self, items: list[spool.Item]) -> None:
        """Hold ``items`` for the spool file; they are written to it in blocks of SPILL_BLOCK.

        Up to a block of items stays in memory (lost only if the process is killed, like the
        queue itself); everything is in the file before a replay, a shutdown or a fork.
        """
        with self._spill_lock:
            self._overflow.extend(i for i in items if i[0] != spool.BARRIER)
            self._spilled += len(items)
            self.spilled_total += len(items)
            if len(self._overflow) >= SPILL_BLOCK:
                self._write_overflow()
        if self._idle:
            self._idle = False
            self._wake.set()

    def _spill_one(self, item: spool.Item) -> None:
        """:meth:`_spill` of one item (a burst past the queue's size: every put lands here)."""
        if item[0] == spool.BARRIER:
            self._spill([item])
            return
        with self._spill_lock:
            overflow = self._overflow
            overflow.append(item)
            self._spilled += 1
            self.spilled_total += 1
            if len(overflow) >= SPILL_BLOCK:
                self._write_overflow()
        if self._idle:
            self._idle = False
            self._wake.set()

    def _write_overflow(self) -> None:
        """Append the held items to the spool file (the caller holds ``_spill_lock``)."""
        if not self._overflow:
            return
        if self._spool_retry_at and time.monotonic() < self._spool_retry_at:
            self._hold_in_memory()
            return
        f = self._spool_file
        start = 0
        try:
            if f is None:
                self._spool_dir.mkdir(parents=True, exist_ok=True)
                # Unbuffered: a write the disk refuses leaves nothing behind to fail later.
                f = self._spool_file = self.spool_path.open("ab", buffering=0)
                if f.tell() == 0:
                    f.write(spool.MAGIC)
            start = f.tell()
            f.write(spool.pack_block(self._overflow))
            f.flush()  # in the OS's hands, as when the file was closed
        except OSError as exc:
            # The spool's own disk is full or unwritable: keep the items in memory (bounded)
            # and try the file again in a second. Never an exception in the application.
            if f is not None:
                with contextlib.suppress(OSError):
                    f.truncate(start)  # no half-written block in the file
            self._spool_retry_at = time.monotonic() + 1.0
            if not self._spool_warned:
                self._spool_warned = True
                log.warning(
                    "chaintrack: the spool folder %s cannot be written (%s): reports are held in "
                    "memory (up to CHAINTRACK_QUEUE_SIZE=%d) until it or the store can be "
                    "written again.",
                    self._spool_dir,
                    exc,
                    self.max_items,
                )
            self._hold_in_memory()
            return
        self._spool_retry_at = 0.0
        self._overflow = []

    def _hold_in_memory(self) -> None:
        """Past CHAINTRACK_QUEUE_SIZE items held for an unwritable spool, the newest are dropped,
        counted, with a warning at most every ten seconds: the last resort, when neither the
        store nor the spool folder can be written."""
        excess = len(self._overflow) - self.max_items
        if excess <= 0:
            return
        # Only events are dropped: tasks, their updates (the final status among them),
        # parameters and artifacts are few and always kept.
        kept = self._overflow[: self.max_items]
        kept += [i for i in self._overflow[self.max_items :] if i[0] != spool.EVENT]
        excess = len(self._overflow) - len(kept)
        self._overflow = kept
        self._spilled -= excess
        self.dropped_total += excess
        if not excess:
            return
        now = time.monotonic()
        if now - self._dropped_warned_at >= 10.0:
            self._dropped_warned_at = now
            log.warning(
                "chaintrack: neither the store nor the spool folder %s can be written: %d "
                "reports were dropped so far (memory is bounded by CHAINTRACK_QUEUE_SIZE=%d).",
                self._spool_dir,
                self.dropped_total,
                self.max_items,
            )

    def _close_spool(self) -> None:
        """Close the spool file (the caller holds ``_spill_lock``)."""
        self._write_overflow()
        if self._spool_file is not None:
            with contextlib.suppress(OSError):
                self._spool_file.close()
            self._spool_file = None

    def after_fork(self) -> None:
        """In a forked child: start afresh. The parent writes what it had queued."""
        sources = list(self._sources)
        self._reset_state()
        for source in sources:
            source.forget()
            self._sources.add(source)

    def shutdown(self, timeout: float) -> None:
        """Drain within ``timeout`` seconds; spill what is still queued after that.

        The writer stays usable: a later ``put`` starts a new thread (an application's own
        SIGTERM handler may keep the process running after chaintrack drained).
        """
        try:
            self._shutdown(timeout)
        finally:
            if self.dropped_total:
                log.warning(
                    "chaintrack: %d reports of this process were dropped in all, because neither "
                    "the store nor the spool folder %s could be written.",
                    self.dropped_total,
                    self._spool_dir,
                )

    def _shutdown(self, timeout: float) -> None:
        thread = self._thread
        if thread is None:
            return
        if self._offline:
            timeout = min(timeout, _OFFLINE_EXIT_WAIT)
        if not self.flush(timeout):
            # The store is slow or hangs. The batch being written and the queue go to the spool
            # file (a duplicate of what the thread may still write is harmless: writes are
            # idempotent), to be written by the next writer of this store.
            leftover = [*self._inflight, *self._take_queue()]
            with self._spill_lock:
                if leftover:
                    self._spill(leftover)
                self._close_spool()
            why = f"not written within CHAINTRACK_DRAIN_TIMEOUT={timeout}s"
            if self._offline:
                why = "the store is unreachable"
            log.warning(
                "chaintrack: %d events are not stored yet (%s); they are kept in %s and will be "
                "written the next time this store is opened.",
                len(leftover),
                why,
                self.spool_path,
            )
            self._stop = True
            self._wake.set()
            return
        self._stop = True
        self._wake.set()
        thread.join(_JOIN_TIMEOUT)
        if thread.is_alive():
            return
        with self._start_lock:
            self._thread = None
            self._stop = False
        stranded = self._take_queue()  # put by another thread while this one stopped
        with self._spill_lock:
            if stranded:
                self._spill(stranded)
            self._close_spool()

    def _take_queue(self) -> list[spool.Item]:
        taken: list[spool.Item] = self._drain_sources()
        while self._queue:
            with contextlib.suppress(IndexError):
                item = self._queue.popleft()
                if item[0] == spool.BARRIER:
                    item[1].set()
                else:
                    taken.append(item)
        return taken

    # -- the writer thread -----------------------------------------------------------------

    def _run(self) -> None:
        block_process_signals()
        with self._io_lock:
            self._guarded(self._recover_orphans)
        while True:
            self._pace()
            # Sources first: what a producer captured before a flush() is converted before the
            # flush's barrier is reached below.
            items: list[spool.Item] = self._drain_sources()
            barriers: list[threading.Event] = []
            queue = self._queue
            # Up to a barrier: what was put before a flush() must be written (spool included)
            # before the flush returns.
            uploads = False
            while queue and len(items) < BATCH_MAX and not barriers:
                item = queue.popleft()
                tag = item[0]
                if tag == spool.EVENT:  # the common case first
                    items.append(item)
                elif tag == spool.BARRIER:
                    barriers.append(item[1])
                else:
                    uploads = uploads or tag == spool.UPLOAD
                    items.append(item)
            if items:
                self._guarded(self._lost_file.check, self.written)
                self._inflight = items
                uploads = uploads or any(i[0] == spool.UPLOAD for i in items)
                with self._io_lock:
                    self._guarded(self._write, items, uploads)
                self._inflight = []
                self._last_write = time.monotonic()
                self._guarded(self._index_text, barriers)
            if self._spilled and (barriers or not queue):
                with self._io_lock:
                    self._guarded(self._replay, self.spool_path)
            if barriers and self._spool_folder_changed():
                # Before a flush returns: what processes that ended since (fork children that
                # could not drain in time, among them) left in the spool folder.
                with self._io_lock:
                    self._guarded(self._recover_orphans)
            for barrier in barriers:
                barrier.set()
            if items or barriers:
                continue
            if self._stop and not self._spilled:
                return
            self._idle = True
            if self._queue or self._spilled or self._ready_sources:
                self._idle = False
                continue
            self._guarded(self._index_text, barriers)
            self._wake.wait(_IDLE_WAIT)
            self._wake.clear()
            self._idle = False

    def _index_text(self, barriers: list[threading.Event]) -> None:
        """After a write that emptied the queue, and when idle (no flush waiting, not
        closing): index and total a bounded chunk of the spans the store holds waiting
        (``store/textindex.py``; a store behind a server indexes its own)."""
        index = getattr(self.store, "index_text", None)
        if index is None or self._queue or barriers or self._stop:
            return
        with self._io_lock:
            index(limit=_INDEX_CHUNK)

    def _spool_folder_changed(self) -> bool:
        """Whether a file was added to, renamed in or removed from the spool folder since the
        last look (one stat call)."""
        try:
            stamp = self._spool_dir.stat().st_mtime_ns
        except OSError:
            return False
        changed = stamp != self._spool_stamp
        self._spool_stamp = stamp
        return changed

    def _drain_sources(self) -> list[spool.Item]:
        drained: list[spool.Item] = []
        ready = self._ready_sources
        while ready:
            try:
                source = ready.popleft()
            except IndexError:  # taken by a shutdown on another thread
                break
            drained.extend(source.drain())
        return drained

    def _pace(self) -> None:
        """Wait until ``CHAINTRACK_WRITE_INTERVAL`` has passed since the last write, so that
        a stream of small reports is written in a few large transactions (a commit costs more
        than the rows in it), unless a flush waits or the queue is large. This interval bounds
        what a killed process can lose (see docs/store.md)."""
        if self._urgent or self._stop:
            self._urgent = False
            return
        wait = self._last_write + self._interval - time.monotonic()
        if wait > 0 and len(self._queue) < _PACE_QUEUE_LIMIT:
            self._wake.wait(wait)
            self._wake.clear()
        self._urgent = False

    @staticmethod
    def _guarded(step: Callable[..., object], *args: Any) -> None:
        """Run a step of the thread; an unexpected error is logged and the thread goes on."""
        try:
            step(*args)
        except Exception:
            log.exception("chaintrack: the background writer hit an unexpected error")

    def _build(self, items: list[spool.Item]) -> WriteBatch:
        batch = WriteBatch()
        touched: dict[str, float] = {}
        for item in items:
            tag = item[0]
            if tag == spool.EVENT:
                row = item[1]
                batch.events.append(row)
                if row[4] > touched.get(row[0], 0.0):
                    touched[row[0]] = row[4]
            elif tag == spool.TASK_UPDATE:
                batch.task_updates.append((item[1], item[2]))
                if "last_update" in item[2]:
                    touched.pop(item[1], None)  # an explicit update is newer than the events
            elif tag == spool.NEW_TASK:
                batch.new_tasks.append(item[1])
            elif tag == spool.PARAMETER:
                batch.parameters.append(item[1])
            elif tag == spool.CONFIGURATION:
                batch.configurations.append(item[1])
            elif tag == spool.ARTIFACT:
                batch.artifacts.append(item[1])
            elif tag == spool.MODEL:
                batch.models.append(item[1])
        for task_id, ts in touched.items():
            batch.task_updates.append((task_id, {"last_update": ts}))
        return batch

    def _upload(self, items: list[spool.Item]) -> list[spool.Item] | None:
        """Put the batch's files in the blob store; artifacts become rows to write. None when
        the store stayed unreachable until shutdown (which has spilled the items)."""
        result: list[spool.Item] = []
        for item in items:
            if item[0] != spool.UPLOAD:
                result.append(item)
                continue
            uploaded: list[Any] = []
            try:
                if not self._until_available(functools.partial(self._upload_one, item, uploaded)):
                    return None
            except Exception as exc:
                self._save_failed([item], exc)
                continue
            if uploaded[0] is not None:
                result.append((spool.ARTIFACT, uploaded[0]))
        return result

    def _upload_one(self, item: spool.Item, out: list[Any]) -> None:
        out.append(upload(self.store.blobs, item))

    def _write_items(self, items: list[spool.Item]) -> None:
        self.store.write(self._build(items))

    def _until_available(self, action: Callable[[], object]) -> bool:
        """Run ``action``; while the store is unreachable, wait with backoff and run it again.

        False when shutdown stopped the wait (it has spilled the items being written). Other
        errors are raised.
        """
        delay = _OFFLINE_BACKOFF[0]
        while True:
            try:
                action()
            except StoreUnavailableError as exc:
                if not self._offline:
                    self._offline = True
                    log.warning(
                        "chaintrack: %s. Reports are kept on disk in %s and written as soon as "
                        "it can be written again (by this process, or by the next chaintrack "
                        "process that opens it; `chaintrack store repair` writes them too).",
                        exc,
                        self._spool_dir,
                    )
                deadline = time.monotonic() + delay
                while not self._stop and time.monotonic() < deadline:
                    time.sleep(0.05)
                if self._stop:
                    return False
                delay = min(delay * 2, _OFFLINE_BACKOFF[1])
                continue
            if self._offline:
                self._offline = False
                self._gave_up_offline = False
                log.warning("chaintrack: %s is reachable again; writing the reports kept "
                            "meanwhile.", redact(self.store.uri))  # fmt: skip
            return True

    def _write(self, items: list[spool.Item], uploads: bool | None = None) -> bool:
        """Write ``items`` in one transaction (``uploads``: whether any is an UPLOAD; None
        means look). False when the store stayed unreachable until shutdown."""
        if uploads is None:
            uploads = any(item[0] == spool.UPLOAD for item in items)
        if uploads:
            uploaded = self._upload(items)
            if uploaded is None:
                return False
            items = uploaded
        self._lost_file.seen(items)
        batch = self._build(items)
        for attempt in range(_RETRIES):
            try:
                if not self._until_available(lambda: self.store.write(batch)):
                    return False
                self.written += len(items)
                return True
            except Exception as exc:
                if attempt == _RETRIES - 1:
                    log.error(
                        "chaintrack: writing %d events to %s failed: %s. Retrying one by one.",
                        len(items),
                        redact(self.store.uri),
                        exc,
                    )
                else:
                    time.sleep(0.1 * 2**attempt)
        return self._write_one_by_one(items)

    def _write_one_by_one(self, items: list[spool.Item]) -> bool:
        failed: list[spool.Item] = []
        error: Exception | None = None
        for item in items:
            try:
                if not self._until_available(functools.partial(self._write_items, [item])):
                    return False
                self.written += 1
            except Exception as exc:
                failed.append(item)
                error = exc
        if failed:
            self._save_failed(failed, error)
        return True
