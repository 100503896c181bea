"""Tasks whose process is gone: found and marked ``stopped`` by whoever looks next.

A task records its process when it starts (``runtime["process"]``: host name, process id and
the process's start time, so that a reused process id is not mistaken for the task's process).
A chaintrack process on the same host that finds such a task ``in_progress`` while its process
no longer runs marks it ``stopped`` with :data:`REASON`: every ``Task.init`` (in the
background), ``chaintrack tasks`` and ``chaintrack store repair`` look. A tracking server also
stops running tasks it has not heard from for ``CHAINTRACK_HEARTBEAT_TIMEOUT`` seconds (their
processes send a heartbeat, see ``heartbeat.py``).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any

from chaintrack.store.base import Store
from chaintrack.store.records import TaskQuery, TaskRecord, WriteBatch

log = logging.getLogger("chaintrack")

REASON = "the process ended without closing the task"


def process_started(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), or None when unknown.

    On Linux it is read from ``/proc`` as psutil reads it (the start in clock ticks after boot,
    plus the boot time), without importing psutil: that import costs ``Task.init`` 10 to 40 ms.
    Elsewhere psutil answers (an optional dependency)."""
    if _PROC:
        return _proc_started(pid)  # None: gone, or not ours to see (psutil would say the same)
    try:
        import psutil
    except ModuleNotFoundError:  # pragma: no cover - psutil is optional
        return None
    try:
        return float(psutil.Process(pid).create_time())
    except Exception:  # gone, or not ours to see
        return None


#: Whether this system has Linux's /proc (which psutil itself reads there).
_PROC = os.path.exists("/proc/self/stat")
_boot_time: float | None = None


def _proc_started(pid: int) -> float | None:
    global _boot_time
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        if _boot_time is None:
            with open("/proc/stat", "rb") as f:
                line = next(x for x in f if x.startswith(b"btime "))
            _boot_time = float(line.split()[1])
        # Fields after the command name, which is in parentheses and may hold any character:
        # the start time is the 22nd field of the line, the 20th after the name.
        ticks = int(stat[stat.rindex(b")") + 2 :].split()[19])
        return _boot_time + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def identity() -> dict[str, Any]:
    """This process, as a task records it."""
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "started": process_started(pid)}


def process_gone(process: Any) -> bool:
    """Whether the recorded process (same host only) no longer runs."""
    if not isinstance(process, dict) or process.get("host") != socket.gethostname():
        return False
    pid = process.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    if pid == os.getpid():
        return False
    if not alive(pid):
        return True
    recorded, now_started = process.get("started"), process_started(pid)
    # Another process has the id now (ids are reused): more than 1 s apart.
    return (
        isinstance(recorded, (int, float))
        and now_started is not None
        and abs(now_started - recorded) > 1.0
    )


def _dead(task: TaskRecord, now: float, timeout: float | None) -> bool:
    if process_gone(task.runtime.get("process")):
        return True
    return bool(timeout) and now - task.last_update > timeout  # type: ignore[operator]


def stop_dead_tasks(store: Store, heartbeat_timeout: float | None = None) -> int:
    """Mark ``stopped`` the running tasks whose process is gone (same host) or, with
    ``heartbeat_timeout``, that sent nothing for that long. Returns how many."""
    now = time.time()
    running = store.find_tasks(TaskQuery(status=("in_progress",)))
    dead = [t for t in running if _dead(t, now, heartbeat_timeout)]
    if not dead:
        return 0
    fields = {"status": "stopped", "status_reason": REASON, "completed": now, "last_update": now}
    store.write(WriteBatch(task_updates=[(t.id, dict(fields)) for t in dead]))
    for task in dead:
        log.info("chaintrack: task %s (%s) marked stopped: %s", task.id, task.name, REASON)
    return len(dead)


def stop_dead_tasks_quietly(store: Store) -> None:
    """:func:`stop_dead_tasks` from a background thread: a failure is logged, never raised."""
    try:
        stop_dead_tasks(store)
    except Exception as exc:
        log.debug("chaintrack: could not look for tasks of ended processes: %s", exc)


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (a process of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
