"""The fields a span query may name, with their type: what the parser accepts and the compiler
maps to columns. The one list users see in every error message and in docs/search.md."""

from __future__ import annotations

#: field -> type: "text" (=, !=, <…, ~, in), "number", "time", "tag" (=, !=, in), "key" (a
#: field with a key: feedback.<name>, score.<name>, attr.<key>; numbers or text).
FIELDS: dict[str, str] = {
    "kind": "text",
    "name": "text",
    "status": "text",
    "model": "text",
    "latency_ms": "number",
    "prompt_tokens": "number",
    "completion_tokens": "number",
    "total_tokens": "number",
    "cost_usd": "number",
    "input": "text",
    "output": "text",
    "error": "text",
    "thread_id": "text",
    "task": "text",
    "task_id": "text",
    "project": "text",
    "tag": "tag",
    "start_time": "time",
    "feedback": "key",
    "score": "key",
    "attr": "key",
}
#: Fields written ``field.<key>``.
PREFIXES = frozenset(name for name, kind in FIELDS.items() if kind == "key")
#: Text fields matched with ``~`` through the full-text index.
FULL_TEXT = ("name", "input", "output", "error")


def allowed_fields_text() -> str:
    names = [f"{n}.<name>" if n in ("feedback", "score") else f"{n}.<key>" if n in PREFIXES
             else n for n in FIELDS]  # fmt: skip
    return "Allowed fields: " + ", ".join(names) + "."
