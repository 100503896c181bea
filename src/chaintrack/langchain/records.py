"""Records: what each callback becomes, with the counters, the run tree and the session rows.

The handler's callbacks only queue the raw event; :class:`Recorder` turns events into records
later, on the background writer's thread (or when the user reads the records), one event at a
time and in the order the callbacks ran. It is not thread-safe: the handler serializes it.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chaintrack.langchain import values as v
from chaintrack.langchain.counters import INCREMENTS, SILENT_TOKEN, Counters
from chaintrack.langchain.duplicates import Duplicates
from chaintrack.langchain.ids import id_text
from chaintrack.langchain.resumes import Pauses
from chaintrack.langchain.spans import Run, finish_span, place, visible_parent
from chaintrack.text import METRIC_NAMES

#: A raw event as the handler queues it:
#: (action, time, run_id, parent_run_id, first argument, second argument, other keywords).
Event = tuple[str, float, Any, Any, Any, Any, Mapping[str, Any]]

#: The Session Analysis columns the original page shows, in its order.
SESSION_COLUMNS = (
    "prompt_step",
    "prompts",
    "name",
    "output_step",
    "output",
    "token_usage_total_tokens",
    "token_usage_prompt_tokens",
    "token_usage_completion_tokens",
)
#: Columns chaintrack adds after those (and after the complexity metrics).
SESSION_EXTRA_COLUMNS = ("model_name", "latency_ms", "run_id")
_USAGE = SESSION_COLUMNS[5:]

#: The v3 streaming-protocol events that carry content (``on_stream_event``): each delta is a
#: streamed token; a block's start marks the first content of blocks sent whole.
STREAMED_CONTENT = ("content-block-start", "content-block-delta")

#: Record lists by action, named as the original's attributes.
LIST_NAMES = {"on_llm_new_token": "on_llm_token_records"}


def list_name(action: str) -> str:
    return LIST_NAMES.get(action, f"{action}_records")


def iso(ts: float | None) -> str | None:
    """``ts`` as ``datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="microseconds")``
    writes it (the same rounding: half to even), with the part up to the second computed once
    per second: every record carries one or two of these."""
    if ts is None:
        return None
    second = math.floor(ts)
    micro = round((ts - second) * 1e6)
    if micro >= 1_000_000:
        second += 1
        micro -= 1_000_000
    return f"{_iso_second(second)}.{micro:06d}+00:00"


@functools.lru_cache(maxsize=256)
def _iso_second(second: int) -> str:
    return dt.datetime.fromtimestamp(second, tz=dt.timezone.utc).isoformat()[:-6]


@dataclass
class Picture:
    """A debug sample to report: displaCy HTML of one generated text."""

    title: str
    series: str
    iteration: int
    html: str


@dataclass
class Output:
    """What handling events produced, for the handler to store."""

    records: list[dict[str, Any]] = field(default_factory=list)
    spans: list[dict[str, Any]] = field(default_factory=list)
    pictures: list[Picture] = field(default_factory=list)
    #: Texts for the task's console (stream_logs), with the time of their callback.
    lines: list[tuple[float, str]] = field(default_factory=list)


class Recorder:
    """Builds records from events; keeps the counters, the record lists and open runs."""

    def __init__(
        self,
        complexity: bool = False,
        render: Callable[[str], tuple[str, str] | None] | None = None,
        record_tokens: bool = False,
        stream_logs: bool = False,
        on_error: Callable[[str, BaseException], None] | None = None,
    ) -> None:
        self.complexity = complexity
        self.render = render
        self.record_tokens = record_tokens
        self.stream_logs = stream_logs
        self.on_error = on_error or (lambda _where, _exc: None)
        self.counters = Counters()
        self.runs: dict[Any, Run] = {}
        self.duplicates = Duplicates()
        self._picture_iterations: dict[str, int] = {}
        self.pauses = Pauses()
        self.reset()
        self._advanced = False
        self._dispatch: dict[str, Callable[[Event, Output], None]] = {
            "on_llm_start": self._llm_start,
            "on_chat_model_start": self._llm_start,
            "on_llm_new_token": self._token,
            "on_stream_event": self._stream_event,
            "on_llm_end": self._llm_end,
            "on_chain_start": self._start,
            "on_tool_start": self._start,
            "on_retriever_start": self._start,
            "on_chain_end": self._end,
            "on_tool_end": self._end,
            "on_retriever_end": self._end,
            "on_llm_error": self._error,
            "on_chain_error": self._error,
            "on_tool_error": self._error,
            "on_retriever_error": self._error,
            "on_text": self._text,
            "on_agent_action": self._agent_action,
            "on_agent_finish": self._agent_finish,
            "on_custom_event": self._custom_event,
            "on_retry": self._retry,
            "on_interrupt": self._lifecycle,
            "on_resume": self._lifecycle,
        }

    def reset(self) -> None:
        """A new session: counters and every record list start again (open runs are kept)."""
        self.counters.reset()
        self.action_records: list[dict[str, Any]] = []
        self.lists: dict[str, list[dict[str, Any]]] = {}
        self.session_rows: list[dict[str, Any]] = []

    # -- the frame every event goes through ---------------------------------------------------

    def handle(self, event: Event, out: Output) -> None:
        if self.duplicates.repeated(event[0], event[2]):
            return  # the same handler attached twice: recorded once
        self._advanced = False
        try:
            self._dispatch[event[0]](event, out)
        except Exception as exc:
            self.on_error(f"building the record of {event[0]}", exc)
            if not self._advanced:  # the callback still counts, and still has its record
                snapshot = self._advance(INCREMENTS.get(event[0], ("step",)))
                failure = {"handler_error": f"{type(exc).__name__}: {exc}"}
                self._emit(event[0], [failure], snapshot, event, None, out)

    def _advance(self, names: tuple[str, ...]) -> dict[str, int]:
        self._advanced = True
        return self.counters.advance(names)

    def _emit(
        self,
        action: str,
        rows: list[dict[str, Any]],
        snapshot: dict[str, int],
        event: Event,
        run: Run | None,
        out: Output,
        ended: bool = False,
    ) -> list[dict[str, Any]]:
        """Records of ``rows``: action, fields, counters, then the run's ids and times."""
        _, ts, run_id, parent, *_ = event
        if parent is None and run is not None:  # a custom event names only its run
            parent = run.parent
        start = run.start if run is not None else ts
        timing = {
            "run_id": id_text(run_id) if run_id is not None else None,
            "parent_run_id": id_text(parent) if parent is not None else None,
            "start_time": iso(start),
            "end_time": iso(ts) if ended else None,
            "latency_ms": round((ts - start) * 1000, 3) if ended else None,
        }
        records = []
        target = self.lists.setdefault(list_name(action), [])
        for fields in rows:
            metrics = fields.pop("__metrics__", None) or {}
            record = {"action": action, **fields, **snapshot, **timing, **metrics}
            records.append(record)
            target.append(record)
            self.action_records.append(record)
            if self.stream_logs:
                out.lines.append((ts, repr(record)))
        out.records.extend(records)
        return records

    # -- starts ---------------------------------------------------------------------------

    def _llm_start(self, event: Event, out: Output) -> None:
        action, ts, run_id, parent, serialized, prompts, kw = event
        name = v.run_name(serialized, kw)
        invocation = kw.get("invocation_params") or {}
        chat = action == "on_chat_model_start"
        rows: list[dict[str, Any]] = []
        for prompt in prompts or ():
            if chat:
                rows.append(
                    {
                        "name": name,
                        "prompts": v.messages_text(prompt),
                        "messages": v.cell([v.message_dict(m) for m in prompt]),
                    }
                )
            else:
                rows.append({"name": name, "prompts": v.clip(str(prompt))})
        shown_parent, langchain_parent = visible_parent(parent, self.runs)
        run = Run(
            kind="chat_model" if chat else "llm",
            name=name,
            parent=shown_parent,
            langchain_parent=langchain_parent,
            start=ts,
            input="\n\n".join(r["prompts"] for r in rows),
            model=v.model_name(None, None, invocation if isinstance(invocation, Mapping) else {}),
        )
        place(run, run_id, kw.get("metadata"), self.runs)
        snapshot = self._advance(INCREMENTS[action])
        self.runs[run_id] = run
        run.prompts = [(snapshot["step"], r["prompts"]) for r in rows]
        self._emit(action, rows, snapshot, event, run, out)

    def _start(self, event: Event, out: Output) -> None:
        action, ts, run_id, parent, serialized, argument, kw = event
        name = v.run_name(serialized, kw)
        fields: dict[str, Any] = {"name": name}
        if action == "on_chain_start":
            kind, text = "chain", v.chain_input(argument)
            fields["input"] = text
        elif action == "on_tool_start":
            kind, text = "tool", v.clip(str(argument))
            fields["input_str"] = text
            if isinstance(serialized, Mapping) and serialized.get("description"):
                fields["description"] = v.cell(serialized["description"])
        else:
            kind, text = "retriever", v.clip(str(argument))
            fields["query"] = text
        shown_parent, langchain_parent = visible_parent(parent, self.runs)
        run = Run(kind=kind, name=name, parent=shown_parent, start=ts, input=text,
                  langchain_parent=langchain_parent)  # fmt: skip
        place(run, run_id, kw.get("metadata"), self.runs)
        self.pauses.started(run, run_id, argument)
        snapshot = self._advance(INCREMENTS[action])
        self.runs[run_id] = run
        self._emit(action, [fields], snapshot, event, run, out)

    # -- ends -----------------------------------------------------------------------------

    def _stream_event(self, event: Event, out: Output) -> None:
        """Content of a v3 stream: counted as ``on_llm_new_token`` is, unless the run's tokens
        already come through ``on_llm_new_token`` (models bridged from ``_stream`` send both)."""
        _, ts, run_id, _parent, kind, data, _ = event
        run = self.runs.get(run_id)
        if run is None or run.stream_source == "tokens":
            return
        run.stream_source = "events"
        if kind == "content-block-delta":
            delta = data.get("delta") if isinstance(data, Mapping) else None
            self._streamed(run, ts, v.delta_text(delta), event, out)
        elif run.first_token is None:  # a block sent whole (a tool call): its first content
            run.first_token = ts

    def _token(self, event: Event, out: Output) -> None:
        run = self.runs.get(event[2])
        if run is not None:
            if run.stream_source == "events":
                return  # its tokens are counted from on_stream_event
            run.stream_source = "tokens"
        self._streamed(run, event[1], event[4], event, out)

    def _streamed(self, run: Run | None, ts: float, token: Any, event: Event, out: Output) -> None:
        if run is not None:
            if run.first_token is None:
                run.first_token = ts
            run.tokens += 1
        if not self.record_tokens:
            self._advance(SILENT_TOKEN)
            return
        snapshot = self._advance(INCREMENTS["on_llm_new_token"])
        self._emit(
            "on_llm_new_token",
            [{"name": run.name if run else None, "token": v.cell(token)}],
            snapshot,
            event,
            run,
            out,
        )

    def _llm_end(self, event: Event, out: Output) -> None:
        action, ts, run_id, _parent, response, _, _ = event
        run = self.runs.pop(run_id, None)
        llm_output = getattr(response, "llm_output", None) or {}
        generations = getattr(response, "generations", None) or []
        shared = {
            k: val for k, val in v.flatten(llm_output).items() if not k.startswith("token_usage")
        }
        batch_usage = v.token_usage(llm_output.get("token_usage") or llm_output.get("usage"))
        own_usage = [[v.generation_usage(g) for g in row] for row in generations]
        # Token usage is counted once: per generation when the generations carry it, else the
        # call's total on its first generation only (seed defect 3).
        use_own = any(u for row in own_usage for u in row)
        rows: list[dict[str, Any]] = []
        places: list[tuple[int, Any]] = []
        for i, row in enumerate(generations):
            for j, generation in enumerate(row):
                usage = own_usage[i][j] if use_own else (batch_usage if not rows else {})
                fields: dict[str, Any] = {"name": run.name if run else None, **shared, **usage}
                invocation = {"model_name": run.model} if run and run.model else {}
                model = v.model_name(llm_output, generation, invocation)
                if model:
                    fields["model_name"] = model
                fields.update(self._generation_fields(generation))
                if run is not None and run.first_token is not None:
                    fields["time_to_first_token_ms"] = round(
                        (run.first_token - run.start) * 1000, 3
                    )
                    fields["streamed_tokens"] = run.tokens
                if self.complexity:
                    fields["__metrics__"] = _metrics(str(fields.get("text") or ""))
                rows.append(fields)
                places.append((i, generation))
        snapshot = self._advance(INCREMENTS[action])
        records = self._emit(action, rows, snapshot, event, run, out, ended=True)
        prompts = run.prompts if run is not None else []
        for record, (i, _generation) in zip(records, places, strict=True):
            prompt_step, prompt = prompts[i] if i < len(prompts) else (None, None)
            session = {
                "prompt_step": prompt_step,
                "prompts": prompt,
                "name": record.get("name"),
                "output_step": record["step"],
                "output": record.get("text"),
            }
            session.update({k: record.get(k) for k in _USAGE})
            if self.complexity:
                session.update({k: record.get(k) for k in METRIC_NAMES})
            session.update(
                {
                    "model_name": record.get("model_name"),
                    "latency_ms": record["latency_ms"],
                    "run_id": record["run_id"],
                }
            )
            self.session_rows.append(session)
            if self.render is not None and record.get("text"):
                self._picture(prompt or "", str(record["text"]), out)
        if run is not None:
            texts = [str(r.get("text") or "") for r in records]
            out.spans.append(finish_span(run_id, run, ts, "\n\n".join(texts), records=records))

    @staticmethod
    def _generation_fields(generation: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {"text": v.clip(str(getattr(generation, "text", "") or ""))}
        info = getattr(generation, "generation_info", None)
        if isinstance(info, Mapping):
            fields.update(v.flatten(info, "generation_info"))
        kind = getattr(generation, "type", None)
        if kind:
            fields["generation_type"] = str(kind)  # not "type": seed defect 5
        message = getattr(generation, "message", None)
        if message is not None:
            calls = v.tool_calls(message)
            if calls:
                fields["tool_calls"] = v.cell(calls)
        return fields

    def _end(self, event: Event, out: Output) -> None:
        action, ts, run_id, _parent, result, _, _ = event
        run = self.runs.pop(run_id, None)
        fields: dict[str, Any] = {"name": run.name if run else None}
        if action == "on_chain_end":
            text = v.chain_output(result)
            fields["outputs"] = text
        elif action == "on_tool_end":
            text = v.as_text(result)
            fields["output"] = text
        else:
            docs = list(result or ())
            text = v.cell(v.jsonable(docs))
            fields.update({"documents": text, "document_count": len(docs)})
        snapshot = self._advance(INCREMENTS[action])
        self._emit(action, [fields], snapshot, event, run, out, ended=True)
        if run is not None:
            out.spans.append(self.pauses.finished(finish_span(run_id, run, ts, text)))

    def _error(self, event: Event, out: Output) -> None:
        action, ts, run_id, _parent, error, _, _ = event
        if is_control_flow(error):
            self._interrupt(event, out)
            return
        run = self.runs.pop(run_id, None)
        fields = {
            "name": run.name if run else None,
            "error_type": type(error).__name__,
            "error": v.clip(str(error)),
        }
        snapshot = self._advance(INCREMENTS[action])
        self._emit(action, [fields], snapshot, event, run, out, ended=True)
        if run is not None:
            message = f"{fields['error_type']}: {fields['error']}"
            out.spans.append(finish_span(run_id, run, ts, None, error=message))

    def _interrupt(self, event: Event, out: Output) -> None:
        """A LangGraph interrupt (or other control-flow signal): paused, not failed."""
        action, ts, run_id, _parent, error, _, _ = event
        run = self.runs.pop(run_id, None)
        payload = v.cell(v.jsonable(interrupt_payload(error)))
        fields = {
            "name": run.name if run else None,
            "interrupt_type": type(error).__name__,
            "interrupt": payload,
        }
        kind = action.removesuffix("_error")
        snapshot = self._advance(("step",))
        self._emit(f"{kind}_interrupt", [fields], snapshot, event, run, out, ended=True)
        if run is not None:
            if any(cls.__name__ == "GraphInterrupt" for cls in type(error).__mro__):
                self.pauses.interrupted(run)  # a ParentCommand is a jump, not a pause
            span = finish_span(run_id, run, ts, payload)
            span["status"] = "interrupted"
            out.spans.append(span)

    def _lifecycle(self, event: Event, out: Output) -> None:
        """LangGraph's ``on_interrupt`` / ``on_resume`` (see ``resumes.py``)."""
        run = self.runs.get(event[2])
        fields = self.pauses.lifecycle(event[0], event[4], run)
        self._emit(event[0], [fields], self._advance(("step",)), event, run, out)

    # -- the rest -------------------------------------------------------------------------

    def _text(self, event: Event, out: Output) -> None:
        fields = {"text": v.clip(str(event[4]))}
        self._emit("on_text", [fields], self._advance(INCREMENTS["on_text"]), event, None, out)

    def _agent_action(self, event: Event, out: Output) -> None:
        action = event[4]
        fields = {
            "tool": v.cell(getattr(action, "tool", None)),
            "tool_input": v.cell(getattr(action, "tool_input", None)),
            "log": v.cell(getattr(action, "log", None)),
        }
        snapshot = self._advance(INCREMENTS["on_agent_action"])
        self._emit("on_agent_action", [fields], snapshot, event, None, out)

    def _agent_finish(self, event: Event, out: Output) -> None:
        finish = event[4]
        returned = getattr(finish, "return_values", None) or {}
        output = returned.get("output", returned) if isinstance(returned, Mapping) else returned
        fields = {"output": v.as_text(output), "log": v.cell(getattr(finish, "log", None))}
        snapshot = self._advance(INCREMENTS["on_agent_finish"])
        self._emit("on_agent_finish", [fields], snapshot, event, None, out)

    def _custom_event(self, event: Event, out: Output) -> None:
        fields = {"event_name": v.cell(event[4]), "data": v.cell(event[5])}
        snapshot = self._advance(INCREMENTS["on_custom_event"])
        self._emit("on_custom_event", [fields], snapshot, event, self.runs.get(event[2]), out)

    def _retry(self, event: Event, out: Output) -> None:
        state = event[4]
        attempt = getattr(state, "attempt_number", None)
        outcome = getattr(state, "outcome", None)
        failure = None
        if outcome is not None and getattr(outcome, "failed", False):
            failure = v.cell(str(outcome.exception()))
        fields = {"attempt": attempt, "error": failure}
        snapshot = self._advance(INCREMENTS["on_retry"])
        self._emit("on_retry", [fields], snapshot, event, self.runs.get(event[2]), out)

    def _picture(self, prompt: str, text: str, out: Output) -> None:
        assert self.render is not None
        try:
            pages = self.render(text)
        except Exception as exc:
            self.on_error("drawing displaCy pictures", exc)
            return
        if pages is None:
            return
        series = series_name(prompt)
        iteration = self._picture_iterations.get(series, 0)
        self._picture_iterations[series] = iteration + 1
        out.pictures.append(Picture("Dependencies Plot", series, iteration, pages[0]))
        out.pictures.append(Picture("Entities Plot", series, iteration, pages[1]))


def is_control_flow(error: BaseException) -> bool:
    """Whether ``error`` is LangGraph's control flow (``GraphInterrupt``, ``ParentCommand``...).

    Told by the class names of its bases (``GraphBubbleUp``), so LangGraph need not be installed.
    """
    return any(cls.__name__ == "GraphBubbleUp" for cls in type(error).__mro__)


def interrupt_payload(error: BaseException) -> Any:
    """The values a ``GraphInterrupt`` carries (``Interrupt.value`` of each), else its args."""
    args = getattr(error, "args", ()) or ()
    items = args[0] if args and isinstance(args[0], (list, tuple)) else args
    return [getattr(item, "value", item) for item in items]


def series_name(prompt: str, limit: int = 80) -> str:
    """One debug-sample series per prompt (not per generated text): the prompt, shortened,
    with a short hash when it had to be cut so that different long prompts stay apart."""
    import hashlib

    flat = " ".join(prompt.split())
    if len(flat) <= limit:
        return flat or "(empty prompt)"
    digest = hashlib.sha1(prompt.encode("utf-8"), usedforsecurity=False).hexdigest()[:8]
    return f"{flat[: limit - 1]}… ({digest})"


def _metrics(text: str) -> dict[str, Any]:
    from chaintrack.text import complexity_metrics

    return complexity_metrics(text)
