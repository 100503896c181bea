"""What the writer does with items it could not write at once: spool files and failed items.

A spool file holds items that overflowed the queue (or arrived while the store was unreachable);
the writer replays it once it has caught up. A file left by a process that died is an orphan:
the next writer of the same store claims it (a rename only one process wins) and replays it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path

from chaintrack.sdk import spool
from chaintrack.sdk.process import owner_pid
from chaintrack.store.liveness import alive

log = logging.getLogger("chaintrack")

#: Items replayed per transaction.
BATCH_MAX = 20_000


class SpoolRecovery:
    """The writer's replay of spool files (a part of :class:`~chaintrack.sdk.writer.Writer`)."""

    _spool_dir: Path
    _key: str
    _spill_lock: threading.RLock
    _spilled: int
    _overflow: list[spool.Item]
    _spool_stamp: int
    _stop: bool
    failed_total: int

    @property
    def failed_path(self) -> Path:
        raise NotImplementedError

    def _close_spool(self) -> None:
        raise NotImplementedError

    def _write(self, items: list[spool.Item], uploads: bool | None = None) -> bool:
        raise NotImplementedError

    def _save_failed(self, failed: list[spool.Item], error: Exception | None) -> None:
        """Keep items the store refused (after retries, one by one) in a spool file that the
        next writer of this store replays (``….failed``: an orphan once this process ends) and
        ``chaintrack store repair`` too: nothing goes to a file that nothing reads."""
        self.failed_total += len(failed)
        path = self.failed_path
        try:
            self._spool_dir.mkdir(parents=True, exist_ok=True)
            with path.open("ab") as f:
                if f.tell() == 0:
                    f.write(spool.MAGIC)
                f.write(spool.pack_block(failed))
        except OSError as exc:
            log.error("chaintrack: %d reports could not be stored (%s) nor kept in %s (%s).",
                      len(failed), error, path, exc)  # fmt: skip
            return
        log.error(
            "chaintrack: %d reports could not be stored (%s). They are kept in %s and written "
            "again by the next chaintrack process that opens this store (or `chaintrack store "
            "repair`).",
            len(failed),
            error,
            path,
        )

    def _replay(self, path: Path) -> None:
        """Write a spool file's items to the store, then delete it."""
        with self._spill_lock:
            self._close_spool()
            # Items the spool folder could not take (its disk full) are held in memory: they
            # are newer than the file's and written after them.
            held, self._overflow = self._overflow, []
            self._spilled = 0
            replaying = path.with_suffix(".replaying")
            if path.exists():
                path.rename(replaying)
        if replaying.exists() and not self._replay_file(replaying):
            self._hold_again(held)
            return
        if held and not self._write(held):
            self._hold_again(held)

    def _hold_again(self, held: list[spool.Item]) -> None:
        """The store became unreachable again during a replay: hold ``held`` once more, before
        anything spilled since."""
        with self._spill_lock:
            self._overflow[:0] = held
            if not self._stop:  # stopping: the shutdown puts them in the spool file
                self._spilled += len(held)

    def _replay_file(self, path: Path) -> bool:
        """Write a spool file's items to the store and delete it; False if the store became
        unreachable until shutdown (the file stays for the next writer)."""
        chunk: list[spool.Item] = []

        def damaged() -> None:  # cut short by a crash, or not a queue item at all
            log.warning("chaintrack: skipping a damaged part of spool file %s", path)

        with contextlib.closing(spool.read_blocks(path, damaged)) as blocks:
            for block in blocks:
                chunk.extend(block)
                if len(chunk) >= BATCH_MAX:
                    if not self._write(chunk):
                        return False  # unreachable until shutdown: the next writer replays it
                    chunk = []
        if chunk and not self._write(chunk):
            return False
        path.unlink(missing_ok=True)
        return True

    def _recover_orphans(self) -> None:
        """Replay spool files of this store left by processes that are no longer running.

        Names: ``<store key>-<pid>-<writer id>.spool`` (being written), ``….replaying`` (being
        replayed by that pid) and ``….recovering-<pid2>`` (claimed by process pid2). A file is an
        orphan when the process that last owned it is gone.
        """
        if not self._spool_dir.is_dir():
            return
        for path in sorted(self._spool_dir.glob(f"{self._key}-*")):
            owner = owner_pid(path.name)
            if owner is None or owner == os.getpid():
                continue
            if alive(owner):
                self._spool_stamp = 0  # look again at the next flush: it may have ended by then
                continue
            base = path.name.split(".", 1)[0]
            claimed = path.with_name(f"{base}.recovering-{os.getpid()}")
            try:
                path.rename(claimed)  # only one process wins the rename
            except OSError:
                continue
            log.info("chaintrack: writing events left in %s by process %d", path, owner)
            self._replay_file(claimed)
