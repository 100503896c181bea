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

The copy costs the caller's thread about 2 to 3 µs a message (a chat model's call with two
messages, its result and the chain's steps: about 30 µs in all per invocation of a three-step
chain) and stays proportional to the number of containers and objects, not to the text's size:
long strings are shared, not copied. How each type is copied is decided once per type.
``benchmarks/bench_langchain.py`` measures it.
"""

from __future__ import annotations

import copy
import datetime as dt
import enum
import uuid
from collections import deque
from collections.abc import Callable
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
#: The copier of each type met so far (see ``_copier``); types are few in an application.
_COPIERS: dict[type, Callable[[Any, int], Any]] = {}


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
        copier = _COPIERS.get(kind)
        if copier is None:
            copier = _COPIERS[kind] = _copier(kind)
        return copier(value, depth)
    except Exception:
        return _as_repr(value)


def snapshot_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A callback's ``**kwargs``, made safe to keep: Python built that dict for this call, so
    only the values that can change (``tags``, ``metadata``, ``invocation_params`` …) are
    copied, in place, and no second dict is made."""
    try:
        for name, value in kwargs.items():
            if type(value) not in _ATOMS:
                kwargs[name] = snapshot(value, 1)  # same keys: the iteration stays valid
    except Exception:
        return {name: _as_repr(value) for name, value in kwargs.items()}
    return kwargs


def _copier(kind: type) -> Callable[[Any, int], Any]:
    """How values of ``kind`` (other than dict and list) are copied: chosen once per type."""
    if issubclass(kind, _IMMUTABLE_BASES):  # a str subclass (LangChain's TextAccessor), enums
        return _same
    if issubclass(kind, dict):  # a dict subclass (OrderedDict, a TypedDict state…)
        return _dict_subclass
    if issubclass(kind, (list, set, frozenset, deque)):
        return _collection
    if kind is tuple:
        return _tuple
    if issubclass(kind, tuple):  # a named tuple keeps its type
        return _named_tuple
    if issubclass(kind, MappingProxyType):
        return _mapping_proxy
    if hasattr(kind, "__pydantic_fields_set__"):
        return _model
    return _object


def _same(value: Any, _depth: int) -> Any:
    return value


def _tuple(value: Any, depth: int) -> Any:
    return tuple([snapshot(v, depth) for v in value])


def _dict_subclass(value: Any, depth: int) -> Any:
    copied = copy.copy(value)
    for k, v in value.items():
        copied[k] = snapshot(v, depth)
    return copied


def _collection(value: Any, depth: int) -> Any:
    return type(value)(snapshot(v, depth) for v in value)


def _named_tuple(value: Any, depth: int) -> Any:
    items = [snapshot(v, depth) for v in value]
    return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)


def _mapping_proxy(value: Any, depth: int) -> Any:
    return {k: snapshot(v, depth) for k, v in value.items()}


def _object(value: Any, depth: int) -> Any:
    """A shallow copy of an object whose containers are copied too."""
    if hasattr(value, "__pydantic_fields_set__"):  # a model whose class did not say so
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


def _fields(fields: dict[str, Any], depth: int) -> dict[str, Any]:
    """A model's ``__dict__``, copied: most fields are text or empty lists and dicts (a
    message's ``additional_kwargs``, ``tool_calls`` …), and a dict of plain values (its
    ``response_metadata``) is copied without a call per value."""
    copied = fields.copy()
    atoms = _ATOMS
    for name, value in fields.items():
        kind = type(value)
        if kind in atoms:
            continue
        if kind is dict:
            copied[name] = {
                k: v if type(v) in atoms else snapshot(v, depth) for k, v in value.items()
            }
        elif kind is list:
            copied[name] = [v if type(v) in atoms else snapshot(v, depth) for v in value]
        else:
            copied[name] = snapshot(value, depth)
    return copied


def _model(value: Any, depth: int) -> Any:
    """A pydantic model's copy, as pydantic's ``__copy__`` makes it but with the containers
    of its fields copied too (twice as fast as ``copy.copy`` and then replacing fields)."""
    kind = type(value)
    copied = object.__new__(kind)
    _set_attribute(copied, "__dict__", _fields(value.__dict__, depth + 1))
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
