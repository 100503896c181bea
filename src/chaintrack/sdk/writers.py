"""The process's writers (one per store), and what happens to them at exit and at fork.

``writer_for(store)`` gives the writer of a store; ``begin_exit`` sets the deadline every flush
and drain ends by while the process is ending; the fork hooks make a child start afresh (its
parent writes what was queued) and never fork in the middle of a write.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time

from chaintrack import config
from chaintrack.sdk.writer import Writer
from chaintrack.store.base import Store

_writers: dict[str, Writer] = {}
_writers_lock = threading.Lock()
#: Set when the process is ending (normal exit, SIGTERM): every wait ends by then.
_exit_deadline: float | None = None
_mp_finalizer_pid: int | None = None


def capped(timeout: float | None) -> float | None:
    deadline = _exit_deadline
    if deadline is None:
        return timeout
    left = max(0.0, deadline - time.monotonic())
    return left if timeout is None else min(timeout, left)


def begin_exit(budget: float | None = None) -> None:
    """The process is ending: from now on every flush and drain ends within ``budget`` seconds
    (default ``CHAINTRACK_DRAIN_TIMEOUT``), however many tasks are closed on the way."""
    global _exit_deadline
    seconds = config.drain_timeout() if budget is None else budget
    deadline = time.monotonic() + seconds
    if _exit_deadline is None or deadline < _exit_deadline:
        _exit_deadline = deadline


def exiting() -> bool:
    """Whether the process is ending (an exit, an uncaught exception or SIGTERM is draining)."""
    return _exit_deadline is not None


def end_exit() -> None:
    """The process goes on after all (an application's SIGTERM handler): no deadline."""
    global _exit_deadline
    _exit_deadline = None


def writer_for(store: Store) -> Writer:
    """The process's writer for ``store``."""
    writer = _writers.get(store.uri)
    if writer is None:
        with _writers_lock:
            writer = _writers.get(store.uri)
            if writer is None:
                writer = Writer(
                    store, config.spool_dir(), config.queue_size(), config.write_interval()
                )
                _writers[store.uri] = writer
    return writer


def all_writers() -> list[Writer]:
    return list(_writers.values())


#: How long os.fork() waits for the writer to finish the write it is doing.
_FORK_WAIT = 10.0
_held_for_fork: list[threading.Lock] = []


def _before_fork() -> None:
    """Fork between writes only, with the store's idle connections closed.

    SQLite keeps the state of its locks in process memory: a child forked while a transaction
    is open (or with that connection's state) waits for a lock nobody will release. A hung store
    does not block the fork for longer than _FORK_WAIT.
    """
    for writer in list(_writers.values()):
        if writer._io_lock.acquire(timeout=_FORK_WAIT):
            _held_for_fork.append(writer._io_lock)
        hook = getattr(writer.store, "before_fork", None)
        if hook is not None:
            with contextlib.suppress(Exception):
                hook()


def _after_fork_in_parent() -> None:
    while _held_for_fork:
        _held_for_fork.pop().release()


def _after_fork() -> None:
    global _writers_lock, _exit_deadline
    _held_for_fork.clear()
    _writers_lock = threading.Lock()
    _exit_deadline = None
    for writer in _writers.values():
        writer.after_fork()


def forget_writers() -> None:
    """Drop every writer (tests reset the process between cases)."""
    global _exit_deadline
    with _writers_lock:
        _writers.clear()
    _exit_deadline = None


os.register_at_fork(
    before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork
)


def drain_at_multiprocessing_exit() -> None:
    """In a ``multiprocessing`` child, drain when it ends.

    A child started with the fork method ends with ``os._exit()``, which skips ``atexit``; its
    ``multiprocessing`` finalizers still run. They must be registered after the child started
    (the child clears the registry it inherited), so this runs when the writer thread starts.
    """
    global _mp_finalizer_pid
    if _mp_finalizer_pid == os.getpid():
        return
    mp_process = sys.modules.get("multiprocessing.process")
    mp_util = sys.modules.get("multiprocessing.util")
    if mp_process is None or mp_util is None or mp_process.parent_process() is None:
        return
    _mp_finalizer_pid = os.getpid()
    mp_util.Finalize(None, drain_all, exitpriority=10)


def drain_all(timeout: float | None = None) -> None:
    budget = config.drain_timeout() if timeout is None else timeout
    budget = capped(budget) or 0.0
    deadline = time.monotonic() + budget
    for writer in all_writers():
        writer.shutdown(max(0.0, deadline - time.monotonic()))
