"""OTLP request bodies made by the real OpenTelemetry SDK and its OTLP encoder."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer

PROTOBUF = {"content-type": "application/x-protobuf"}
JSON = {"content-type": "application/json"}


def record(make: Callable[[Tracer], None], **resource: Any) -> list[ReadableSpan]:
    """The spans ``make`` produces with a real tracer of a provider with ``resource``."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(resource))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    make(provider.get_tracer("tests.otlp"))
    provider.shutdown()
    return list(exporter.get_finished_spans())


def protobuf(spans: list[ReadableSpan]) -> bytes:
    return bytes(encode_spans(spans).SerializeToString())


def otlp_json(spans: list[ReadableSpan]) -> bytes:
    """The OTLP/JSON encoding (ids as hex, as the specification asks)."""
    document = json_format.MessageToDict(encode_spans(spans))
    for resource_spans in document["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
    return json.dumps(document).encode()


def llm_trace(tracer: Tracer, question: str = "What is 2+2?", session: str = "s-1") -> None:
    """An agent span around an OpenInference LLM call."""
    with tracer.start_as_current_span(
        "agent", attributes={"openinference.span.kind": "AGENT", "input.value": question}
    ) as agent:
        with tracer.start_as_current_span("ChatCompletion", attributes={
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o-mini",
            "llm.token_count.prompt": 12,
            "llm.token_count.completion": 3,
            "llm.input_messages.0.message.role": "user",
            "llm.input_messages.0.message.content": question,
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": "4",
            "session.id": session,
            "user.id": "ada",
            "metadata": '{"experiment": "a"}',
        }):  # fmt: skip
            pass
        agent.set_attribute("output.value", "4")
