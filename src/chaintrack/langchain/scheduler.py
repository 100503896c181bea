"""When the handlers' queued events go to the background writer: a moment after they arrive.

A callback appends its event to its handler's queue; the first event since the handler was last
handed over puts the handler on this module's list (one append). This module's thread
(``chaintrack-langchain``) looks at the list every :data:`DELAY` seconds and asks the writer to
process a handler once its queue has been quiet for :data:`DELAY` seconds (the burst of
callbacks of one invocation or one ``.batch()`` is over), or holds events older than
:data:`MAX_WAIT` seconds, or :data:`MAX_PENDING` events. So the records are built while the
application does something else (typically, waits for its model), not in the middle of a
call. The caller's thread never wakes a thread per event: after a quiet second the thread
sleeps until the next request wakes it, and only that request pays for the wake-up.

At exit, every handler's queue is handed over before chaintrack drains the writer.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
import weakref
from collections import deque
from typing import Any, Protocol

#: Seconds between the first event of a burst and its hand-over to the writer.
DELAY = 0.02


#: Hand a busy handler over at the latest this many seconds after its oldest queued event…
MAX_WAIT = 1.0
#: … or once it has this many events queued.
MAX_PENDING = 10_000


class Handler(Protocol):
    _pending: Any

    def _hand_over(self) -> None: ...


def _due(handler: Handler, now: float) -> bool:
    """Quiet for DELAY seconds (the burst is over), or waiting too long, or too many events."""
    pending = handler._pending
    try:
        return bool(
            now - pending[-1][1] >= DELAY
            or now - pending[0][1] >= MAX_WAIT
            or len(pending) >= MAX_PENDING
        )
    except IndexError:  # processed meanwhile (a read of the records)
        return True


_waiting: deque[Handler] = deque()
_wake = threading.Event()
_thread: threading.Thread | None = None
_start_lock = threading.Lock()
_live: weakref.WeakSet[Handler] = weakref.WeakSet()
_registered_pid: int | None = None
#: True while the thread waits for a wake-up rather than polling (and before it starts).
_sleeping = True
#: Polls without work before the thread goes to sleep.
_IDLE_POLLS = 50


def track(handler: Handler) -> None:
    """Remember ``handler`` so that its events are handed over at exit."""
    global _registered_pid
    _live.add(handler)
    if _registered_pid != os.getpid():
        _registered_pid = os.getpid()
        # Registered after chaintrack's own exit hook (the handler installs it first), so it
        # runs before it: atexit runs hooks in reverse order.
        atexit.register(hand_over_all)


def request(handler: Handler) -> None:
    """Hand ``handler`` over to the writer within :data:`DELAY` seconds. O(1), never blocks."""
    _waiting.append(handler)
    if _sleeping:  # checked after the append: see _run
        if _thread is None:
            _start()
        _wake.set()


def _start() -> None:
    global _thread
    with _start_lock:
        if _thread is None:
            thread = threading.Thread(target=_run, name="chaintrack-langchain", daemon=True)
            thread.start()
            _thread = thread


def _run() -> None:
    global _sleeping
    idle = 0
    while True:
        if _sleeping:
            _wake.wait()
            _wake.clear()
            _sleeping, idle = False, 0
        time.sleep(DELAY)
        if _waiting:
            idle = 0
            now = time.time()
            for _ in range(len(_waiting)):
                handler = _waiting.popleft()
                if _due(handler, now):
                    # A handler whose writer is gone keeps its events (a read processes them).
                    with contextlib.suppress(Exception):
                        handler._hand_over()
                else:
                    _waiting.append(handler)
            continue
        idle += 1
        if idle >= _IDLE_POLLS:
            # Set the flag, then look again: a request that appended before this look is
            # seen here; one that appends after it sees the flag and wakes the thread.
            _sleeping = True
            if _waiting:
                _sleeping = False


def hand_over_all() -> None:
    """Hand every handler's queue to the writer now (at exit, and before a fork's child)."""
    _waiting.clear()
    for handler in list(_live):
        with contextlib.suppress(Exception):  # at exit: never stop the other handlers
            handler._hand_over()


def _after_fork() -> None:
    global _thread, _wake, _start_lock, _sleeping
    _thread, _sleeping = None, True
    _wake = threading.Event()
    _start_lock = threading.Lock()
    _waiting.clear()


os.register_at_fork(after_in_child=_after_fork)
