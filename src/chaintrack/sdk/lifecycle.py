"""What happens to open tasks when the process ends.

- normal exit: open tasks are completed and the queue is drained (``atexit``);
- an uncaught exception: the traceback goes to the console of the current task, which ends
  ``failed`` (``KeyboardInterrupt``: ``stopped``);
- SIGTERM: open tasks end ``stopped``, the queue is drained, then the signal's previous
  behaviour runs (the default one ends the process with the signal's exit status);
- a forked child (``multiprocessing`` or ``os.fork``) keeps reporting to the parent's tasks and
  drains its own queue at exit, but never changes their status: the parent owns them. A child
  that ends with ``os._exit()`` skips every exit hook: call ``task.flush(wait_for_uploads=True)``
  first (``multiprocessing`` children are drained by its own finalizers).

At exit and on SIGTERM, closing the tasks and draining the queue share one budget of
``CHAINTRACK_DRAIN_TIMEOUT`` seconds (see ``writers.begin_exit``).
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
import traceback
from types import FrameType, TracebackType
from typing import Any

from chaintrack.sdk import writers

_installed_pid: int | None = None
_previous_excepthook: Any = None
_previous_sigterm: Any = None


def _open_tasks() -> list[Any]:
    from chaintrack.sdk.task import Task

    return [t for t in Task.open_tasks() if t._owner_pid == os.getpid()]


def _excepthook(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    try:
        from chaintrack.sdk.task import Task

        task = Task.current_task()
        if task is not None and task._owner_pid == os.getpid():
            text = "".join(traceback.format_exception(exc_type, exc, tb)).rstrip("\n")
            task.get_logger().report_text(text, level=logging.ERROR, print_console=False)
            reason = f"{exc_type.__name__}: {exc}"[:1000]
            if not _interactive():
                # The process ends after this hook: marking the task and the exit drain share
                # one CHAINTRACK_DRAIN_TIMEOUT.
                writers.begin_exit()
            if issubclass(exc_type, KeyboardInterrupt):
                task.mark_stopped(status_message="KeyboardInterrupt")
            else:
                task.mark_failed(status_reason=reason)
    except Exception as error:  # the app's own traceback must still be printed
        logging.getLogger("chaintrack").warning("chaintrack: could not mark the task: %s", error)
    hook = _previous_excepthook or sys.__excepthook__
    hook(exc_type, exc, tb)


def _interactive() -> bool:
    """In a REPL an uncaught exception does not end the process."""
    return hasattr(sys, "ps1") or bool(sys.flags.interactive)


def _at_exit() -> None:
    writers.begin_exit()
    if _installed_pid != os.getpid():
        writers.drain_all()
        return
    for task in _open_tasks():
        try:
            task.close()
        except Exception as error:
            logging.getLogger("chaintrack").warning("chaintrack: closing %s: %s", task, error)
    writers.drain_all()


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    writers.begin_exit()
    if os.getpid() == _installed_pid:
        for task in _open_tasks():
            try:
                task.mark_stopped(status_message="SIGTERM")
            except Exception as error:
                logging.getLogger("chaintrack").warning("chaintrack: on SIGTERM: %s", error)
    writers.drain_all()
    previous = _previous_sigterm
    if callable(previous):
        # The application's own handler may keep the process running (or exit later through
        # atexit, which sets a new budget): later flushes must not inherit this deadline.
        writers.end_exit()
        previous(signum, frame)
        return
    if previous == signal.SIG_IGN:
        return
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _close_at_multiprocessing_exit() -> None:
    # A multiprocessing child started with fork ends with os._exit(), which skips atexit; its
    # finalizers still run (those registered after the child started: it clears the rest).
    mp_process = sys.modules.get("multiprocessing.process")
    mp_util = sys.modules.get("multiprocessing.util")
    if mp_process is not None and mp_util is not None and mp_process.parent_process():
        mp_util.Finalize(None, _at_exit, exitpriority=20)


def install() -> None:
    """Install the hooks once per process (again in a forked child that starts a task)."""
    global _installed_pid, _previous_excepthook, _previous_sigterm
    if _installed_pid == os.getpid():
        return
    first = _installed_pid is None
    _installed_pid = os.getpid()
    if first:
        atexit.register(_at_exit)
    _close_at_multiprocessing_exit()
    if sys.excepthook is not _excepthook:
        _previous_excepthook = sys.excepthook
        sys.excepthook = _excepthook
    if threading.current_thread() is threading.main_thread():
        current = signal.getsignal(signal.SIGTERM)
        if current is not _on_sigterm and current != signal.SIG_IGN:
            _previous_sigterm = current
            signal.signal(signal.SIGTERM, _on_sigterm)
