"""Pushing chaintrack tasks into ClearML: a server, or an offline session to import later.

A push reads the task from its store and replays it into a new ClearML task with the official
SDK (see :mod:`chaintrack.clearml.mapping` for what goes where), in a child process
(:mod:`chaintrack.clearml.worker`) so that the SDK's process-wide state never touches the
application. Online, output models are registered (uploaded synchronously) before the task
ends, and the task ends with its own status: ``completed``, ``failed`` (with its reason) or
``stopped``. Offline, ClearML writes a session zip that ``clearml-task --import-offline-session``
accepts.

Pushing a task twice to the same server does not duplicate it: the second push is skipped with a
message that names the ClearML task, because each push records ``clearml=<id>@<server>`` in the
chaintrack task's system tags. ``force=True`` pushes a new copy anyway. Offline sessions are not
tracked: each offline push writes a new session.
"""

from __future__ import annotations

import collections
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from chaintrack.clearml.mapping import FINAL_STATUSES
from chaintrack.errors import MirrorError
from chaintrack.store import open_store
from chaintrack.store.base import Store
from chaintrack.store.records import TaskRecord

#: ``progress(done, total, task_id)``: before each task, and once at the end with ``done == total``.
Progress = Callable[[int, int, str], None]
_STDERR_LINES_KEPT = 40


@dataclass(frozen=True)
class PushResult:
    """What happened to one task."""

    task_id: str
    #: ``"pushed"``, ``"offline"`` (an offline session was written) or ``"skipped"``.
    outcome: str
    clearml_id: str | None = None
    #: The task's page in ClearML's web app (online pushes).
    url: str | None = None
    #: The offline session's zip file (offline pushes).
    session: Path | None = None
    message: str = ""


def push(
    task: Any,
    project: str | None = None,
    *,
    offline: bool | None = None,
    force: bool = False,
    store: str | None = None,
) -> PushResult:
    """Push one finished task (a ``chaintrack.Task`` or a task id) to ClearML.

    ``project`` replaces the task's project name in ClearML. ``offline`` writes an offline
    session instead of talking to a server (default: ClearML's own ``CLEARML_OFFLINE_MODE``).
    ``store`` is the store to read the task from (default: the task's own store, else
    ``CHAINTRACK_TRACKING_URI``). Raises :class:`~chaintrack.errors.MirrorError` when it cannot;
    a failed push changes nothing in chaintrack.
    """
    task_id = task if isinstance(task, str) else getattr(task, "id", None)
    if not isinstance(task_id, str):
        raise MirrorError(f"push() takes a chaintrack Task or a task id, not {task!r}")
    if store is None and not isinstance(task, str):
        task._read_store()  # wait until everything the task reported is in its store
        store = task._store.uri
    return push_many([task_id], project, offline=offline, force=force, store=store)[0]


def push_many(
    task_ids: Sequence[str],
    project: str | None = None,
    *,
    offline: bool | None = None,
    force: bool = False,
    store: str | None = None,
    progress: Progress | None = None,
    quiet: bool = True,
) -> list[PushResult]:
    """Push several tasks with one ClearML session; ``quiet=False`` shows what the SDK prints."""
    if not task_ids:
        return []
    source = open_store(store)
    for task_id in task_ids:  # unknown or running tasks: an error before anything starts
        ended_task(source, task_id)
    request = {
        "task_ids": list(task_ids),
        "project": project,
        "offline": offline,
        "force": force,
        "store": source.uri,
        "quiet": quiet,
    }
    results = []
    for reply in _run_worker(request, quiet):
        if reply["kind"] == "progress" and progress is not None:
            progress(reply["done"], reply["total"], reply["task_id"])
        elif reply["kind"] == "result":
            session = reply.pop("session", None)
            del reply["kind"]
            results.append(PushResult(**reply, session=Path(session) if session else None))
    return results


def pending(store: str | None = None) -> list[str]:
    """Ids of ended tasks not yet pushed to the configured ClearML server, oldest first."""
    # The child opens the same store; resolving it here reports a bad URI in this process.
    request = {"pending": True, "store": open_store(store).uri, "quiet": True}
    for reply in _run_worker(request, quiet=True):
        if reply["kind"] == "pending":
            return list(reply["task_ids"])
    return []


def ended_task(store: Store, task_id: str) -> TaskRecord:
    """The task's record; MirrorError while it is still running (it would arrive incomplete)."""
    record = store.get_task(task_id)
    if record.status not in FINAL_STATUSES:
        raise MirrorError(
            f"task {task_id} is still {record.status}: push it once it has ended (close() or the "
            "end of its process), so that ClearML gets all of it"
        )
    return record


def _run_worker(request: dict[str, Any], quiet: bool) -> Iterator[dict[str, Any]]:
    """Run the worker process and yield its replies as they come (MirrorError on an error)."""
    command = [sys.executable, "-m", "chaintrack.clearml.worker"]
    child = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if quiet else None,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    tail: collections.deque[str] = collections.deque(maxlen=_STDERR_LINES_KEPT)
    reader = None
    if child.stderr is not None:
        reader = threading.Thread(target=_keep_tail, args=(child.stderr, tail), daemon=True)
        reader.start()
    try:
        child.stdin.write(json.dumps(request))
        child.stdin.close()
        for line in child.stdout:
            reply = json.loads(line)
            if reply["kind"] == "error":
                raise MirrorError(reply["message"])
            yield reply
    finally:
        child.stdout.close()
        code = child.wait()
        if reader is not None:
            reader.join(5)
    if code != 0:
        shown = "".join(tail).strip() or "(no output)"
        raise MirrorError(f"the ClearML push process ended with status {code}:\n{shown}")


def _keep_tail(stream: IO[str], tail: collections.deque[str]) -> None:
    with stream:
        for line in stream:
            tail.append(line)
