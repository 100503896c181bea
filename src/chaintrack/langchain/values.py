"""LangChain values as record values: flat, JSON-safe, text where a person reads them.

Everything here runs on the background writer's thread (or in a read that the user asked for),
never in a callback. Nothing here evaluates or renders the text it handles: prompts and outputs
are data.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

#: Longest text kept in a record or a span field; longer texts are cut with a note.
MAX_TEXT = 100_000

_SCALARS = (str, int, float, bool, type(None))


def clip(text: str, limit: int = MAX_TEXT) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters not kept]"


def flatten(value: Mapping[str, Any], prefix: str = "", sep: str = "_") -> dict[str, Any]:
    """Nested dict keys joined with ``_`` (``token_usage`` -> ``token_usage_total_tokens``);
    leaves become record values (see :func:`cell`)."""
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(item, Mapping) and item:
            flat.update(flatten(item, name, sep))
        else:
            flat[name] = cell(item)
    return flat


def cell(value: Any) -> Any:
    """A record value: str, int, float, bool or None stay; anything else becomes JSON text."""
    if isinstance(value, _SCALARS):
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            return None
        return clip(value) if isinstance(value, str) else value
    return clip(json.dumps(jsonable(value), ensure_ascii=False, default=str))


def message_dict(message: Any) -> dict[str, Any]:
    """A chat message as ``{"role", "content"}`` (plus name, tool calls and tool call id)."""
    entry: dict[str, Any] = {
        "role": getattr(message, "type", "message"),
        "content": jsonable(getattr(message, "content", "")),
    }
    for extra in ("name", "tool_call_id"):
        found = getattr(message, extra, None)
        if found:
            entry[extra] = str(found)
    calls = getattr(message, "tool_calls", None)
    if calls:
        entry["tool_calls"] = tool_calls(message)
    return entry


def tool_calls(message: Any) -> list[dict[str, Any]]:
    """The tool calls an AI message asks for: name, args and id of each."""
    return [
        {"name": c.get("name"), "args": jsonable(c.get("args")), "id": c.get("id")}
        for c in getattr(message, "tool_calls", None) or ()
        if isinstance(c, Mapping)
    ]


def _is_message(value: Any) -> bool:
    return hasattr(value, "content") and hasattr(value, "type") and hasattr(value, "id")


def jsonable(value: Any, depth: int = 0) -> Any:
    """A JSON-safe copy: messages, documents, prompt values and models become plain data."""
    if isinstance(value, _SCALARS):
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            return None
        return value
    if depth > 20:
        return repr(value)[:200]
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v, depth + 1) for v in value]
    if _is_message(value):
        return message_dict(value)
    if hasattr(value, "page_content"):  # a Document
        return {
            "page_content": str(value.page_content),
            "metadata": jsonable(getattr(value, "metadata", {}), depth + 1),
        }
    if hasattr(value, "to_messages") and hasattr(value, "to_string"):  # a PromptValue
        return [message_dict(m) for m in value.to_messages()]
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return jsonable(dump(), depth + 1)
        except Exception:  # a model that cannot dump itself is shown as text
            return str(value)
    return str(value)


def messages_text(messages: Sequence[Any]) -> str:
    """Messages as one text with roles, as LangChain shows them ("System: …\\nHuman: …")."""
    from langchain_core.messages import get_buffer_string

    try:
        return get_buffer_string(list(messages))
    except Exception:  # not messages after all
        return "\n".join(as_text(m) or "" for m in messages)


def as_text(value: Any) -> str | None:
    """What a person reads for an input or an output: text as is, messages with their roles,
    a prompt value as its text, a document's content, anything else as JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return clip(value)
    if _is_message(value):
        content = value.content
        if isinstance(content, str) and not getattr(value, "tool_calls", None):
            return clip(content) if value.type in ("ai", "tool") else messages_text([value])
        return clip(json.dumps(message_dict(value), ensure_ascii=False, default=str))
    if hasattr(value, "to_messages") and hasattr(value, "to_string"):
        return clip(str(value.to_string()))
    if hasattr(value, "page_content"):
        return clip(str(value.page_content))
    if isinstance(value, (list, tuple)) and value and all(_is_message(v) for v in value):
        return clip(messages_text(value))
    return cell(value) if not isinstance(value, _SCALARS) else str(value)


def chain_input(inputs: Any) -> str | None:
    """The text of a chain's inputs: the ``input`` (or ``human_input``) key when it is text,
    otherwise all of it (LCEL passes strings, messages, prompt values, any dict)."""
    if isinstance(inputs, Mapping):
        for key in ("input", "human_input"):
            if isinstance(inputs.get(key), str):
                return clip(inputs[key])
    return as_text(inputs)


def chain_output(outputs: Any) -> str | None:
    """The text of a chain's outputs: the ``output`` (or ``text``) key, otherwise all of it."""
    if isinstance(outputs, Mapping):
        for key in ("output", "text"):
            if key in outputs:
                return as_text(outputs[key])
    return as_text(outputs)


def run_name(serialized: Any, kwargs: Mapping[str, Any]) -> str | None:
    """A run's name: the one LangChain passes, else the serialized object's."""
    name = kwargs.get("name")
    if isinstance(name, str) and name:
        return name
    if isinstance(serialized, Mapping):
        if isinstance(serialized.get("name"), str):
            return str(serialized["name"])
        ids = serialized.get("id")
        if isinstance(ids, list) and ids:
            return str(ids[-1])
    return None


def token_usage(usage: Any) -> dict[str, Any]:
    """Token counts as ``token_usage_prompt_tokens``, ``…_completion_tokens``,
    ``…_total_tokens`` (from OpenAI-style or ``usage_metadata``-style names), plus any other
    counts given, flattened."""
    if not isinstance(usage, Mapping) or not usage:
        return {}
    found = flatten(usage, "token_usage")
    prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    completion = usage.get("completion_tokens", usage.get("output_tokens"))
    total = usage.get("total_tokens")
    if total is None and isinstance(prompt, int) and isinstance(completion, int):
        total = prompt + completion
    normalized = {
        "token_usage_prompt_tokens": prompt,
        "token_usage_completion_tokens": completion,
        "token_usage_total_tokens": total,
    }
    for key in ("input_tokens", "output_tokens"):
        found.pop(f"token_usage_{key}", None)
    return {
        **{k: v for k, v in normalized.items() if v is not None},
        **{k: v for k, v in found.items() if k not in normalized},
    }


def generation_usage(generation: Any) -> dict[str, Any]:
    """The token usage a generation carries itself (a chat message's ``usage_metadata``)."""
    message = getattr(generation, "message", None)
    return token_usage(getattr(message, "usage_metadata", None))


def model_name(llm_output: Any, generation: Any, invocation: Mapping[str, Any]) -> str | None:
    for source in (
        llm_output if isinstance(llm_output, Mapping) else {},
        getattr(getattr(generation, "message", None), "response_metadata", None) or {},
        getattr(generation, "generation_info", None) or {},
        invocation,
    ):
        for key in ("model_name", "model", "model_id"):
            if isinstance(source.get(key), str) and source[key]:
                return str(source[key])
    return None


def delta_text(delta: Any) -> str:
    """The text a v3 stream's ``content-block-delta`` adds: text, reasoning or tool-call args."""
    if not isinstance(delta, Mapping):
        return ""
    for key in ("text", "reasoning", "args", "data"):
        if isinstance(delta.get(key), str):
            return str(delta[key])
    return ""
