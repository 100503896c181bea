"""Noticing that an embedded store's database file was deleted or replaced under a writer.

SQLite keeps writing into a file that was unlinked (``rm -rf ~/.chaintrack`` while a process
logs): the process goes on without a word and everything it writes is gone when it exits. The
writer asks :meth:`SqliteFileWatch.file_problem` at most once a second; on a problem it says so
loudly and calls :meth:`SqliteFileWatch.recreate`, which makes a new store at the same place.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of ``path``, or None when there is no such file."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_dev, found.st_ino)


class SqliteFileWatch:
    """Part of :class:`~chaintrack.store.sql.SqlStore`: the identity of its database file."""

    path: Path | None
    _file_id: tuple[int, int] | None

    def _remember_file(self) -> None:
        self._file_id = file_identity(self.path) if self.path is not None else None

    def file_problem(self) -> str | None:
        """What happened to the database file since the store opened it (None: nothing)."""
        if self.path is None or self._file_id is None:
            return None
        now = file_identity(self.path)
        if now is None:
            return f"its database file {self.path} was deleted"
        if now != self._file_id:
            return f"its database file {self.path} was replaced by another file"
        return None

    def recreate(self) -> None:
        """Drop the connections to the lost file and open (create) the store again."""
        self.close()
        fresh: Any = type(self)(self.uri, blobs=self.blobs)  # type: ignore[attr-defined, call-arg]
        self.__dict__.update(fresh.__dict__)

    # Provided by SqlStore.
    uri: str

    def close(self) -> None:
        raise NotImplementedError
