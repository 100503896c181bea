"""``CHAINTRACK_MIRROR=clearml``: push each task to ClearML in the background when it ends.

``close()`` (or the end of the process) only starts a detached ``chaintrack clearml push TASK``
process, after the task's events are in the store: it costs the application a process start
(a few milliseconds), not the push. The push's output, and its one-line error when ClearML has no
credentials or cannot be reached, go to ``logs/clearml-mirror.log`` under CHAINTRACK_HOME; the
task stays in chaintrack either way, and ``chaintrack clearml push --pending`` pushes what was
missed.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time

from chaintrack import config

log = logging.getLogger("chaintrack")
#: Background pushes started by this process, kept so they are reaped (not zombies, no warning).
_children: list[subprocess.Popen[bytes]] = []


def log_path() -> str:
    return str(config.home() / "logs" / "clearml-mirror.log")


def after_close(task_id: str, store_uri: str) -> subprocess.Popen[bytes] | None:
    """Start the background push of a task that just ended, when mirroring is on.

    Never raises: a mirror that cannot start is logged, and the task is unaffected.
    """
    try:
        if config.mirror() is None:
            return None
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
        _children[:] = [c for c in _children if c.poll() is None]
        _children.append(child)
        return child
    except Exception as error:
        log.warning("chaintrack: could not start the ClearML mirror of task %s: %s", task_id, error)
        return None
