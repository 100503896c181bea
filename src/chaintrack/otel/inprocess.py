"""OpenTelemetry in-process: spans of this process stored in a chaintrack task, no server.

``register(project_name=…, task_name=…)`` installs a ``TracerProvider`` whose span processor
hands every finished span to the task's writer (through ``Logger._report_span``), so any OTel
instrumentation (OpenInference, the GenAI instrumentations, your own spans) records into
chaintrack. ``SpanProcessor`` is that processor, for a provider you build yourself, and
``SpanExporter`` an exporter for your own ``BatchSpanProcessor``/``SimpleSpanProcessor``.

The app's thread only appends the finished span to a queue (as OpenTelemetry's
``BatchSpanProcessor`` does); the thread ``chaintrack-otel`` converts spans and passes them on.
Nothing is dropped: at exit, on ``SIGTERM`` and on ``force_flush`` the queue is converted and
the writer drained; a queue that outgrows ``MAX_QUEUE`` is converted by the app's thread.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import signal
import threading
import weakref
from collections.abc import Sequence
from types import FrameType
from typing import Any

from chaintrack.errors import invalid, missing_dependency
from chaintrack.otel import linking
from chaintrack.otel.decode import OtelSpan, SpanEvent
from chaintrack.otel.mapping import payload

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

#: Spans converted per pass of the thread (and the queue length that wakes it early).
BATCH = 512
#: Seconds a finished span may wait before the thread converts it.
INTERVAL = 0.2
#: Past this many waiting spans the app's thread converts them itself (bounded memory, no loss).
MAX_QUEUE = 100_000


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
    """Converts SDK spans and reports them into the right task."""

    def __init__(self, task: Any) -> None:
        self.task = task
        #: Tasks of LangChain handlers that spans were linked to, by id.
        self.tasks: dict[str, Any] = {}

    def report(self, spans: Sequence[ReadableSpan]) -> None:
        for span in spans:
            try:
                data = payload(to_otel_span(span))
                task_id = data["attributes"].pop(linking.TASK_ID, None)
                task = self.tasks.get(task_id, self.task) if task_id else self.task
                task.get_logger()._report_span(data)
            except Exception:  # a span that cannot be converted must not stop the others
                log.exception("chaintrack: an OpenTelemetry span could not be recorded")


class SpanProcessor(_SdkSpanProcessor):
    """Records every finished span into ``task`` (default: the current task)."""

    def __init__(self, task: Any = None) -> None:
        from chaintrack.sdk.task import Task

        task = task if task is not None else Task.current_task()
        if not isinstance(task, Task):
            raise invalid("task", task, "a chaintrack Task (or call Task.init first)")
        self._reporter = _Reporter(task)
        self._queue: collections.deque[ReadableSpan] = collections.deque()
        self._wake = threading.Event()
        self._lock = threading.Lock()  # one converter at a time keeps spans in order
        self._closed = False
        self._linked: dict[int, str] = {}  # trace id -> task id of a linked LangChain run
        self._thread = threading.Thread(target=self._run, name="chaintrack-otel", daemon=True)
        self._thread.start()
        _live.add(self)
        _install_hooks()

    # -- the app's thread ---------------------------------------------------------------------

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        try:
            parent = span.parent
            if parent is None or parent.is_remote:
                found = linking.current_run()
                if found is not None:
                    run_id, task = found
                    self._reporter.tasks[task.id] = task
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
        queue = self._queue
        queue.append(span)
        if len(queue) >= BATCH or self._closed:
            if len(queue) > MAX_QUEUE or self._closed:
                self._convert()
            else:
                self._wake.set()

    # -- the thread chaintrack-otel ----------------------------------------------------------

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(INTERVAL)
            self._wake.clear()
            self._convert()

    def _convert(self) -> None:
        with self._lock:
            queue = self._queue
            while queue:
                taken = [queue.popleft() for _ in range(min(len(queue), BATCH))]
                self._reporter.report(taken)
            if len(self._linked) > 10_000:
                self._linked.clear()

    # -- ends --------------------------------------------------------------------------------

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Convert what is queued and wait until the writer stored it."""
        self._convert()
        return bool(self._reporter.task.flush())

    def shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        self._convert()


_live: weakref.WeakSet[SpanProcessor] = weakref.WeakSet()
_hooks_pid: int | None = None
_previous_sigterm: Any = None


def _shutdown_all() -> None:
    for processor in list(_live):
        try:
            processor.shutdown()
        except Exception:
            log.exception("chaintrack: queued OpenTelemetry spans were not recorded")


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    _shutdown_all()
    previous = _previous_sigterm
    if callable(previous):
        previous(signum, frame)
    elif previous != signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.raise_signal(signal.SIGTERM)


def _install_hooks() -> None:
    """At exit and on SIGTERM, the spans still queued reach the writer before chaintrack
    drains it: atexit runs hooks in reverse order of registration, and this SIGTERM handler
    calls the one it replaced (chaintrack's, which drains the writer) after its own work."""
    global _hooks_pid, _previous_sigterm
    from chaintrack.sdk import lifecycle

    lifecycle.install()
    if _hooks_pid == os.getpid():
        return
    _hooks_pid = os.getpid()
    atexit.register(_shutdown_all)
    if threading.current_thread() is threading.main_thread():
        current = signal.getsignal(signal.SIGTERM)
        if current is not _on_sigterm:
            _previous_sigterm = current
            signal.signal(signal.SIGTERM, _on_sigterm)


class SpanExporter(_SdkSpanExporter):
    """An OpenTelemetry exporter into a chaintrack task (default: the current task), for a
    ``BatchSpanProcessor`` or ``SimpleSpanProcessor`` of your own provider."""

    def __init__(self, task: Any = None) -> None:
        from chaintrack.sdk.task import Task

        task = task if task is not None else Task.current_task()
        if not isinstance(task, Task):
            raise invalid("task", task, "a chaintrack Task (or call Task.init first)")
        self._reporter = _Reporter(task)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self._reporter.report(spans)
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return bool(self._reporter.task.flush())


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
