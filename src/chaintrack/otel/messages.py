"""Chat messages of a model call, from either convention, as the text the trace view shows.

- OpenInference flattens each message into attributes:
  ``llm.input_messages.0.message.role``, ``….message.content``,
  ``….message.contents.0.message_content.text``,
  ``….message.tool_calls.0.tool_call.function.name`` / ``.arguments``.
- The GenAI semantic conventions (current) put JSON lists in ``gen_ai.input.messages`` /
  ``gen_ai.output.messages`` / ``gen_ai.system_instructions`` (``{"role", "parts": [{"type":
  "text", "content"}, {"type": "tool_call", "name", "arguments"}, …]}``), as span attributes
  or on an event; earlier versions sent one event per message (``gen_ai.user.message``,
  ``gen_ai.choice`` …) or flattened attributes (``gen_ai.prompt.0.role``).

Each message becomes a line ``role: text``; a tool call ``role: → name(arguments)``.
"""

from __future__ import annotations

import json
from typing import Any

#: GenAI event names of single messages (semantic conventions 1.26 to 1.36).
MESSAGE_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
CHOICE_EVENT = "gen_ai.choice"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _line(role: Any, parts: list[str]) -> str:
    return f"{role or 'message'}: " + "\n".join(p for p in parts if p)


def _call(name: Any, arguments: Any) -> str:
    return f"→ {name or 'tool'}({_text(_json(arguments)) if arguments is not None else ''})"


# -- OpenInference ----------------------------------------------------------------------------


def flattened(attributes: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """The messages under ``prefix`` (``llm.input_messages.``) as nested dicts, in order."""
    found: dict[int, dict[str, Any]] = {}
    for key, value in attributes.items():
        if not key.startswith(prefix):
            continue
        index, _, rest = key[len(prefix) :].partition(".")
        if not index.isdigit() or not rest:
            continue
        node = found.setdefault(int(index), {})
        parts = rest.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    return [found[i] for i in sorted(found)]


def _indexed(node: Any) -> list[Any]:
    """``{"0": {...}, "1": {...}}`` (a flattened list) as a list."""
    if not isinstance(node, dict):
        return []
    return [node[k] for k in sorted((k for k in node if k.isdigit()), key=int)]


def render_openinference(messages: list[dict[str, Any]]) -> str:
    lines = []
    for item in messages:
        message = item.get("message", item)
        parts = [_text(message.get("content"))] if message.get("content") is not None else []
        for content in _indexed(message.get("contents")):
            body = content.get("message_content", content) if isinstance(content, dict) else {}
            if isinstance(body, dict) and body.get("text") is not None:
                parts.append(_text(body.get("text")))
        for call in _indexed(message.get("tool_calls")):
            tool_call = call.get("tool_call", call) if isinstance(call, dict) else {}
            function = tool_call.get("function", {}) if isinstance(tool_call, dict) else {}
            parts.append(_call(function.get("name"), function.get("arguments")))
        lines.append(_line(message.get("role"), parts))
    return "\n".join(lines)


# -- GenAI semantic conventions ---------------------------------------------------------------


def _part(part: Any) -> str:
    if not isinstance(part, dict):
        return _text(part)
    kind = part.get("type")
    if kind == "text" or (kind is None and "content" in part):
        return _text(part.get("content"))
    if kind == "tool_call":
        return _call(part.get("name"), part.get("arguments"))
    if kind == "tool_call_response":
        return f"← {_text(part.get('response', part.get('result')))}"
    return _text(part)


def render_genai(value: Any) -> str:
    """A ``gen_ai.*.messages`` value (a JSON list, as text or already parsed)."""
    messages = _json(value)
    if isinstance(messages, dict):
        messages = [messages]
    if not isinstance(messages, list):
        return _text(messages)
    lines = []
    for message in messages:
        if not isinstance(message, dict):
            lines.append(_text(message))
            continue
        parts = message.get("parts")
        if isinstance(parts, list):
            rendered = [_part(p) for p in parts]
        else:  # a part list without a message around it (system instructions)
            rendered = [_part(message)]
            if "role" not in message:
                lines.append(rendered[0])
                continue
        lines.append(_line(message.get("role"), rendered))
    return "\n".join(lines)


def render_event_message(role: str, attributes: dict[str, Any]) -> str:
    """One message event of the 1.26–1.36 conventions (body fields as attributes)."""
    body = _json(attributes.get("gen_ai.event.content")) or attributes
    if not isinstance(body, dict):
        return _line(role, [_text(body)])
    if "message" in body and isinstance(_json(body["message"]), dict):  # gen_ai.choice
        body = _json(body["message"])
        role = body.get("role") or role
    parts = [_text(_json(body.get("content")))] if body.get("content") is not None else []
    for call in _json(body.get("tool_calls")) or []:
        if isinstance(call, dict):
            function = call.get("function") or {}
            parts.append(_call(function.get("name"), function.get("arguments")))
    return _line(body.get("role") or role, parts)


def render_prefixed(attributes: dict[str, Any], prefix: str) -> str:
    """OpenLLMetry's flattened ``gen_ai.prompt.0.role`` / ``.content`` / ``.tool_calls.0.…``."""
    lines = []
    for message in flattened(attributes, prefix):
        parts = [_text(message.get("content"))] if message.get("content") is not None else []
        for call in _indexed(message.get("tool_calls")):
            if isinstance(call, dict):
                parts.append(_call(call.get("name"), call.get("arguments")))
        lines.append(_line(message.get("role"), parts))
    return "\n".join(lines)
