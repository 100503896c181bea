"""The server's sweeper: running tasks whose process is gone are marked ``stopped``.

A thread named ``chaintrack-sweeper`` looks every ``CHAINTRACK_HEARTBEAT_TIMEOUT / 4`` seconds
(at most every minute) for ``in_progress`` tasks that sent nothing (no event, no heartbeat) for
``CHAINTRACK_HEARTBEAT_TIMEOUT`` seconds, or whose process on this host ended, and marks them
stopped with the reason "the process ended without closing the task" (see
``chaintrack.store.liveness``).
"""

from __future__ import annotations

import logging
import threading

from chaintrack import config
from chaintrack.store.base import Store
from chaintrack.store.liveness import stop_dead_tasks

log = logging.getLogger("chaintrack.server")


class Sweeper:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        timeout = config.heartbeat_timeout()
        if not timeout:
            return
        self._thread = threading.Thread(
            target=self._run, args=(timeout,), name="chaintrack-sweeper", daemon=True
        )
        self._thread.start()

    def _run(self, timeout: float) -> None:
        interval = min(60.0, max(0.2, timeout / 4))
        while not self._stop.wait(interval):
            try:
                stop_dead_tasks(self.store, heartbeat_timeout=timeout)
            except Exception as exc:  # the database may be down for a while
                log.warning("chaintrack server: looking for ended tasks failed: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
