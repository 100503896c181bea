"""The writer's guard against a store whose database file disappears while it writes.

It remembers the tasks this writer created (their records and every update since), so that
when the file is deleted or replaced (see ``store/sqlitefile.py``) it can say loudly what was
lost, have the store create a new database at the same place and write the tasks again: the
tasks and everything reported from then on are kept.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

from chaintrack.sdk import spool
from chaintrack.store.base import Store
from chaintrack.store.records import TaskRecord, WriteBatch

log = logging.getLogger("chaintrack")

#: Seconds between two looks at the database file.
CHECK_EVERY = 1.0


class LostFileGuard:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._tasks: dict[str, TaskRecord] = {}
        self._updates: dict[str, dict[str, Any]] = {}
        self._next_check = 0.0
        self.recreated = 0
        self._active = callable(getattr(store, "file_problem", None))

    def seen(self, items: list[spool.Item]) -> None:
        """Remember the tasks created and updated by ``items`` (before they are written)."""
        if not self._active:
            return
        for item in items:
            if item[0] == spool.NEW_TASK:
                self._tasks[item[1].id] = item[1]
            elif item[0] == spool.TASK_UPDATE and item[1] in self._tasks:
                self._updates.setdefault(item[1], {}).update(item[2])

    def check(self, written: int) -> None:
        """At most once a second: if the database file is gone, recreate the store (the writer
        thread calls this before it writes)."""
        if not self._active:
            return
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + CHECK_EVERY
        problem = self._store.file_problem()  # type: ignore[attr-defined]
        if problem is None:
            return
        names = ", ".join(repr(t.name) for t in self._tasks.values()) or "none"
        log.warning(
            "chaintrack: the store %s: %s while this process was writing to it. Everything "
            "stored in that file is gone with it (%d reports of this process, and whatever "
            "other processes had stored). A new store is created at the same place; the tasks "
            "of this process (%s) and everything they report from now on are stored there.",
            self._store.uri,
            problem,
            written,
            names,
        )
        self._store.recreate()  # type: ignore[attr-defined]
        self.recreated += 1
        tasks = [dataclasses.replace(t) for t in self._tasks.values()]
        updates = [(task_id, fields) for task_id, fields in self._updates.items()]
        if tasks:
            self._store.write(WriteBatch(new_tasks=tasks, task_updates=updates))
