"""The GenAI conventions' other message styles (one event per message, the operation-details
event, OpenLLMetry's flattened attributes), tool calls and retrievers, on real SDK spans."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer

from chaintrack.otel.inprocess import to_otel_span
from chaintrack.otel.mapping import payload


def _one(make: Callable[[Tracer], None]) -> dict[str, Any]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    make(provider.get_tracer("tests.mapping"))
    spans: list[ReadableSpan] = list(exporter.get_finished_spans())
    assert len(spans) == 1
    return payload(to_otel_span(spans[0]))


def test_genai_messages_as_one_event_per_message() -> None:
    def make(tracer: Tracer) -> None:
        with tracer.start_as_current_span("chat claude", attributes={
            "gen_ai.operation.name": "chat", "gen_ai.system": "anthropic",
            "gen_ai.request.model": "claude-3-5-haiku", "gen_ai.usage.input_tokens": 20,
            "gen_ai.usage.output_tokens": 4, "gen_ai.conversation.id": "conv-9",
        }) as span:  # fmt: skip
            span.add_event("gen_ai.system.message", {"content": "Be brief."})
            span.add_event("gen_ai.user.message", {"content": "Weather in Paris?"})
            call = {
                "id": "c1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
            }
            message = json.dumps({"role": "assistant", "tool_calls": [call]})
            span.add_event("gen_ai.choice", {"index": 0, "finish_reason": "tool_calls",
                                             "message": message})  # fmt: skip

    span = _one(make)
    assert span["kind"] == "chat_model" and span["model_name"] == "claude-3-5-haiku"
    assert span["input"] == "system: Be brief.\nuser: Weather in Paris?"
    assert span["output"] == 'assistant: → weather({"city": "Paris"})'
    assert (span["prompt_tokens"], span["completion_tokens"], span["total_tokens"]) == (20, 4, 24)
    assert span["thread_id"] == "conv-9"
    assert "events" not in span  # the message events became the input and output


def test_genai_operation_details_event_and_a_tool_span() -> None:
    def make(tracer: Tracer) -> None:
        with tracer.start_as_current_span("chat", attributes={
            "gen_ai.operation.name": "chat", "gen_ai.response.model": "gpt-4.1",
        }) as span:  # fmt: skip
            span.add_event("gen_ai.client.inference.operation.details", {
                "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Hi"}]),
                "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [
                    {"type": "text", "content": "2+2?"}]}]),
                "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [
                    {"type": "text", "content": "4"}], "finish_reason": "stop"}]),
            })  # fmt: skip

    span = _one(make)
    assert span["input"] == "system: Hi\nuser: 2+2?"
    assert span["output"] == "assistant: 4"

    def tool(tracer: Tracer) -> None:
        with tracer.start_as_current_span("execute_tool weather", attributes={
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "weather",
            "gen_ai.tool.call.arguments": '{"city": "Paris"}', "gen_ai.tool.call.result": "sunny",
        }):  # fmt: skip
            pass

    called = _one(tool)
    assert called["kind"] == "tool"
    assert (called["input"], called["output"]) == ('{"city": "Paris"}', "sunny")
    assert called["attributes"]["gen_ai.tool.name"] == "weather"


def test_openllmetry_flattened_prompts_and_openinference_kinds() -> None:
    def make(tracer: Tracer) -> None:
        with tracer.start_as_current_span("openai.chat", attributes={
            "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o",
            "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "hello",
            "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": "hi",
            "gen_ai.usage.prompt_tokens": 5, "gen_ai.usage.completion_tokens": 1,
        }):  # fmt: skip
            pass

    span = _one(make)
    assert span["kind"] == "llm"
    assert (span["input"], span["output"]) == ("user: hello", "assistant: hi")
    assert (span["prompt_tokens"], span["completion_tokens"]) == (5, 1)
    for oi, kind in [("RETRIEVER", "retriever"), ("EMBEDDING", "embedding"), ("TOOL", "tool"),
                     ("AGENT", "agent"), ("CHAIN", "chain"), ("LLM", "llm")]:  # fmt: skip
        made = _one(lambda t, oi=oi: t.start_span("s", attributes={  # type: ignore[misc]
            "openinference.span.kind": oi, "llm.cost.total": 0.25}).end())  # fmt: skip
        assert made["kind"] == kind
        assert made["cost_usd"] == 0.25  # a stated cost is kept as stated
