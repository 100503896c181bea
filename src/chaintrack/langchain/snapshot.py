"""What a callback keeps of its arguments: a copy, taken when the callback fires.

The records are built later, on the writer's thread. An application that changes its state after
a call (an agent appending to its message list, a conversation history reused across turns, a
LangGraph state dict updated in place, a message whose content is edited) must not change what
was recorded, so every callback copies what it was given before it returns:

- ``dict``, ``list``, ``tuple``, ``set`` and ``deque`` are copied, all the way down;
- pydantic models (messages, prompt values, documents, ``LLMResult`` and its generations) and
  plain objects with a ``__dict__`` (an ``AgentAction``, a LangChain ``Document`` of an older
  kind) are copied shallowly, with the containers they hold copied as above, so that a later
  ``message.content = …`` or ``doc.metadata["k"] = …`` changes the application's object only;
- strings, numbers, ``None``, ``bytes``, UUIDs, enums and other values that cannot change are
  kept as they are (no copy is needed);
- anything else is kept as it is when it is immutable in practice (a function, a class), and an
  object whose copy fails is recorded as its ``repr`` (never an exception).

The copy costs the caller's thread about 1 µs for a small payload (a chat model's two messages)
and stays proportional to the number of containers and objects, not to the text's size: long
strings are shared, not copied. ``benchmarks/bench_langchain.py`` measures it.
"""

from __future__ import annotations

import copy
import datetime as dt
import enum
import uuid
from collections import deque
from decimal import Decimal
from types import FunctionType, MappingProxyType, MethodType
from typing import Any

#: Types whose values never change: kept by reference.
_ATOMS: frozenset[type] = frozenset(
    {str, int, float, bool, type(None), bytes, complex, uuid.UUID, Decimal, dt.datetime,
     dt.date, dt.time, dt.timedelta, range, FunctionType, MethodType, type}
)  # fmt: skip
#: Subclasses of these cannot change either.
_IMMUTABLE_BASES = (str, int, float, bytes, enum.Enum)
#: Deeper than this, a value is kept by reference (a cycle, or a pathological nesting).
MAX_DEPTH = 40


class Unsnapshottable:
    """Stands for a value whose copy failed: recorded as the value's ``repr``."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


def snapshot(value: Any, depth: int = 0) -> Any:
    """A copy of ``value`` that later changes to ``value`` do not reach (see the module)."""
    kind = type(value)
    if kind in _ATOMS:
        return value
    if depth > MAX_DEPTH:
        return value
    depth += 1
    try:
        if kind is dict:
            if not value:
                return {}
            return {k: v if type(v) in _ATOMS else snapshot(v, depth) for k, v in value.items()}
        if kind is list:
            if not value:
                return []
            return [v if type(v) in _ATOMS else snapshot(v, depth) for v in value]
        if kind is tuple:
            return tuple([snapshot(v, depth) for v in value])
        return _other(value, kind, depth)
    except Exception:
        return _as_repr(value)


def _other(value: Any, kind: type, depth: int) -> Any:
    """Subclasses of the builtin types, other containers, and objects."""
    if isinstance(value, _IMMUTABLE_BASES):  # a str subclass (LangChain's TextAccessor), enums
        return value
    if isinstance(value, dict):  # a dict subclass (OrderedDict, a TypedDict state…)
        copied = copy.copy(value)
        for k, v in value.items():
            copied[k] = snapshot(v, depth)
        return copied
    if isinstance(value, (list, set, frozenset, deque)):
        return kind(snapshot(v, depth) for v in value)
    if isinstance(value, tuple):  # a named tuple keeps its type
        items = [snapshot(v, depth) for v in value]
        return kind(*items) if hasattr(value, "_fields") else kind(items)
    if isinstance(value, MappingProxyType):
        return {k: snapshot(v, depth) for k, v in value.items()}
    return _object(value, depth)


def _object(value: Any, depth: int) -> Any:
    """A shallow copy of an object whose containers are copied too."""
    if hasattr(value, "__pydantic_fields_set__"):
        return _model(value, depth)
    fields = getattr(value, "__dict__", None)
    if not isinstance(fields, dict):
        return value  # no state of its own to copy (or slots only): kept as it is
    copied = copy.copy(value)
    target = copied.__dict__
    for name, item in fields.items():
        if type(item) not in _ATOMS:
            target[name] = snapshot(item, depth)
    return copied


_set_attribute = object.__setattr__
_LISTS_AND_DICTS = frozenset({list, dict})


def _field(value: Any, depth: int) -> Any:
    """A model's field: most are empty lists and dicts (a message's ``additional_kwargs``,
    ``tool_calls`` …), copied without a walk."""
    if type(value) in _LISTS_AND_DICTS and not value:
        return value.copy()
    return snapshot(value, depth)


def _model(value: Any, depth: int) -> Any:
    """A pydantic model's copy, as pydantic's ``__copy__`` makes it but with the containers
    of its fields copied too (twice as fast as ``copy.copy`` and then replacing fields)."""
    kind = type(value)
    copied = object.__new__(kind)
    _set_attribute(
        copied,
        "__dict__",
        {k: v if type(v) in _ATOMS else _field(v, depth) for k, v in value.__dict__.items()},
    )
    extra = value.__pydantic_extra__
    _set_attribute(copied, "__pydantic_extra__", None if extra is None else snapshot(extra, depth))
    _set_attribute(copied, "__pydantic_fields_set__", set(value.__pydantic_fields_set__))
    private = getattr(value, "__pydantic_private__", None)
    _set_attribute(copied, "__pydantic_private__", None if private is None else dict(private))
    return copied


def _as_repr(value: Any) -> Unsnapshottable:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__} object>"
    return Unsnapshottable(text[:10_000])
