"""AST -> SQLAlchemy Core condition on ``spans`` joined with ``tasks``.

Every value of the query becomes a bound parameter; field names map to columns through the
fixed table below, so no text of the query ever reaches the SQL. A condition on a value a span
does not have (no model, no feedback) is false, and ``not`` negates it: ``not model = "x"``
holds for spans without a model. Conditions are therefore never NULL.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal_column,
    not_,
    or_,
    select,
    true,
    tuple_,
)

from chaintrack.query import joins
from chaintrack.query.fields import FIELDS, FULL_TEXT
from chaintrack.query.nodes import And, Condition, Node, Not, Or, QueryError, Value
from chaintrack.store.schema import events, spans, tasks
from chaintrack.store.searchtext import span_text

#: Columns of fields stored on the span or its task; NOT NULL ones need no NULL guard.
COLUMNS: dict[str, Any] = {
    "kind": spans.c.kind,
    "name": spans.c.name,
    "status": spans.c.status,
    "model": spans.c.model_name,
    "latency_ms": spans.c.latency_ms,
    "prompt_tokens": spans.c.prompt_tokens,
    "completion_tokens": spans.c.completion_tokens,
    "total_tokens": spans.c.total_tokens,
    "cost_usd": spans.c.cost_usd,
    "thread_id": spans.c.thread_id,
    "task": tasks.c.name,
    "task_id": spans.c.task_id,
    "project": tasks.c.project,
    "start_time": spans.c.start_time,
}
_NOT_NULL = frozenset({"kind", "name", "status", "task", "task_id", "project", "start_time"})
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
#: The clock of relative times (tests set it).
clock = time.time
#: The trigram index answers needles of 3 characters or more.
MIN_TRIGRAM = 3


@dataclass
class Context:
    """What compiling depends on besides the query: the dialect and the clock (relative
    times)."""

    dialect: str
    now: float = field(default_factory=lambda: clock())  # noqa: PLW0108 - read at call time
    #: Text conditions (field, needle) to test span by span against the index (SQLite; see
    #: ``query/search.py``) rather than as the set of every span the index matches.
    probes: frozenset[tuple[str, str]] = frozenset()


def compare(column: Any, op: str, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column op value`` (``in`` takes every value) as SQL with bound parameters."""
    if op == "in":
        return column.in_(list(values))  # type: ignore[no-any-return]
    value = values[0]
    result: ColumnElement[bool]
    if op == "=":
        result = column == value
    elif op == "!=":
        result = column != value
    elif op == "<":
        result = column < value
    elif op == "<=":
        result = column <= value
    elif op == ">":
        result = column > value
    elif op == ">=":
        result = column >= value
    elif op == "~":
        result = column.ilike(_like_pattern(str(value)), escape="\\")
    else:  # pragma: no cover - the parser admits no other operator
        raise ValueError(op)
    return result


def _like_pattern(needle: str) -> str:
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def fts_phrase(column: str, needle: str) -> str:
    # An FTS5 query (not SQL; bound as a parameter): the column filter and one phrase, with
    # double quotes doubled as FTS5 wants.
    return f'{column} : "{needle.replace(chr(34), chr(34) * 2)}"'


class Compiler:
    def __init__(self, query: str, context: Context) -> None:
        self.query = query
        self.context = context

    def fail(self, pos: int, why: str) -> QueryError:
        return QueryError(self.query, pos, why)

    def compile(self, node: Node | None) -> ColumnElement[bool]:
        if node is None:
            return true()
        if isinstance(node, And):
            return and_(*(self.compile(item) for item in node.items))
        if isinstance(node, Or):
            return or_(*(self.compile(item) for item in node.items))
        if isinstance(node, Not):
            return not_(self.compile(node.item))
        return self.condition(node)

    # -- values --------------------------------------------------------------------------

    def number(self, cond: Condition, value: Value) -> float:
        if value.kind != "number":
            raise self.fail(value.pos, f"{cond.label} takes a number, as in {cond.label} > 100; "
                            f"found {value.value!r}")  # fmt: skip
        return float(value.value)

    def text(self, cond: Condition, value: Value) -> str:
        if value.kind == "number":
            number = float(value.value)
            return str(int(number)) if number.is_integer() else repr(number)
        return str(value.value)

    def when(self, cond: Condition, value: Value) -> float:
        if value.kind == "number":
            return float(value.value)
        text = str(value.value)
        if value.kind == "reltime":
            return self.context.now - int(text[1:-1]) * _UNITS[text[-1]]
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise self.fail(
                value.pos,
                f"{text!r} is not a time: use an ISO date "
                "(2026-01-31, 2026-01-31T08:00:00Z; UTC unless an offset is given), "
                "a relative time (-30m, -3h, -7d, -2w) or epoch seconds",
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.timezone.utc)
        return parsed.timestamp()

    # -- conditions ----------------------------------------------------------------------

    def condition(self, cond: Condition) -> ColumnElement[bool]:
        kind = FIELDS[cond.field]
        if cond.op == "~" and kind not in ("text", "key"):
            raise self.fail(
                cond.op_pos,
                f"~ (text match) applies to text fields; {cond.label} is a {kind} field: "
                "use =, !=, <, <=, >, >= or in",
            )
        if kind == "number":
            values: list[Any] = [self.number(cond, v) for v in cond.values]
            return self.guarded(cond.field, compare(COLUMNS[cond.field], cond.op, values))
        if kind == "time":
            values = [self.when(cond, v) for v in cond.values]
            return compare(COLUMNS[cond.field], cond.op, values)
        if kind == "tag":
            return self.tag(cond)
        if kind == "key":
            return self.keyed(cond)
        values = [self.text(cond, v) for v in cond.values]
        if cond.field in FULL_TEXT:
            return self.full_text(cond.field, cond.op, values)
        return self.guarded(cond.field, compare(COLUMNS[cond.field], cond.op, values))

    def guarded(self, name: str, condition: ColumnElement[bool]) -> ColumnElement[bool]:
        if name in _NOT_NULL:
            return condition
        return and_(COLUMNS[name].is_not(None), condition)

    def tag(self, cond: Condition) -> ColumnElement[bool]:
        import json

        if cond.op not in ("=", "!=", "in"):
            raise self.fail(cond.op_pos, 'tag takes =, != or in, as in tag = "prod"')
        # Tags are stored as a JSON list: a tag is present when its JSON string is.
        found = [tasks.c.tags.contains(json.dumps(self.text(cond, v)), autoescape=True)
                 for v in cond.values]  # fmt: skip
        any_found = or_(*found)
        return not_(any_found) if cond.op == "!=" else any_found

    def full_text(self, name: str, op: str, values: list[str]) -> ColumnElement[bool]:
        column = span_text.c[name]
        where = compare(column, op, values)
        if self.context.dialect == "sqlite":
            needle = values[0] if op in ("~", "=") else ""
            if op == "~":
                # The trigram index folds case itself; LIKE folds ASCII only.
                where = column.like(_like_pattern(needle), escape="\\")
                if len(needle) >= MIN_TRIGRAM:
                    where = literal_column("span_text").op("MATCH")(fts_phrase(name, needle))
            elif op == "=" and len(needle) >= MIN_TRIGRAM:
                match = literal_column("span_text").op("MATCH")(fts_phrase(name, needle))
                where = and_(match, where)
            if (name, needle) in self.context.probes:
                return self.probe(where)
        matching = select(span_text.c.task_id, span_text.c.span_id).where(where)
        return tuple_(spans.c.task_id, spans.c.span_id).in_(matching)

    def probe(self, where: ColumnElement[bool]) -> ColumnElement[bool]:
        """``where`` tested for the one span at hand: its row in the index has the span's
        rowid (``store/textindex.py``), which FTS5 seeks to in each term's list; the keys are
        compared too, so a rowid that changed (a VACUUM) never matches another span's text."""
        return exists(
            select(literal_column("1"))
            .select_from(span_text)
            .where(
                where,
                literal_column("span_text.rowid") == literal_column("spans.rowid"),
                span_text.c.task_id == spans.c.task_id,
                span_text.c.span_id == spans.c.span_id,
            )
        )

    def keyed(self, cond: Condition) -> ColumnElement[bool]:
        if cond.field == "attr":
            return self.attribute(cond)
        values = self.typed_values(cond)
        return joins.MAPPINGS[cond.field](cond.key, cond.op, values, compare, self.context.dialect)

    def typed_values(self, cond: Condition) -> list[Any]:
        kinds = {v.kind == "number" for v in cond.values}
        if len(kinds) > 1:
            raise self.fail(
                cond.values[0].pos, f"the values of {cond.label} in (…) are all numbers or all text"
            )
        if cond.op == "~":
            return [self.text(cond, v) for v in cond.values]
        return [float(v.value) if v.kind == "number" else str(v.value) for v in cond.values]

    def attribute(self, cond: Condition) -> ColumnElement[bool]:
        values = self.typed_values(cond)
        numeric = isinstance(values[0], float)
        span_event = (
            events.c.task_id == spans.c.task_id,
            events.c.kind == "span",
            events.c.writer == spans.c.writer,
            events.c.seq == spans.c.seq,
        )
        if self.context.dialect == "sqlite":
            path = f'$.attributes."{cond.key}"'  # the key is [A-Za-z0-9_.:/-] (the grammar)
            types = ("integer", "real") if numeric else ("text",)
            value = case(
                (func.json_type(events.c.data, path).in_(types),
                 func.json_extract(events.c.data, path)),
                else_=None,
            )  # fmt: skip
        else:
            from sqlalchemy.dialects.postgresql import JSONB

            node = cast(events.c.data, JSONB)["attributes"][cond.key]
            value = case(
                (func.jsonb_typeof(node) == ("number" if numeric else "string"),
                 cast(node.astext, Float) if numeric else node.astext),
                else_=None,
            )  # fmt: skip
        found = select(value).where(*span_event).scalar_subquery()
        return func.coalesce(compare(found, cond.op, values), false())


def compile_query(query: str, node: Node | None, context: Context) -> ColumnElement[bool]:
    """The WHERE condition of ``query`` (parsed into ``node``) over ``spans`` JOIN ``tasks``."""
    return Compiler(query, context).compile(node)
