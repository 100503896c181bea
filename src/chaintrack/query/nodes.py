"""The AST of a span query, and the error a bad query raises (with its position)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from chaintrack.errors import InvalidArgumentError


class QueryError(InvalidArgumentError):
    """A span query that cannot be run: the message shows the query with a caret under the
    offending position, says why, and lists the fields allowed."""

    def __init__(self, query: str, position: int, reason: str) -> None:
        self.query = query
        self.position = position
        self.reason = reason
        shown = query if len(query) <= 200 else query[:200] + "…"
        caret = " " * min(position, len(shown)) + "^"
        message = f"invalid span query at position {position}: {reason}\n  {shown}\n  {caret}"
        if "Allowed fields" not in reason:
            from chaintrack.query.fields import allowed_fields_text

            message += "\n" + allowed_fields_text()
        super().__init__(message)


@dataclass(frozen=True)
class Value:
    """A literal: ``kind`` is "string", "number" or "reltime" (``-7d``)."""

    kind: str
    value: str | float
    pos: int


@dataclass(frozen=True)
class Condition:
    """``field[.key] op value`` or ``field in (values…)``."""

    field: str
    key: str
    op: str
    values: tuple[Value, ...]
    pos: int
    op_pos: int

    @property
    def label(self) -> str:
        return f"{self.field}.{self.key}" if self.key else self.field


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node: TypeAlias = "Condition | And | Or | Not"
