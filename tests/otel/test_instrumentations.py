"""The real ``openai`` client, instrumented by ``openinference-instrumentation-openai`` and by
``opentelemetry-instrumentation-openai-v2``, talking to an OpenAI stand-in on 127.0.0.1,
recorded in-process by ``chaintrack.otel.register``: chat completions, streaming, tool calls
and an error land as chaintrack spans with the right kind, model, tokens, messages, nesting."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai_standin import COMPLETION_TOKENS, MODEL, PROMPT_TOKENS, OpenAIStandIn
from opentelemetry.trace import Status, StatusCode

from chaintrack import Task
from chaintrack.otel import register
from chaintrack.store.records import SPAN

TOOLS = [{"type": "function", "function": {
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}}]  # fmt: skip


@pytest.fixture
def standin() -> Iterator[OpenAIStandIn]:
    server = OpenAIStandIn()
    yield server
    server.close()


def _calls(client: openai.OpenAI) -> None:
    """The four calls of every test: a completion, a stream, a tool call, an error."""
    hello = [{"role": "user", "content": "hello there"}]
    client.chat.completions.create(model="gpt-4o-mini", messages=hello)  # type: ignore[arg-type]
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "stream please"}],
        stream=True, stream_options={"include_usage": True},
    )  # fmt: skip
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == (
        "Echo: stream please"
    )
    client.chat.completions.create(model="gpt-4o-mini", tools=TOOLS,  # type: ignore[arg-type]
                                   messages=[{"role": "user", "content": "weather?"}])  # fmt: skip
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="gpt-4o-mini",
                                       messages=[{"role": "user", "content": "fail"}])  # fmt: skip


def _record(instrumentor: Any, standin: OpenAIStandIn) -> tuple[Task, list[dict[str, Any]]]:
    task = Task.init(project_name="otel", task_name="openai")
    provider = register(task=task, set_global=False)
    instrumentor.instrument(tracer_provider=provider)
    try:
        client = openai.OpenAI(base_url=standin.base_url, api_key="stand-in", max_retries=0)
        tracer = provider.get_tracer("tests")
        with tracer.start_as_current_span("my workflow") as workflow:
            _calls(client)
            workflow.set_status(Status(StatusCode.OK))
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    assert task.flush()
    spans = [e.data for e in task._read_store().get_events(task.id, SPAN)]
    return task, sorted(spans, key=lambda s: s["start_time"])


def _check_common(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    workflow, *calls = spans
    assert workflow["name"] == "my workflow" and workflow["parent_id"] is None
    assert len(calls) == 4
    for call in calls:
        assert call["parent_id"] == workflow["span_id"]
        assert call["trace_id"] == workflow["trace_id"]
        assert call["kind"] == "chat_model"
        assert call["latency_ms"] > 0
    done, streamed, tool, failed = calls
    for call in (done, streamed, tool):
        assert call["model_name"] == MODEL and call["status"] == "ok"
        tokens = (call["prompt_tokens"], call["completion_tokens"])
        assert tokens == (PROMPT_TOKENS, COMPLETION_TOKENS)
        assert call["total_tokens"] == PROMPT_TOKENS + COMPLETION_TOKENS
    assert done["input"] == "user: hello there"
    assert done["output"] == "assistant: Echo: hello there"
    assert streamed["output"] == "assistant: Echo: stream please"
    assert tool["input"] == "user: weather?"
    assert failed["status"] == "error"
    assert "The stand-in refuses this prompt." in failed["error"]
    assert failed["input"] == "user: fail"
    return calls


def test_openinference_openai_spans_become_chaintrack_spans(standin: OpenAIStandIn) -> None:
    from openinference.instrumentation.openai import OpenAIInstrumentor

    task, spans = _record(OpenAIInstrumentor(), standin)
    calls = _check_common(spans)
    tool, failed = calls[2], calls[3]
    assert tool["output"] == 'assistant: → get_weather({"city": "Paris"})'
    assert "BadRequestError" in failed["error"]  # the exception event, with its stack
    assert "llm.tools.0.tool.json_schema" in tool["attributes"]
    assert tool["attributes"]["llm.system"] == "openai"
    assert task.get_spans()["kind"].tolist().count("chat_model") == 4


def test_genai_openai_v2_spans_become_chaintrack_spans(
    standin: OpenAIStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    _task, spans = _record(OpenAIInstrumentor(), standin)
    calls = _check_common(spans)
    tool = calls[2]
    assert tool["output"] == 'assistant: → get_weather({"city": "Paris"})'
    assert tool["attributes"]["gen_ai.provider.name"] == "openai"
    assert "gen_ai.input.messages" not in tool["attributes"]  # shown as the input instead
