"""Outputs as text (for the text scorers) and as JSON (for the store)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

#: Keys whose value is taken as a dict output's answer, in this order.
ANSWER_KEYS = ("output", "answer", "result", "text", "content", "response")


def as_text(value: Any) -> str:
    """The text of an output: a string as is, a message's content, the last message of a
    LangGraph state's ``messages``, a dict's answer key, else its JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    content = getattr(value, "content", None)
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") if isinstance(p, Mapping) else str(p) for p in content)
    if isinstance(value, Mapping):
        messages = value.get("messages")
        if isinstance(messages, Sequence) and messages and not isinstance(messages, str):
            return as_text(messages[-1])
        for key in ANSWER_KEYS:
            if key in value:
                return as_text(value[key])
        if len(value) == 1:
            return as_text(next(iter(value.values())))
    return to_json(value)


def _default(value: Any) -> Any:
    content = getattr(value, "content", None)
    if content is not None and hasattr(value, "type"):  # a LangChain message
        return {"type": getattr(value, "type", None), "content": content}
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


def to_json(value: Any) -> str:
    """JSON text of any output (what JSON cannot hold is shown as its text)."""
    return json.dumps(value, default=_default, ensure_ascii=False)


def from_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)
