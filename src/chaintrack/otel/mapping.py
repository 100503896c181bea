"""An OpenTelemetry span as a chaintrack span: the payload ``Logger._report_span`` stores.

Two conventions name what a span of an LLM application did:

- **OpenInference** (Arize: Phoenix and its instrumentations): ``openinference.span.kind``,
  ``llm.model_name``, ``llm.token_count.*``, ``llm.input_messages`` / ``llm.output_messages``,
  ``input.value`` / ``output.value``, ``tool.name``, ``retrieval.documents``, ``session.id``;
- the **OpenTelemetry GenAI semantic conventions**: ``gen_ai.operation.name``,
  ``gen_ai.request.model`` / ``gen_ai.response.model``, ``gen_ai.usage.*_tokens``, messages as
  attributes or as events, ``gen_ai.tool.*``, ``gen_ai.conversation.id``.

Both fill the same fields (kind, model, tokens, input, output, error, latency, thread); every
attribute not turned into a field is kept under ``attributes`` and shown on the trace view. A
cost is stored only when the span states one (``llm.cost.total``); otherwise the store prices
the call from its model and tokens.
"""

from __future__ import annotations

from typing import Any

from chaintrack.otel import messages as m
from chaintrack.otel.decode import OtelSpan

#: Longest input or output text kept (characters), as for LangChain runs.
MAX_TEXT = 100_000

OPENINFERENCE_KINDS = {
    "LLM": "llm",
    "CHAIN": "chain",
    "TOOL": "tool",
    "RETRIEVER": "retriever",
    "RERANKER": "retriever",
    "EMBEDDING": "embedding",
    "AGENT": "agent",
}
GENAI_KINDS = {
    "chat": "chat_model",
    "generate_content": "chat_model",
    "text_completion": "llm",
    "embeddings": "embedding",
    "execute_tool": "tool",
    "invoke_agent": "agent",
    "create_agent": "agent",
    "retrieval": "retriever",
}
_IN_MESSAGES = "llm.input_messages."
_OUT_MESSAGES = "llm.output_messages."
_PROMPT = "gen_ai.prompt."
_COMPLETION = "gen_ai.completion."
#: Attributes that become fields of the payload (not repeated under ``attributes``).
_FIELDS = frozenset({
    "openinference.span.kind", "llm.model_name", "embedding.model_name",
    "llm.token_count.prompt", "llm.token_count.completion", "llm.token_count.total",
    "input.value", "output.value", "session.id", "gen_ai.conversation.id",
    "gen_ai.operation.name", "gen_ai.request.model", "gen_ai.response.model",
    "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
    "gen_ai.usage.prompt_tokens", "gen_ai.usage.completion_tokens",
    "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
    "gen_ai.tool.call.arguments", "gen_ai.tool.call.result", "llm.cost.total",
    "chaintrack.parent_run_id",
})  # fmt: skip
_MESSAGE_PREFIXES = (_IN_MESSAGES, _OUT_MESSAGES, _PROMPT, _COMPLETION)


def _clip(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_TEXT:
        return text
    return f"{text[:MAX_TEXT]}… [{len(text) - MAX_TEXT} more characters not kept]"


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _first(attributes: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = attributes.get(key)
        if value is not None and value != "":
            return value
    return None


def _kind(span: OtelSpan, attributes: dict[str, Any], chat: bool) -> str:
    oi = attributes.get("openinference.span.kind")
    if isinstance(oi, str) and oi.upper() in OPENINFERENCE_KINDS:
        kind = OPENINFERENCE_KINDS[oi.upper()]
        return "chat_model" if kind == "llm" and chat else kind
    operation = attributes.get("gen_ai.operation.name")
    if isinstance(operation, str) and operation in GENAI_KINDS:
        return GENAI_KINDS[operation]
    if isinstance(oi, str) or isinstance(operation, str):
        return "chain"  # GUARDRAIL, EVALUATOR, PROMPT … and operations of later conventions
    if "gen_ai.request.model" in attributes or "gen_ai.system" in attributes:
        return "chat_model" if chat else "llm"
    return "chain"


def _split(attributes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(the attributes kept as they are, the message attributes by prefix), in one pass: the
    messages are then read from their own few attributes, not from all of them again."""
    kept: dict[str, Any] = {}
    groups: dict[str, dict[str, Any]] = {}
    for key, value in attributes.items():
        if key in _FIELDS:
            continue
        if key.startswith(_MESSAGE_PREFIXES):
            for prefix in _MESSAGE_PREFIXES:
                if key.startswith(prefix):
                    group = groups.get(prefix)
                    if group is None:
                        group = groups[prefix] = {}
                    group[key] = value
            continue
        kept[key] = value
    return kept, groups


def _messages(
    span: OtelSpan, attributes: dict[str, Any], prefixes: dict[str, dict[str, Any]]
) -> tuple[str | None, str | None]:
    """(input, output) as rendered messages, when the span carries messages."""
    inputs: list[str] = []
    outputs: list[str] = []
    if _IN_MESSAGES in prefixes:
        inputs.append(m.render_openinference(m.flattened(prefixes[_IN_MESSAGES], _IN_MESSAGES)))
    if _OUT_MESSAGES in prefixes:
        outputs.append(m.render_openinference(m.flattened(prefixes[_OUT_MESSAGES], _OUT_MESSAGES)))
    sources = [attributes] + [e.attributes for e in span.events]
    for source in sources:
        if "gen_ai.system_instructions" in source:
            inputs.append("system: " + m.render_genai(source["gen_ai.system_instructions"]))
        if "gen_ai.input.messages" in source:
            inputs.append(m.render_genai(source["gen_ai.input.messages"]))
        if "gen_ai.output.messages" in source:
            outputs.append(m.render_genai(source["gen_ai.output.messages"]))
    for event in span.events:
        if event.name in m.MESSAGE_EVENTS:
            inputs.append(m.render_event_message(m.MESSAGE_EVENTS[event.name], event.attributes))
        elif event.name == m.CHOICE_EVENT:
            outputs.append(m.render_event_message("assistant", event.attributes))
    if _PROMPT in prefixes:
        inputs.append(m.render_prefixed(prefixes[_PROMPT], _PROMPT))
    if _COMPLETION in prefixes:
        outputs.append(m.render_prefixed(prefixes[_COMPLETION], _COMPLETION))
    return ("\n".join(inputs) if inputs else None, "\n".join(outputs) if outputs else None)


def _error(span: OtelSpan) -> str | None:
    """The exception events (type, message, stack), else the status message of an error."""
    found = []
    for event in span.events:
        if event.name == "exception":
            a = event.attributes
            text = f"{a.get('exception.type') or 'Exception'}: {a.get('exception.message') or ''}"
            if a.get("exception.stacktrace"):
                text += f"\n{a['exception.stacktrace']}"
            found.append(text)
    if span.status_code == 2:
        if not found:
            return span.status_message or "error"
        if span.status_message and span.status_message not in found[0]:
            found.insert(0, span.status_message)
    return "\n".join(found) if found else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else m._text(value)


def payload(span: OtelSpan) -> dict[str, Any]:
    """The chaintrack span of ``span`` (see ``langchain/spans.py`` for the field names)."""
    a = span.attributes
    kept, prefixes = _split(a)
    rendered_in, rendered_out = _messages(span, a, prefixes)
    chat = (
        a.get("gen_ai.operation.name") == "chat"
        or _IN_MESSAGES in prefixes
        or "gen_ai.input.messages" in a
    )
    kind = _kind(span, a, chat)
    error = _error(span)
    prompt = _count(_first(a, "llm.token_count.prompt", "gen_ai.usage.input_tokens",
                           "gen_ai.usage.prompt_tokens"))  # fmt: skip
    completion = _count(_first(a, "llm.token_count.completion", "gen_ai.usage.output_tokens",
                               "gen_ai.usage.completion_tokens"))  # fmt: skip
    total = _count(a.get("llm.token_count.total"))
    if total is None and (prompt is not None or completion is not None):
        total = (prompt or 0) + (completion or 0)
    if kind == "tool" and "gen_ai.tool.call.arguments" in a:
        given_in, given_out = a.get("gen_ai.tool.call.arguments"), a.get("gen_ai.tool.call.result")
    else:
        given_in, given_out = a.get("input.value"), a.get("output.value")
    # A model call shows its messages; other spans (and calls without messages) their values.
    text_in = rendered_in if rendered_in is not None else _text(given_in)
    text_out = rendered_out if rendered_out is not None else _text(given_out)
    start = span.start_unix_nano / 1e9
    end = (span.end_unix_nano or span.start_unix_nano) / 1e9
    # The raw request and response, beside the messages rendered from them.
    if rendered_in is not None and given_in is not None:
        kept["input.value"] = given_in
    if rendered_out is not None and given_out is not None:
        kept["output.value"] = given_out
    if span.scope:
        kept["otel.scope.name"] = span.scope
    events = [
        {"name": e.name, "time": e.time_unix_nano / 1e9, "attributes": e.attributes}
        for e in span.events
        if e.name != "exception"
        and e.name not in m.MESSAGE_EVENTS
        and e.name != m.CHOICE_EVENT
        and "gen_ai.input.messages" not in e.attributes
        and "gen_ai.output.messages" not in e.attributes
    ]
    out: dict[str, Any] = {
        "span_id": span.span_id,
        # A root span started inside a LangChain run hangs under it (see linking.py).
        "parent_id": span.parent_span_id or _text(a.get("chaintrack.parent_run_id")),
        "trace_id": span.trace_id,
        "thread_id": _text(
            _first(a, "session.id", "gen_ai.conversation.id") or _first(span.resource, "session.id")
        ),
        "kind": kind,
        "name": span.name,
        "start_time": start,
        "end_time": end,
        "latency_ms": round((end - start) * 1000, 3),
        "status": "error" if error is not None else "ok",
        "error": error,
        "input": _clip(text_in),
        "output": _clip(text_out),
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total,
        "model_name": _text(
            _first(
                a,
                "llm.model_name",
                "gen_ai.response.model",
                "gen_ai.request.model",
                "embedding.model_name",
            )
        ),
        "attributes": kept,
    }
    if events:
        out["events"] = events
    cost = a.get("llm.cost.total")
    if isinstance(cost, (int, float)) and not isinstance(cost, bool):
        out["cost_usd"] = float(cost)
    return out
