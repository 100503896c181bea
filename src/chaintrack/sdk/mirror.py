"""``CHAINTRACK_MIRROR=clearml``: push each task to ClearML in the background when it ends.

``close()`` (or the end of the process) only starts a detached ``chaintrack clearml push TASK``
process, after the task's events are in the store, from a short-lived thread: the application
waits neither for the push nor for the process to start. The push's output, and its one-line
error when ClearML has no credentials or cannot be reached, go to ``logs/clearml-mirror.log``
under CHAINTRACK_HOME; the task stays in chaintrack either way, and
``chaintrack clearml push --pending`` pushes what was missed.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time

from chaintrack import config
from chaintrack.sdk import writers

log = logging.getLogger("chaintrack")
#: Background pushes started by this process, kept so they are reaped (not zombies, no warning).
_children: list[subprocess.Popen[bytes]] = []
_threads: list[threading.Thread] = []
_lock = threading.Lock()


def log_path() -> str:
    return str(config.home() / "logs" / "clearml-mirror.log")


def after_close(task_id: str, store_uri: str) -> None:
    """Start the background push of a task that just ended, when mirroring is on.

    Starting a process takes the caller tens of milliseconds on a busy machine, so it is done
    from a short-lived thread; while the process is exiting (where no new thread may start) it is
    done at once. Never raises: a mirror that cannot start is logged, and the task is unaffected.
    """
    try:
        if config.mirror() is None:
            return
    except Exception as error:
        log.warning("chaintrack: no ClearML mirror of task %s: %s", task_id, error)
        return
    if writers.exiting():
        _start(task_id, store_uri)
        return
    thread = threading.Thread(target=_start, args=(task_id, store_uri), name="chaintrack-mirror")
    _threads[:] = [t for t in _threads if t.is_alive()]
    _threads.append(thread)
    thread.start()  # not a daemon: a process that ends right after close() still starts it


def wait(timeout: float | None = None) -> None:
    """Wait for the background pushes this process started (tests and benchmarks use it)."""
    for thread in list(_threads):
        thread.join(timeout)
    for child in list(_children):
        child.wait(timeout)


def _start(task_id: str, store_uri: str) -> None:
    try:
        path = log_path()
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "ab") as out:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            out.write(f"{stamp} pushing {task_id} from {store_uri}\n".encode())
            out.flush()
            command = [sys.executable, "-m", "chaintrack.cli", "clearml", "push", task_id,
                       "--store", store_uri]  # fmt: skip
            child = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives the application's exit and its Ctrl-C
                close_fds=True,
            )
        with _lock:
            _children[:] = [c for c in _children if c.poll() is None]
            _children.append(child)
    except Exception as error:
        log.warning("chaintrack: could not start the ClearML mirror of task %s: %s", task_id, error)
