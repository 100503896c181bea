"""OpenTelemetry in-process: spans of this process stored in a chaintrack task, no server.

``register(project_name=…, task_name=…)`` installs a ``TracerProvider`` whose span processor
hands every finished span to the task's writer, so any OTel instrumentation (OpenInference, the
GenAI instrumentations, your own spans) records into chaintrack. ``SpanProcessor`` is that
processor, for a provider you build yourself, and ``SpanExporter`` an exporter for your own
``BatchSpanProcessor``/``SimpleSpanProcessor``.

Both go through the SDK's one seam for producers, ``Task.event_source`` (``sdk/source.py``):
the app's thread only appends the finished span to the source's queue (as OpenTelemetry's
``BatchSpanProcessor`` appends to its own), and the writer thread converts the spans it drains
and writes them in its next transaction. No thread of their own; nothing is dropped: a queue
that outgrows the writer's limit is converted by the app's thread (and spills to disk with the
writer's queue), and at exit and on ``SIGTERM`` the writer drains its sources before it stops.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any

from chaintrack.errors import invalid, missing_dependency
from chaintrack.otel import linking
from chaintrack.otel.decode import OtelSpan, SpanEvent
from chaintrack.otel.mapping import payload
from chaintrack.sdk import items
from chaintrack.sdk.serialize import dumps
from chaintrack.store.records import SPAN

try:
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace import SpanProcessor as _SdkSpanProcessor
    from opentelemetry.sdk.trace.export import SpanExporter as _SdkSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult
except ModuleNotFoundError as exc:  # pragma: no cover - the [otel] extra is missing
    raise missing_dependency(exc.name or "opentelemetry-sdk", "otel", "OpenTelemetry") from None

log = logging.getLogger("chaintrack")


def to_otel_span(span: ReadableSpan) -> OtelSpan:
    """The mapping's view of an SDK span."""
    context = span.get_span_context()
    parent = span.parent
    status = span.status
    return OtelSpan(
        format(context.trace_id, "032x") if context else "0" * 32,
        format(context.span_id, "016x") if context else "0" * 16,
        format(parent.span_id, "016x") if parent is not None else None,
        span.name,
        span.kind.value + 1,  # the SDK counts from 0 (internal), OTLP from 1
        span.start_time or 0,
        span.end_time or span.start_time or 0,
        dict(span.attributes or {}),
        [SpanEvent(e.name, e.timestamp, dict(e.attributes or {})) for e in span.events],
        status.status_code.value,
        status.description or "",
        dict(span.resource.attributes),
        span.instrumentation_scope.name if span.instrumentation_scope else "",
    )


class _Reporter:
    """Converts SDK spans into the writer's items, each in the right task (the writer's
    thread, as the ``convert`` of the task's event source)."""

    def __init__(self, task: Any) -> None:
        self.task = task
        #: Tasks of LangChain handlers that spans were linked to, by id.
        self.tasks: dict[str, Any] = {}

    def convert(self, captured: list[Any]) -> list[items.Item]:
        """The items of the spans ``captured`` (single spans, or sequences of spans handed to
        the exporter)."""
        out: list[items.Item] = []
        own = self.task._writer
        for entry in captured:
            for span in entry if isinstance(entry, (list, tuple)) else (entry,):
                try:
                    data = payload(to_otel_span(span))
                    task_id = data["attributes"].pop(linking.TASK_ID, None)
                    task = self.tasks.get(task_id, self.task) if task_id else self.task
                    writer = task._writer
                    item = items.event(writer, task.id, SPAN, float(data["end_time"]),
                                       data=dumps(data))  # fmt: skip
                    if writer is own:
                        out.append(item)
                    else:  # a linked task of another store (its own writer)
                        writer.put(item)
                except Exception:  # a span that cannot be converted must not stop the others
                    log.exception("chaintrack: an OpenTelemetry span could not be recorded")
        return out


def _task_of(task: Any) -> Any:
    from chaintrack.sdk.task import Task

    task = task if task is not None else Task.current_task()
    if not isinstance(task, Task):
        raise invalid("task", task, "a chaintrack Task (or call Task.init first)")
    return task


class SpanProcessor(_SdkSpanProcessor):
    """Records every finished span into ``task`` (default: the current task)."""

    def __init__(self, task: Any = None) -> None:
        from chaintrack.sdk import lifecycle

        task = _task_of(task)
        self._reporter = _Reporter(task)
        self._source = task.event_source(self._reporter.convert)
        self._linked: dict[int, str] = {}  # trace id -> task id of a linked LangChain run
        # The task is completed and the writer (with its sources) drained at exit and on
        # SIGTERM, even when the task was opened without them.
        lifecycle.install()

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        if not self._linked and linking.CONFIG_MODULE not in sys.modules:
            return  # LangChain is not imported: no run to link to (the common, cheap case)
        try:
            parent = span.parent
            if parent is None or parent.is_remote:
                found = linking.current_run()
                if found is not None:
                    run_id, task = found
                    self._reporter.tasks[task.id] = task
                    if len(self._linked) > 10_000:
                        self._linked.clear()
                    self._linked[span.context.trace_id] = task.id
                    span.set_attribute(linking.PARENT_RUN, run_id)
                    span.set_attribute(linking.TASK_ID, task.id)
            elif self._linked:
                task_id = self._linked.get(span.context.trace_id)
                if task_id is not None:
                    span.set_attribute(linking.TASK_ID, task_id)
        except Exception:
            log.exception("chaintrack: could not link an OpenTelemetry span to LangChain")

    def on_end(self, span: ReadableSpan) -> None:
        self._source.put(span)  # an append (see sdk/source.py)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Wait until the spans ended so far are stored."""
        return bool(self._reporter.task.flush(wait_for_uploads=True))

    def shutdown(self) -> None:
        """Wait until the spans ended so far are stored (there is no thread of its own to
        stop), as the ``BatchSpanProcessor`` exports what it holds when shut down."""
        try:
            self._reporter.task.flush(wait_for_uploads=True)
        except Exception:  # never into the app (this also runs at exit)
            log.exception("chaintrack: OpenTelemetry spans could not be stored at shutdown")


class SpanExporter(_SdkSpanExporter):
    """An OpenTelemetry exporter into a chaintrack task (default: the current task), for a
    ``BatchSpanProcessor`` or ``SimpleSpanProcessor`` of your own provider. ``export`` hands
    the spans to the task's event source and returns; the writer thread converts them."""

    def __init__(self, task: Any = None) -> None:
        from chaintrack.sdk import lifecycle

        task = _task_of(task)
        self._reporter = _Reporter(task)
        self._source = task.event_source(self._reporter.convert)
        lifecycle.install()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self._source.put(tuple(spans))
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return bool(self._reporter.task.flush(wait_for_uploads=True))

    def shutdown(self) -> None:
        """Wait until the spans exported so far are stored."""
        try:
            self._reporter.task.flush(wait_for_uploads=True)
        except Exception:  # never into the app (this also runs at exit)
            log.exception("chaintrack: OpenTelemetry spans could not be stored at shutdown")


def register(
    project_name: str | None = None,
    task_name: str | None = None,
    *,
    task: Any = None,
    resource: dict[str, Any] | None = None,
    set_global: bool = True,
) -> TracerProvider:
    """Record this process's OpenTelemetry spans into a chaintrack task.

    The task is ``task``, else ``Task.init(project_name, task_name, task_type="inference")``
    (the current task when one is open). Returns the provider; with ``set_global`` (the
    default) it also becomes OpenTelemetry's global provider, which instrumentations use.
    """
    from chaintrack.sdk.task import Task

    if task is None:
        task = Task.init(project_name=project_name, task_name=task_name, task_type="inference")
    attributes = {"service.name": task.get_project_name(), **(resource or {})}
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(SpanProcessor(task))
    if set_global:
        trace.set_tracer_provider(provider)
    return provider
