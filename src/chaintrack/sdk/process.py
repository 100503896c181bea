"""Process helpers of the background writer: signal masks and who owns a spool file."""

from __future__ import annotations

import contextlib
import signal

#: Signals meant for the application. The kernel hands a process-directed signal to any
#: thread that does not block it; if that is this thread while the main thread sleeps or waits
#: (time.sleep, a blocking read), the main thread is not woken and the Python handler (our
#: SIGTERM drain, the app's own handlers, KeyboardInterrupt) runs only when it wakes.
_APP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM",
                "SIGCHLD", "SIGWINCH")  # fmt: skip


def block_process_signals() -> None:
    """Leave the application's signals to the application's threads (POSIX only)."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
        return
    wanted = {getattr(signal, name) for name in _APP_SIGNALS if hasattr(signal, name)}
    with contextlib.suppress(OSError, ValueError):
        signal.pthread_sigmask(signal.SIG_BLOCK, wanted)


def owner_pid(name: str) -> int | None:
    try:
        if ".recovering-" in name:
            return int(name.rsplit(".recovering-", 1)[1])
        return int(name.split("-")[1])
    except (IndexError, ValueError):
        return None

    return True
