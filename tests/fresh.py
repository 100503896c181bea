"""Between tests, or in a test that plays "a new process": nothing of the last one left running.

A database is dropped, or a store reopened with other settings, only after ``release_stores``:
a live writer indexes the spans' text when idle (``sdk/writer.py``), and a store closed under it
would leave the writer's connection to the garbage collector (psycopg's "deleted while still
open" warning, raised in whichever test collects it) and its next write to a store that is gone.
"""

from __future__ import annotations

from chaintrack import store
from chaintrack.sdk import writers
from chaintrack.sdk.task import Task


def release_stores() -> None:
    """Close the tasks left open, finish and forget every writer, close every store."""
    for task in Task.open_tasks():
        task.close()
    Task._current = None
    writers.drain_all(10)
    writers.forget_writers()
    store.close_all()
