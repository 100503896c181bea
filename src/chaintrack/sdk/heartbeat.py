"""The heartbeat of running tasks: every ``CHAINTRACK_HEARTBEAT_SECONDS`` each open task of this
process sets its ``last_update`` through the background writer, so that a tracking server can
tell a task that runs quietly from one whose process is gone (``CHAINTRACK_HEARTBEAT_TIMEOUT``).

One daemon thread per process, ``chaintrack-heartbeat``, started by the first task.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from chaintrack import config
from chaintrack.sdk import items

log = logging.getLogger("chaintrack")

_lock = threading.Lock()
_started_in: int | None = None


def start() -> None:
    """Start the heartbeat thread of this process (once; again in a forked child)."""
    global _started_in
    with _lock:
        if _started_in == os.getpid():
            return
        _started_in = os.getpid()
        threading.Thread(target=_run, name="chaintrack-heartbeat", daemon=True).start()


def beat() -> None:
    """One heartbeat for every open task this process owns."""
    from chaintrack.sdk.task import Task

    now = time.time()
    for task in Task.open_tasks():
        if task._owner_pid == os.getpid() and not task._closed:
            task._writer.put(items.task_update(task.id, {"last_update": now}))


def _run() -> None:
    pid = os.getpid()
    while os.getpid() == pid:
        try:
            interval = config.heartbeat_seconds()
        except Exception:
            interval = 30.0
        time.sleep(interval)
        try:
            beat()
        except Exception as exc:  # never let the heartbeat break a run
            log.debug("chaintrack: heartbeat failed: %s", exc)
