"""What a tracking server accepts: every field of a write batch, checked against where it goes.

``wire.batch_in`` checks a batch's shape (which fields, which JSON types); this module checks the
values against the columns that will hold them and against what reads expect, so that a value
the server stores can never break a read later:

- numbers are finite, times lie between 1970 and 9999, integers fit their column (64-bit, or
  32-bit for a console level);
- text fits its column's length (PostgreSQL enforces it; SQLite would store anything);
- JSON text (a task's tags, script, runtime and packages, an event's payload, an artifact's
  metadata, a model's tags) parses, has the type reads expect and nests at most
  ``MAX_JSON_DEPTH`` levels;
- a task's status and type are ones chaintrack knows;
- every task a batch refers to exists, or is created by the same batch: events, parameters or
  status changes of an unknown task are refused rather than stored as orphans.

A refused batch is answered 400 with what was wrong, and nothing of it is stored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import BigInteger, Column, Float, Integer, String, Table, Text

from chaintrack.errors import InvalidArgumentError, TaskNotFoundError
from chaintrack.store.base import Store
from chaintrack.store.records import MAX_TIME, EventRow, TaskRecord, WriteBatch
from chaintrack.store.schema import artifacts, configurations, models, parameters, tasks
from chaintrack.store.vocabulary import STATUSES, TASK_TYPES

#: JSON deeper than this is refused (a LangChain payload nests a few dozen levels at most;
#: Python's own parser fails near 1,000 levels, which would make a stored payload unreadable).
MAX_JSON_DEPTH = 100
_INT64 = (-(2**63), 2**63 - 1)
_INT32 = (-(2**31), 2**31 - 1)
#: Columns holding a time (seconds since the epoch).
_TIME_COLUMNS = frozenset({"created", "started", "completed", "last_update", "timestamp", "ts"})
#: JSON text columns and the type their value must have once parsed.
_JSON_COLUMNS: dict[tuple[str, str], type] = {
    ("tasks", "tags"): list,
    ("tasks", "system_tags"): list,
    ("tasks", "packages"): list,
    ("tasks", "script"): dict,
    ("tasks", "runtime"): dict,
    ("artifacts", "meta"): dict,
    ("models", "tags"): list,
}
_STRING_LISTS = frozenset({("tasks", "tags"), ("tasks", "system_tags"), ("tasks", "packages")})
#: The lengths of the event columns that have one (see schema.events).
_EVENT_TEXT = ((0, "task id", 32), (3, "kind", 16), (5, "metric", 512), (6, "variant", 512))


def _refuse(what: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"the write batch is not valid: {what}")


def depth(value: Any) -> int:
    """How many levels of lists and objects ``value`` nests (without recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def json_text(text: str, what: str) -> Any:
    """The value of the JSON text ``text``; InvalidArgumentError when it is not JSON a read
    can parse back (not JSON, NaN or Infinity, nested too deep)."""
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise _refuse(f"{what} nests deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:
        raise _refuse(f"{what} is not valid JSON ({exc})") from None
    if depth(value) > MAX_JSON_DEPTH:
        raise _refuse(f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (send non-finite numbers as the string {name!r})")


def _number(value: Any, what: str, time: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _refuse(f"{what} must be a number, not {type(value).__name__}")
    if not math.isfinite(value):
        raise _refuse(f"{what} must be a finite number, not {value!r}")
    if time and not 0 <= value <= MAX_TIME:
        raise _refuse(f"{what}={value!r} is not a time (seconds since 1970, up to year 9999)")


def _integer(value: Any, what: str, bounds: tuple[int, int]) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _refuse(f"{what} must be an integer, not {type(value).__name__}")
    if not bounds[0] <= value <= bounds[1]:
        raise _refuse(f"{what}={value} is out of range ({bounds[0]} to {bounds[1]})")


def _text(value: Any, what: str, length: int | None) -> None:
    if not isinstance(value, str):
        raise _refuse(f"{what} must be text, not {type(value).__name__}")
    if length is not None and len(value) > length:
        raise _refuse(f"{what} is {len(value)} characters long; at most {length} are stored")


def _value(table: Table, column: Column[Any], value: Any, what: str) -> None:
    if value is None:
        if not column.nullable or column.primary_key:
            raise _refuse(f"{what} may not be null")
        return
    kind = column.type
    if isinstance(kind, Float):
        _number(value, what, column.name in _TIME_COLUMNS)
    elif isinstance(kind, BigInteger):
        _integer(value, what, _INT64)
    elif isinstance(kind, Integer):
        _integer(value, what, _INT32)
    elif isinstance(kind, (String, Text)):
        _text(value, what, getattr(kind, "length", None))
        expected = _JSON_COLUMNS.get((table.name, column.name))
        if expected is not None:
            parsed = json_text(value, what)
            if not isinstance(parsed, expected):
                raise _refuse(f"{what} must be JSON text of a {expected.__name__}")
            if (table.name, column.name) in _STRING_LISTS and not all(
                isinstance(v, str) for v in cast(list[Any], parsed)
            ):
                raise _refuse(f"{what} must be a JSON list of strings")
    if table is tasks and column.name == "status" and value not in STATUSES:
        raise _refuse(f"{what}={value!r} is not a status; use one of {', '.join(STATUSES)}")
    if table is tasks and column.name == "type" and value not in TASK_TYPES:
        raise _refuse(f"{what}={value!r} is not a task type; use one of {', '.join(TASK_TYPES)}")


def _row(table: Table, row: dict[str, Any], what: str) -> None:
    for name, value in row.items():
        if name not in table.c:
            raise _refuse(f"{what} has an unknown field {name!r}")
        _value(table, table.c[name], value, f"{what}.{name}")


def _task(record: TaskRecord, what: str) -> None:
    if record.warnings:
        raise _refuse(f"{what}.warnings is what a server reports on reading; do not send it")
    for name in ("script", "runtime"):
        if depth(getattr(record, name)) > MAX_JSON_DEPTH:
            raise _refuse(f"{what}.{name} nests deeper than {MAX_JSON_DEPTH} levels")
    _row(tasks, record.to_row(), what)


def _event(row: EventRow, index: int) -> None:
    what = f"event {index}"
    for position, name, length in _EVENT_TEXT:
        value = row[position]
        if value is not None and len(value) > length:  # type: ignore[arg-type]
            raise _refuse(f"{what}: its {name} is longer than {length} characters")
    if not row[0] or not row[3]:
        raise _refuse(f"{what} needs a task id and a kind")
    _integer(row[1], f"{what}: its writer id", _INT64)
    _integer(row[2], f"{what}: its sequence number", _INT64)
    _number(row[4], f"{what}: its time", True)
    if row[7] is not None:
        _integer(row[7], f"{what}: its iteration", _INT64)
    if row[9] is not None:
        _integer(row[9], f"{what}: its level", _INT32)
    if row[11] is not None:
        json_text(row[11], f"{what}: its payload")


def check_batch(batch: WriteBatch) -> None:
    """InvalidArgumentError naming the first value of ``batch`` the store must not hold."""
    for i, record in enumerate(batch.new_tasks):
        _task(record, f"new_tasks[{i}]")
    for i, (task_id, fields) in enumerate(batch.task_updates):
        _text(task_id, f"task update {i}: the task id", 32)
        _row(tasks, fields, f"task update {i}")
    records: list[Any]
    for key, table, records in (
        ("parameters", parameters, batch.parameters),
        ("configurations", configurations, batch.configurations),
        ("artifacts", artifacts, batch.artifacts),
        ("models", models, batch.models),
    ):
        for i, item in enumerate(records):
            _row(table, dict(item.__dict__), f"{key}[{i}]")
    for i, event in enumerate(batch.events):
        _event(event, i)


def referenced_tasks(batch: WriteBatch) -> set[str]:
    """The ids of tasks ``batch`` writes to without creating them."""
    ids = {u[0] for u in batch.task_updates}
    ids.update(e[0] for e in batch.events)
    for records in (batch.parameters, batch.configurations, batch.artifacts, batch.models):
        ids.update(r.task_id for r in records)
    return ids - {t.id for t in batch.new_tasks}


class KnownTasks:
    """Which task ids exist, remembered once seen (a task is never deleted by the server)."""

    def __init__(self, store: Store, remember: int = 100_000) -> None:
        self.store = store
        self.remember = remember
        self._known: set[str] = set()

    def check(self, batch: WriteBatch) -> None:
        """InvalidArgumentError when ``batch`` writes to a task that does not exist."""
        for task_id in sorted(referenced_tasks(batch) - self._known):
            try:
                self.store.get_task(task_id)
            except TaskNotFoundError:
                raise _refuse(
                    f"it writes to task {task_id!r}, which does not exist; a task's events, "
                    "parameters and changes are accepted once the task is created (new_tasks)"
                ) from None
            self._add(task_id)

    def stored(self, batch: WriteBatch) -> None:
        """``batch`` was committed: the tasks it created exist."""
        for record in batch.new_tasks:
            self._add(record.id)

    def _add(self, task_id: str) -> None:
        if len(self._known) >= self.remember:
            self._known.clear()
        self._known.add(task_id)
