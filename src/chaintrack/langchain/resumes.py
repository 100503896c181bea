"""LangGraph's pauses and resumptions: which turn of a thread paused, and the turn that resumes it.

A graph that calls ``interrupt()`` stops; the application later runs it again on the same
thread with ``graph.invoke(Command(resume=value), config)``. The two runs are separate roots
(two turns of the thread); chaintrack ties them together on the resumed turn's root span:

- ``resume``: the value the run resumed with (``Command(resume=...)``), as JSON text;
- ``resumes``: the trace id (root span id) of the paused turn it continues, when this handler
  saw that turn pause (same process);
- ``interrupt_checkpoint_id`` on the paused root and ``resume_checkpoint_id`` on the resumed
  one, from LangGraph's ``on_interrupt`` / ``on_resume`` callbacks: equal for a pause and its
  resumption, so they match across processes too.

The paused turn's root span gets the status ``interrupted`` (its interrupted node already has
it): the Threads view shows the turn as paused. All of this runs on the writer's thread, inside
the :class:`~chaintrack.langchain.records.Recorder`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from chaintrack.langchain import values as v
from chaintrack.langchain.ids import id_text
from chaintrack.langchain.spans import Run

#: Paused turns remembered per handler (the oldest are forgotten first): a thread paused longer
#: ago than this many other pauses is resumed without a ``resumes`` link (its checkpoint ids
#: still match).
MAX_PAUSED = 10_000


def lifecycle_fields(event: Any) -> dict[str, Any]:
    """What the ``on_interrupt`` / ``on_resume`` callbacks keep of LangGraph's event (taken
    on the caller's thread: plain values, the interrupt payloads copied by the caller)."""
    namespace = getattr(event, "checkpoint_ns", ()) or ()
    fields: dict[str, Any] = {
        "lifecycle_status": getattr(event, "status", None),
        "checkpoint_id": getattr(event, "checkpoint_id", None),
        "checkpoint_ns": "|".join(str(part) for part in namespace),
    }
    interrupts = getattr(event, "interrupts", None)
    if interrupts is not None:
        fields["interrupts"] = [getattr(i, "value", i) for i in interrupts]
        fields["interrupt_ids"] = [getattr(i, "id", None) for i in interrupts]
    return fields


def _is_root(run: Run, run_id: Any) -> bool:
    return run.trace_id == id_text(run_id)


class Pauses:
    """The paused turns this handler saw, by trace and by thread."""

    def __init__(self) -> None:
        self._traces: set[str] = set()
        self._threads: OrderedDict[str, str] = OrderedDict()

    def started(self, run: Run, run_id: Any, argument: Any) -> None:
        """A chain run started: a root run given ``Command(resume=...)`` resumes its thread's
        paused turn."""
        if not _is_root(run, run_id) or type(argument).__name__ != "Command":
            return
        resume = getattr(argument, "resume", None)
        if resume is None:
            return
        run.graph["resume"] = v.cell(resume)
        if run.thread_id is not None:
            paused = self._threads.pop(run.thread_id, None)
            if paused is not None:
                run.graph["resumes"] = paused

    def interrupted(self, run: Run) -> None:
        """A run of the trace stopped on ``interrupt()``: its turn is paused."""
        if run.trace_id is None:
            return
        self._traces.add(run.trace_id)
        if run.thread_id is not None:
            self._threads[run.thread_id] = run.trace_id
            self._threads.move_to_end(run.thread_id)
            while len(self._threads) > MAX_PAUSED:
                self._threads.popitem(last=False)

    def lifecycle(self, action: str, data: Any, run: Run | None) -> dict[str, Any]:
        """The record of LangGraph's ``on_interrupt`` / ``on_resume``; marks the root run."""
        data = data if isinstance(data, Mapping) else {}
        fields: dict[str, Any] = {"name": run.name if run is not None else None}
        for key in ("lifecycle_status", "checkpoint_id", "checkpoint_ns"):
            fields[key] = v.cell(data.get(key))
        if action == "on_interrupt":
            fields["interrupt"] = v.cell(data.get("interrupts") or [])
            if run is not None:
                run.graph["interrupt_checkpoint_id"] = fields["checkpoint_id"]
                self.interrupted(run)
        elif run is not None:
            run.graph["resume_checkpoint_id"] = fields["checkpoint_id"]
            fields["resumes"] = run.graph.get("resumes")
            fields["resume"] = run.graph.get("resume")
        return fields

    def finished(self, span: dict[str, Any]) -> dict[str, Any]:
        """A run ended: the root of a paused turn is ``interrupted``, not ``ok``."""
        trace = span.get("trace_id")
        if trace is not None and span.get("span_id") == trace and trace in self._traces:
            self._traces.discard(trace)
            if span.get("status") == "ok":
                span["status"] = "interrupted"
        return span
