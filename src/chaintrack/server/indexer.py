"""The server's indexer: the spans' text waiting for the full-text index is indexed in the
background (``store/textindex.py``).

A thread named ``chaintrack-indexer`` catches the index up every ``CHAINTRACK_INDEX_INTERVAL``
seconds, so that searches rarely find text left to index (a search catches up first all the
same: its results are complete either way).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from chaintrack import config

log = logging.getLogger("chaintrack.server")


class Indexer:
    def __init__(self, store: Any) -> None:
        self.store = store
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
        while not self._stop.wait(interval):
            try:
                self.store.index_text(background=True)
            except Exception as exc:  # the database may be down for a while
                log.warning("chaintrack server: indexing the spans' text failed: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
