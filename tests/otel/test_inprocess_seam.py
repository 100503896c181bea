"""The in-process processor and exporter go through the SDK's one seam for producers
(``Task.event_source``): no thread of their own, the writer thread converts the spans, and a
user's own ``BatchSpanProcessor`` around ``SpanExporter`` stores every span it is given."""

from __future__ import annotations

import threading

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

from chaintrack import Task
from chaintrack.otel import SpanExporter, SpanProcessor, register
from chaintrack.store.records import SPAN


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate()}


def _stored(task: Task) -> list[dict[str, object]]:
    return [e.data for e in task._read_store().get_events(task.id, SPAN)]


def test_the_processor_starts_no_thread_and_the_writer_converts_its_spans() -> None:
    task = Task.init(project_name="otel", task_name="seam")
    task.get_logger().report_text("the writer is running")
    assert task.flush(wait_for_uploads=True)
    before = _threads()
    provider = register(task=task, set_global=False)
    tracer = provider.get_tracer("tests.seam")
    converting: list[str] = []
    processor = provider._active_span_processor._span_processors[0]
    assert isinstance(processor, SpanProcessor)
    convert = processor._reporter.convert

    def watched(captured: list[object]) -> list[tuple[object, ...]]:
        converting.append(threading.current_thread().name)
        return convert(captured)

    processor._source.convert = watched
    for i in range(300):
        with tracer.start_as_current_span(f"call {i}", attributes={"input.value": f"q{i}"}):
            pass
    assert provider.force_flush()
    assert _threads() == before  # no chaintrack-otel (or any other) thread was started
    assert converting and threading.current_thread().name not in converting
    assert sorted(s["name"] for s in _stored(task)) == sorted(f"call {i}" for i in range(300))
    assert {s["input"] for s in _stored(task)} == {f"q{i}" for i in range(300)}


def test_span_exporter_under_a_batch_span_processor_stores_every_span() -> None:
    task = Task.init(project_name="otel", task_name="exporter")
    exporter = SpanExporter(task)
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=5_000))
    tracer = provider.get_tracer("tests.exporter")
    for i in range(1_000):
        with tracer.start_as_current_span(f"step {i}", attributes={
            "openinference.span.kind": "TOOL", "tool.name": "search"}):  # fmt: skip
            pass
    assert provider.force_flush()
    assert exporter.force_flush()
    stored = _stored(task)
    assert len(stored) == 1_000
    assert {s["name"] for s in stored} == {f"step {i}" for i in range(1_000)}
    assert {s["kind"] for s in stored} == {"tool"}
    provider.shutdown()


def test_span_exporter_under_a_simple_span_processor_keeps_parents() -> None:
    task = Task.init(project_name="otel", task_name="simple")
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(SpanExporter(task)))
    tracer = provider.get_tracer("tests.simple")
    with tracer.start_as_current_span("root") as root, tracer.start_as_current_span("child"):
        pass
    assert provider.force_flush() and task.flush(wait_for_uploads=True)
    spans = {s["name"]: s for s in _stored(task)}
    assert spans["child"]["parent_id"] == format(root.get_span_context().span_id, "016x")
    assert spans["root"]["parent_id"] is None


def test_shutting_the_provider_down_stores_what_was_ended() -> None:
    task = Task.init(project_name="otel", task_name="shutdown")
    mine, theirs = register(task=task, set_global=False), TracerProvider()
    theirs.add_span_processor(BatchSpanProcessor(SpanExporter(task)))
    for provider, name in ((mine, "processor"), (theirs, "exporter")):
        with provider.get_tracer("tests.shutdown").start_as_current_span(name):
            pass
        provider.shutdown()  # no force_flush, no task.flush: the spans are stored on return
        assert name in {s["name"] for s in _stored(task)}
