"""OTLP/HTTP into the server (in-process app): protobuf and JSON, gzip, retries stored once,
partial success, how spans become tasks and threads, bad bodies (400, 413) and hostile text."""

from __future__ import annotations

import datetime as dt
import gzip
import html
import json
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.trace import Tracer
from otlp_helpers import JSON, PROTOBUF, llm_trace, otlp_json, protobuf, record
from server_helpers import Api

from chaintrack.otel.tasks import task_id_for
from chaintrack.server.app import create_app
from chaintrack.store.base import Store
from chaintrack.store.records import SPAN, TaskQuery
from chaintrack.store.views import TaskPageQuery

TOKEN = "otlp-token"
XSS = "<script>alert(1)</script>"


def _spans(store: Store, task_id: str) -> dict[str, dict[str, Any]]:
    return {e.data["name"]: e.data for e in store.get_events(task_id, SPAN)}


def _stored_tasks(store: Store) -> list[Any]:
    return store.find_tasks(TaskQuery())


def test_protobuf_spans_are_stored_as_a_tree_in_the_project_task(api: Api, store: Store) -> None:
    spans = record(llm_trace, **{"chaintrack.project": "shop", "chaintrack.task": "checkout"})
    answer = api.post("/v1/traces", content=protobuf(spans), headers=PROTOBUF)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/x-protobuf"
    reply = ExportTraceServiceResponse.FromString(answer.content)
    assert reply.partial_success.rejected_spans == 0
    (task,) = _stored_tasks(store)
    assert (task.project, task.name, task.id) == ("shop", "checkout",
                                                  task_id_for("shop", "checkout"))  # fmt: skip
    stored = _spans(store, task.id)
    agent, llm = stored["agent"], stored["ChatCompletion"]
    assert agent["kind"] == "agent" and agent["parent_id"] is None
    assert llm["parent_id"] == agent["span_id"]
    assert llm["trace_id"] == agent["trace_id"] == format(spans[0].context.trace_id, "032x")
    assert llm["kind"] == "chat_model" and llm["model_name"] == "gpt-4o-mini"
    assert (llm["prompt_tokens"], llm["completion_tokens"], llm["total_tokens"]) == (12, 3, 15)
    assert llm["input"] == "user: What is 2+2?" and llm["output"] == "assistant: 4"
    assert llm["thread_id"] == "s-1"
    assert llm["attributes"]["user.id"] == "ada"
    assert llm["attributes"]["metadata"] == '{"experiment": "a"}'
    assert "cost_usd" not in llm  # no stated cost: the store prices it from model and tokens
    assert agent["input"] == "What is 2+2?" and agent["output"] == "4"
    trace = store.trace_page(task.id, 0, 20)
    assert [(v.depth, v.span["name"]) for v in trace.spans] == [(0, "agent"),
                                                                 (1, "ChatCompletion")]  # fmt: skip


def test_json_and_gzip_bodies_are_accepted_and_retries_store_each_span_once(
    api: Api, store: Store
) -> None:
    spans = record(llm_trace, **{"service.name": "svc"})
    body = otlp_json(spans)
    for _ in range(3):  # an exporter's retries after lost answers
        answer = api.post("/v1/traces", content=body, headers=JSON)
        assert answer.status_code == 200
        assert answer.json() == {}
    zipped = gzip.compress(protobuf(spans))
    again = api.post("/v1/traces", content=zipped,
                     headers={**PROTOBUF, "content-encoding": "gzip"})  # fmt: skip
    assert again.status_code == 200
    (task,) = _stored_tasks(store)
    assert len(store.get_events(task.id, SPAN)) == 2
    (row,) = store.task_page(TaskPageQuery()).rows
    assert (row.stats.spans, row.stats.llm_calls, row.stats.total_tokens) == (2, 1, 15)
    assert store.trace_page(task.id, 0, 20).total_roots == 1


def test_without_chaintrack_attributes_a_service_gets_one_task_per_utc_day(
    api: Api, store: Store
) -> None:
    spans = record(llm_trace, **{"service.name": "billing"})
    assert api.post("/v1/traces", content=protobuf(spans), headers=PROTOBUF).status_code == 200
    (task,) = _stored_tasks(store)
    day = dt.datetime.fromtimestamp(spans[0].start_time / 1e9, dt.UTC).date().isoformat()
    assert (task.project, task.name) == ("billing", f"billing {day}")
    assert "opentelemetry" in task.tags and task.type == "inference"


def test_spans_for_an_unknown_task_id_are_refused_by_partial_success(
    api: Api, store: Store
) -> None:
    unknown = record(llm_trace, **{"chaintrack.task_id": "f" * 32})
    known = record(llm_trace, **{"chaintrack.project": "p", "chaintrack.task": "t"})
    body = protobuf(unknown + known)
    answer = api.post("/v1/traces", content=body, headers=PROTOBUF)
    assert answer.status_code == 200
    reply = ExportTraceServiceResponse.FromString(answer.content)
    assert reply.partial_success.rejected_spans == 2
    assert "names no task of this server" in reply.partial_success.error_message
    assert [t.name for t in _stored_tasks(store)] == ["t"]
    # The task id of an existing task routes spans into it.
    target = _stored_tasks(store)[0].id
    routed = record(llm_trace, **{"chaintrack.task_id": target})
    assert api.post("/v1/traces", content=protobuf(routed), headers=PROTOBUF).status_code == 200
    assert len(store.get_events(target, SPAN)) == 4


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        (b"\x0a\xff\xff\xff\x0f", PROTOBUF, "not an OTLP protobuf trace request"),
        (b'{"resourceSpans": [', JSON, "not JSON"),
        (b'{"resourceSpans": 3}', JSON, "not an OTLP JSON trace request"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}', JSON,
         "is not a hex id"),
        (b"hello", {"content-type": "text/plain"}, "is not OTLP"),
        (gzip.compress(b"x" * 100)[:20], {**PROTOBUF, "content-encoding": "gzip"}, "truncated"),
        (b"not gzip at all", {**PROTOBUF, "content-encoding": "gzip"}, "not valid gzip"),
    ],
    ids=["protobuf", "json", "json-shape", "json-id", "content-type", "gzip-cut", "gzip-bad"],
)  # fmt: skip
def test_a_malformed_body_is_a_clear_400(
    api: Api, store: Store, body: bytes, headers: dict[str, str], expected: str
) -> None:
    answer = api.post("/v1/traces", content=body, headers=headers)
    assert answer.status_code == 400
    if headers["content-type"] == "application/json":
        assert expected in answer.json()["message"] and answer.json()["code"] == 3
    else:
        assert expected in answer.content.decode(errors="replace")
    assert _stored_tasks(store) == []


def test_a_truncated_protobuf_body_is_refused_whole(api: Api, store: Store) -> None:
    body = protobuf(record(llm_trace, **{"service.name": "cut"}))
    answer = api.post("/v1/traces", content=body[: len(body) // 2], headers=PROTOBUF)
    assert answer.status_code == 400
    assert _stored_tasks(store) == []


def test_oversized_bodies_get_413_before_and_after_decompression(store: Store) -> None:
    small = Api(create_app(store, max_request_bytes=4096))
    try:
        body = protobuf(record(lambda t: [llm_trace(t, "x" * 5000)], **{"service.name": "big"}))
        answer = small.post("/v1/traces", content=body, headers=PROTOBUF)
        assert answer.status_code == 413
        assert "CHAINTRACK_SERVER_MAX_REQUEST_MB" in answer.json()["detail"]
        zipped = gzip.compress(body)
        assert len(zipped) < 4096
        inflated = small.post("/v1/traces", content=zipped,
                              headers={**PROTOBUF, "content-encoding": "gzip"})  # fmt: skip
        assert inflated.status_code == 413
    finally:
        small.close()
    assert _stored_tasks(store) == []


def test_the_token_guards_otlp(store: Store) -> None:
    locked = Api(create_app(store, auth_token=TOKEN))
    try:
        body = protobuf(record(llm_trace, **{"service.name": "guarded"}))
        assert locked.post("/v1/traces", content=body, headers=PROTOBUF).status_code == 401
        ok = locked.post("/v1/traces", content=body,
                         headers={**PROTOBUF, "authorization": f"Bearer {TOKEN}"})  # fmt: skip
        assert ok.status_code == 200
    finally:
        locked.close()
    assert len(_stored_tasks(store)) == 1


def test_hostile_attributes_are_shown_as_text_on_the_trace_tab(api: Api, store: Store) -> None:
    def hostile(tracer: Tracer) -> None:
        with tracer.start_as_current_span(XSS, attributes={
            "openinference.span.kind": "TOOL", "tool.name": XSS, "input.value": XSS,
            XSS: XSS, "nested": json.dumps({"html": XSS}),
        }) as span:  # fmt: skip
            span.add_event(XSS, {"payload": XSS})

    body = protobuf(record(hostile, **{"service.name": "evil"}))
    assert api.post("/v1/traces", content=body, headers=PROTOBUF).status_code == 200
    (task,) = _stored_tasks(store)
    page = api.get(f"/tasks/{task.id}?tab=trace").text
    assert XSS not in page
    assert html.escape(XSS, quote=False) in page or html.escape(XSS) in page
    assert "Attributes" in page and "tool.name" in page


def test_an_error_span_keeps_its_status_and_exception(api: Api, store: Store) -> None:
    def failing(tracer: Tracer) -> None:
        with tracer.start_as_current_span("call", attributes={
            "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
        }):  # fmt: skip
            raise_in = tracer.start_span("tool", attributes={"gen_ai.operation.name":
                                                             "execute_tool"})  # fmt: skip
            raise_in.record_exception(ValueError("the tool broke"))
            from opentelemetry.trace import Status, StatusCode

            raise_in.set_status(Status(StatusCode.ERROR, "tool failed"))
            raise_in.end()

    body = protobuf(record(failing, **{"service.name": "errs"}))
    assert api.post("/v1/traces", content=body, headers=PROTOBUF).status_code == 200
    (task,) = _stored_tasks(store)
    stored = _spans(store, task.id)
    tool = stored["tool"]
    assert tool["status"] == "error" and tool["kind"] == "tool"
    assert tool["error"].startswith("tool failed\nValueError: the tool broke")
    assert stored["call"]["status"] == "ok" and stored["call"]["kind"] == "chat_model"
