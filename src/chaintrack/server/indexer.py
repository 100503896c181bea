"""The server's indexer: the spans' text waiting for the full-text index is indexed in the
background (``store/textindex.py``).

A thread named ``chaintrack-indexer`` catches the index (and the dashboards' totals) up every
``CHAINTRACK_INDEX_INTERVAL`` seconds, so that searches rarely find work left (a search catches
up first all the same: its results are complete either way). While the server is taking writes
the indexer waits for a quiet interval, so that a burst of ingestion does not share the cores
and (SQLite) the write lock with it, unless ``MAX_BACKLOG`` spans are waiting.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from chaintrack import config

log = logging.getLogger("chaintrack.server")


#: Spans waiting past which the indexer runs even while writes come in.
MAX_BACKLOG = 100_000


class Indexer:
    def __init__(self, store: Any, progress: Callable[[], int] = lambda: 0) -> None:
        """``progress``: a count that grows with each write the server takes."""
        self.store = store
        self.progress = progress
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        interval = config.index_interval()
        if not interval or not hasattr(self.store, "index_text"):
            return
        self._thread = threading.Thread(
            target=self._run, args=(interval,), name="chaintrack-indexer", daemon=True
        )
        self._thread.start()

    def _run(self, interval: float) -> None:
        seen = self.progress()
        while not self._stop.wait(interval):
            now = self.progress()
            busy, seen = now != seen, now
            try:
                if busy and self.store.text_backlog() < MAX_BACKLOG:
                    continue
                self.store.index_text(background=True)
            except Exception as exc:  # the database may be down for a while
                log.warning("chaintrack server: indexing the spans' text failed: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
