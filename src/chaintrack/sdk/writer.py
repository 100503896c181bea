"""The background writer: the only place where reports turn into store writes.

The caller's thread appends a small tuple to a deque and returns; a thread named
``chaintrack-writer`` batches what arrived and applies it to the store in one transaction.
When the deque holds ``CHAINTRACK_QUEUE_SIZE`` items, further items are appended to a spool file
instead (the app is never blocked and nothing is dropped); the writer replays that file once it
has caught up. Spool files left by a process that died are replayed by the next writer of the
same store. Writes are idempotent, so a replay never duplicates.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
import os
import random
import threading
import time
from collections import deque
from pathlib import Path

from chaintrack import config
from chaintrack.sdk import spool
from chaintrack.store.base import Store
from chaintrack.store.records import WriteBatch

log = logging.getLogger("chaintrack")

BATCH_MAX = 20_000
_IDLE_WAIT = 0.5
_RETRIES = 3


def _new_writer_id() -> int:
    return random.SystemRandom().getrandbits(62)


class Writer:
    """One per store per process; see the module docstring."""

    def __init__(self, store: Store, spool_dir: Path, max_items: int) -> None:
        self.store = store
        self._spool_dir = spool_dir
        self._max_items = max_items
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
        self._spill_lock = threading.Lock()
        self._spilled = 0
        self._stop = False
        self.written = 0
        self.spilled_total = 0
        self.failed_total = 0

    @property
    def spool_path(self) -> Path:
        return self._spool_dir / f"{self._key}-{os.getpid()}-{self.wid:x}.jsonl"

    # -- the caller's side -----------------------------------------------------------------

    def put(self, item: spool.Item) -> None:
        """Hand ``item`` to the writer. O(1); never blocks on I/O unless the queue is full."""
        if self._thread is None:
            self._start()
        if len(self._queue) >= self._max_items:
            self._spill([item])
            return
        self._queue.append(item)
        if self._idle:
            self._idle = False
            self._wake.set()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything put so far is in the store. False if ``timeout`` ran out."""
        if self._thread is None:
            return self._spilled == 0
        if threading.current_thread() is self._thread:
            return True
        done = threading.Event()
        self._queue.append((spool.BARRIER, done))
        self._wake.set()
        return done.wait(timeout)

    def pending(self) -> int:
        return len(self._queue) + self._spilled

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None:
                return
            thread = threading.Thread(target=self._run, name="chaintrack-writer", daemon=True)
            self._thread = thread
            thread.start()

    def _spill(self, items: list[spool.Item]) -> None:
        lines = "".join(spool.encode(i) + "\n" for i in items if i[0] != spool.BARRIER)
        with self._spill_lock:
            self._spool_dir.mkdir(parents=True, exist_ok=True)
            with self.spool_path.open("a", encoding="utf-8") as f:
                f.write(lines)
            self._spilled += len(items)
            self.spilled_total += len(items)

    def after_fork(self) -> None:
        """In a forked child: start afresh. The parent writes what it had queued."""
        self._reset_state()

    def shutdown(self, timeout: float) -> None:
        """Drain within ``timeout`` seconds; spill what is still queued after that."""
        if self._thread is None:
            return
        if not self.flush(timeout):
            leftover: list[spool.Item] = []
            while self._queue:
                with contextlib.suppress(IndexError):
                    leftover.append(self._queue.popleft())
            self._spill(leftover)
            for item in leftover:
                if item[0] == spool.BARRIER:
                    item[1].set()
            log.warning(
                "chaintrack: %d events were not written within CHAINTRACK_DRAIN_TIMEOUT=%ss; "
                "they are kept in %s and will be written the next time this store is opened.",
                len(leftover),
                timeout,
                self.spool_path,
            )
        self._stop = True
        self._wake.set()

    # -- the writer thread -----------------------------------------------------------------

    def _run(self) -> None:
        self._recover_orphans()
        while True:
            items: list[spool.Item] = []
            barriers: list[threading.Event] = []
            queue = self._queue
            while queue and len(items) < BATCH_MAX:
                item = queue.popleft()
                if item[0] == spool.BARRIER:
                    barriers.append(item[1])
                else:
                    items.append(item)
            if items:
                self._write(items)
            if not queue and self._spilled:
                self._replay(self.spool_path)
            for barrier in barriers:
                barrier.set()
            if items or barriers:
                continue
            if self._stop:
                return
            self._idle = True
            if self._queue:
                self._idle = False
                continue
            self._wake.wait(_IDLE_WAIT)
            self._wake.clear()
            self._idle = False

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

    def _write(self, items: list[spool.Item]) -> None:
        for attempt in range(_RETRIES):
            try:
                self.store.write(self._build(items))
                self.written += len(items)
                return
            except Exception as exc:
                if attempt == _RETRIES - 1:
                    log.error(
                        "chaintrack: writing %d events to %s failed: %s. Retrying one by one.",
                        len(items),
                        self.store.uri,
                        exc,
                    )
                else:
                    time.sleep(0.1 * 2**attempt)
        self._write_one_by_one(items)

    def _write_one_by_one(self, items: list[spool.Item]) -> None:
        failed: list[spool.Item] = []
        for item in items:
            try:
                self.store.write(self._build([item]))
                self.written += 1
            except Exception:
                failed.append(item)
        if failed:
            self.failed_total += len(failed)
            path = self._spool_dir / f"failed-{self._key}-{os.getpid()}-{self.wid:x}.jsonl"
            self._spool_dir.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as f:
                f.writelines(spool.encode(i) + "\n" for i in failed)
            log.error(
                "chaintrack: %d events could not be written and were saved to %s.",
                len(failed),
                path,
            )

    def _replay(self, path: Path) -> None:
        """Write a spool file's items to the store, then delete it."""
        with self._spill_lock:
            if not path.exists():
                self._spilled = 0
                return
            replaying = path.with_suffix(".replaying")
            path.rename(replaying)
            self._spilled = 0
        self._replay_file(replaying)

    def _replay_file(self, path: Path) -> None:
        chunk: list[spool.Item] = []
        with path.open(encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                try:
                    chunk.append(spool.decode(line))
                except (ValueError, KeyError, TypeError):
                    log.warning("chaintrack: skipping a damaged line in spool file %s", path)
                    continue
                if len(chunk) >= BATCH_MAX:
                    self._write(chunk)
                    chunk = []
        if chunk:
            self._write(chunk)
        path.unlink(missing_ok=True)

    def _recover_orphans(self) -> None:
        """Replay spool files of this store left by processes that are no longer running."""
        if not self._spool_dir.is_dir():
            return
        for path in sorted(self._spool_dir.glob(f"{self._key}-*")):
            try:
                pid = int(path.name.split("-")[1])
            except (IndexError, ValueError):
                continue
            if pid == os.getpid() or _alive(pid):
                continue
            claimed = path.with_name(f"{path.stem}.recovering-{os.getpid()}")
            try:
                path.rename(claimed)  # only one process wins the rename
            except OSError:
                continue
            log.info("chaintrack: writing events left in %s by process %d", path, pid)
            self._replay_file(claimed)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_writers: dict[str, Writer] = {}
_writers_lock = threading.Lock()


def writer_for(store: Store) -> Writer:
    """The process's writer for ``store``."""
    writer = _writers.get(store.uri)
    if writer is None:
        with _writers_lock:
            writer = _writers.get(store.uri)
            if writer is None:
                writer = Writer(store, config.spool_dir(), config.queue_size())
                _writers[store.uri] = writer
    return writer


def all_writers() -> list[Writer]:
    return list(_writers.values())


def _after_fork() -> None:
    global _writers_lock
    _writers_lock = threading.Lock()
    for writer in _writers.values():
        writer.after_fork()


def forget_writers() -> None:
    """Drop every writer (tests reset the process between cases)."""
    with _writers_lock:
        _writers.clear()


os.register_at_fork(after_in_child=_after_fork)


def drain_all(timeout: float | None = None) -> None:
    budget = config.drain_timeout() if timeout is None else timeout
    deadline = time.monotonic() + budget
    for writer in all_writers():
        writer.shutdown(max(0.0, deadline - time.monotonic()))
