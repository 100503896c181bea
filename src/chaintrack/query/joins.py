"""Conditions on tables other than ``spans``: ``feedback.<name>`` and ``score.<name>``.

Each is one small mapping function that takes the table to join (as reflected from the
database) and returns an EXISTS condition on the span. The tables are made by other parts of
chaintrack (human feedback, experiment scores); until a store has them, a query naming these
fields gets a clear error instead of SQL that cannot run. ``available_tables`` finds them.

To wire a new table of this shape (task_id, span_id, name, value…): add its name to
``OPTIONAL_TABLES`` and a function like ``feedback_condition`` below.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, MetaData, Table, exists, inspect

from chaintrack.store.schema import spans

#: field prefix -> the table it reads.
OPTIONAL_TABLES = {"feedback": "feedback", "score": "scores"}

Compare = Callable[[Any, str, Sequence[Any]], ColumnElement[bool]]


class NotAvailableError(LookupError):
    """A field reads a table this store does not have yet."""


def available_tables(conn: Connection) -> dict[str, Table]:
    """The optional tables this store has, reflected: {field prefix: table}."""
    names = set(inspect(conn).get_table_names())
    found: dict[str, Table] = {}
    reflected = MetaData()
    for prefix, table_name in OPTIONAL_TABLES.items():
        if table_name in names:
            found[prefix] = Table(table_name, reflected, autoload_with=conn)
    return found


def _value_column(table: Table, values: Sequence[Any]) -> Any:
    # Numbers compare with ``value``; text with ``label`` when the table has one.
    if values and isinstance(values[0], str) and "label" in table.c:
        return table.c.label
    return table.c.value


def _keyed_exists(
    table: Table, name: str, op: str, values: Sequence[Any], compare: Compare
) -> ColumnElement[bool]:
    conditions = [table.c.task_id == spans.c.task_id, table.c.name == name]
    if "span_id" in table.c:
        conditions.append(table.c.span_id == spans.c.span_id)
    conditions.append(compare(_value_column(table, values), op, values))
    return exists().where(*conditions)


def feedback_condition(
    table: Table, name: str, op: str, values: Sequence[Any], compare: Compare
) -> ColumnElement[bool]:
    """``feedback.<name> op value``: the span has feedback ``name`` whose value matches."""
    return _keyed_exists(table, name, op, values, compare)


def score_condition(
    table: Table, name: str, op: str, values: Sequence[Any], compare: Compare
) -> ColumnElement[bool]:
    """``score.<name> op value``: the span (or its task, for task-level scores) has a score
    ``name`` whose value matches."""
    return _keyed_exists(table, name, op, values, compare)


MAPPINGS = {"feedback": feedback_condition, "score": score_condition}


def not_available(prefix: str) -> str:
    what = {"feedback": "human feedback", "score": "experiment scores"}[prefix]
    return (f"{prefix}.<name> is not available in this store yet: it has no "
            f"{OPTIONAL_TABLES[prefix]!r} table (it does not record {what} yet)")  # fmt: skip
