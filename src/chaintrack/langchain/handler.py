"""``ClearMLCallbackHandler``: the LangChain callback handler of ClearML's page, on chaintrack.

A callback copies what it was given (``snapshot.py``) and puts it in the handler's event source
(``sdk/source.py``), then returns. The writer thread drains the source: it turns the events into
records (counters, complexity metrics, displaCy pictures, spans) in the order the callbacks ran
and writes the items they become in its next transaction: one queue, one background thread.
Reading the records (``handler.action_records`` …) first converts what is still queued, on the
reader's thread.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

from chaintrack import config
from chaintrack.errors import TaskClosedError, invalid
from chaintrack.langchain import session
from chaintrack.langchain.assets import asset_json
from chaintrack.langchain.callbacks import Callbacks
from chaintrack.langchain.counters import COUNTER_NAMES
from chaintrack.langchain.records import Event, Output, Recorder
from chaintrack.sdk import items
from chaintrack.sdk.console import original_stdout
from chaintrack.sdk.logger import Logger
from chaintrack.sdk.models import queue_item
from chaintrack.sdk.serialize import dumps
from chaintrack.sdk.task import Task
from chaintrack.store.records import LOG, SPAN, ModelRecord
from chaintrack.store.vocabulary import ACTION_RECORDS, SESSION_ANALYSIS
from chaintrack.text import require_spacy, require_textstat

log = logging.getLogger("chaintrack")
_now = time.time
_FLUSH = "flush"


def _flag(argument: str, value: Any) -> bool:
    if isinstance(value, (bool, int)) and value in (0, 1):
        return bool(value)
    raise invalid(argument, value, "True or False")


class ClearMLCallbackHandler(Callbacks):
    """Tracks every LLM, chat model, chain, tool, retriever and agent event into a task.

    The constructor and ``flush_tracker`` are those of langchain-community's
    ``ClearMLCallbackHandler``; ``record_tokens=True`` adds a record per streamed token, and
    ``task=`` records into that task (default: the current task, else a new one).
    """

    #: The callbacks only copy and queue (they never block), so async runs call them inline
    #: rather than in a thread pool: no thread hop, and events keep their order.
    run_inline = True

    def __init__(
        self,
        task_type: str | None = "inference",
        project_name: str | None = "langchain_callback_demo",
        tags: Sequence[str] | None = None,
        task_name: str | None = None,
        visualize: bool = False,
        complexity_metrics: bool = False,
        stream_logs: bool = False,
        *,
        record_tokens: bool = False,
        task: Task | None = None,
    ) -> None:
        super().__init__()
        self.visualize = _flag("visualize", visualize)
        self.complexity_metrics = _flag("complexity_metrics", complexity_metrics)
        self.stream_logs = _flag("stream_logs", stream_logs)
        self.record_tokens = _flag("record_tokens", record_tokens)
        if self.complexity_metrics:
            require_textstat()
        if self.visualize:
            require_spacy()
        self.task_type, self.project_name = task_type or "inference", project_name
        self.tags, self.task_name = tags, task_name
        current = task if task is not None else Task.current_task()
        if current is not None:
            self.task, self._owns_task = current, False
        else:
            self.task = Task.start(
                project_name or "langchain_callback_demo", task_name, self.task_type, tags
            )
            self._owns_task = True
            from chaintrack.sdk import lifecycle

            lifecycle.install()  # the task is completed (and the queue drained) at exit
        self.logger = self.task.get_logger()
        self._source = self.task.event_source(self._convert)
        self._lock = threading.Lock()
        self._closed = False
        #: True when a callback must take the slow path (closed, or a deferred strict error).
        self._blocked = False
        self._sessions = 0
        self._warned: set[tuple[str, type]] = set()
        self._strict_error: BaseException | None = None
        self._visualizer: Any = None
        if self.visualize:
            from chaintrack.text import Visualizer

            self._visualizer = Visualizer()
        self._recorder = Recorder(
            complexity=self.complexity_metrics,
            render=self._visualizer.render if self._visualizer is not None else None,
            record_tokens=self.record_tokens,
            stream_logs=self.stream_logs,
            on_error=self._deferred_error,
        )
        self.raise_error = config.strict()
        self.logger.report_text(
            "chaintrack: LangChain callback handler attached "
            f"(visualize={self.visualize}, complexity_metrics={self.complexity_metrics}, "
            f"stream_logs={self.stream_logs})",
            level=logging.INFO,
            print_console=False,
        )
        if self.complexity_metrics or self.visualize:
            # Load textstat, the CMU dictionary and the spaCy pipeline in the background now,
            # so that the first records do not wait for them.
            threading.Thread(
                target=self._preload, name="chaintrack-text-preload", daemon=True
            ).start()

    # -- the caller's side: a copy and an append -----------------------------------------------

    def _push(self, event: Event) -> None:
        if self._blocked:  # closed, or an error to raise (strict mode): the slow path
            self._push_blocked(event)
            return
        self._source.put(event)

    def _push_blocked(self, event: Event) -> None:
        if self._strict_error is not None:
            error, self._strict_error = self._strict_error, None
            self._blocked = self._closed
            if not self._closed:
                self._push(event)  # the event is still recorded
            raise error
        if ("closed", TaskClosedError) not in self._warned:
            self._warned.add(("closed", TaskClosedError))
            log.warning(
                "chaintrack: the LangChain callback handler got %s after "
                "flush_tracker(finish=True) closed it; events after that are not "
                "recorded. Create a new ClearMLCallbackHandler to track more.",
                event[0],
            )

    def _failed(self, where: str, exc: Exception) -> None:
        """An error in a callback: raised in strict mode, else logged once."""
        if config.strict():
            raise exc
        self._warn_once(where, type(exc), f"{type(exc).__name__}: {exc}", exc)

    def _warn_once(
        self, where: str, kind: type, text: str, exc: BaseException | None = None
    ) -> None:
        if (where, kind) in self._warned:
            return
        self._warned.add((where, kind))
        log.warning(
            "chaintrack: the LangChain callback handler could not handle %s: %s. Your "
            "application is not affected; set CHAINTRACK_STRICT=1 to raise such errors.",
            where,
            text,
            exc_info=exc,
        )

    def _deferred_error(self, where: str, exc: BaseException) -> None:
        """An error while building records (writer thread): logged once; in strict mode raised
        by the next callback or flush_tracker on the caller's thread."""
        if config.strict() and self._strict_error is None:
            self._strict_error = exc
            self._blocked = True
        self._warn_once(where, type(exc), f"{type(exc).__name__}: {exc}", exc)

    # -- the writer's side ------------------------------------------------------------------

    def _preload(self) -> None:
        try:
            if self.complexity_metrics:
                from chaintrack.text import complexity_metrics

                complexity_metrics("A sentence.")
            if self._visualizer is not None:
                _ = self._visualizer.available
        except Exception as exc:
            self._deferred_error("loading textstat or spaCy", exc)

    def _convert(self, events: list[Event]) -> list[items.Item]:
        """Turn events into records and the items that store them (the writer thread, or a
        read of the records on the reader's thread)."""
        with self._lock:
            out = Output()
            converted: list[items.Item] = []
            for i, event in enumerate(events):
                # Let go of each event once handled: the copies it holds then die young, rather
                # than outliving the garbage collector's passes that the records' allocations
                # trigger (promoted to the oldest generation, they make full collections, which
                # scan the whole heap, frequent: the largest cost of a small callback).
                events[i] = None  # type: ignore[call-overload]
                if event[0] == _FLUSH:
                    converted.extend(self._items(out))
                    out = Output()
                    converted.extend(self._flush_items(event))
                else:
                    self._recorder.handle(event, out)
            converted.extend(self._items(out))
            return converted

    def _sync(self) -> None:
        """Convert queued events now, on this thread (a read of the records)."""
        writer = self.task._writer
        for item in self._convert(self._source.take()):
            writer.put(item)

    def _event(self, kind: str, ts: float, level: int | None = None, text: str | None = None,
               data: str | None = None) -> items.Item:  # fmt: skip
        return items.event(self.task._writer, self.task.id, kind, ts, level=level, text=text,
                           data=data)  # fmt: skip

    def _items(self, out: Output) -> list[items.Item]:
        produced = [self._event(SPAN, s["end_time"], data=dumps(s)) for s in out.spans]
        if out.lines:
            produced += [self._event(LOG, ts, level=logging.INFO, text=t) for ts, t in out.lines]
            self._echo("\n".join(text for _, text in out.lines))
        if out.pictures:
            logger = Logger(self.task, put=produced.append)  # reports become items here
            for p in out.pictures:
                logger.report_media(
                    p.title, p.series, iteration=p.iteration, stream=p.html, file_extension="html"
                )
        visualizer = self._visualizer
        if visualizer is not None and visualizer.message is not None:
            message, visualizer.message = visualizer.message, None
            log.warning("%s", message)
            produced.append(self._event(LOG, _now(), level=logging.WARNING, text=message))
        return produced

    def _echo(self, text: str) -> None:
        with contextlib.suppress(Exception):  # a closed stdout must not stop the records
            stream = original_stdout()
            stream.write(text + "\n")
            stream.flush()

    def _flush_items(self, event: Event) -> list[items.Item]:
        _, ts, _, _, name, asset, _ = event
        recorder = self._recorder
        actions = session.action_records_table(recorder.action_records)
        analysis = session.session_analysis_table(recorder.session_rows, self.complexity_metrics)
        produced: list[items.Item] = []
        logger = Logger(self.task, put=produced.append)
        logger.report_table(ACTION_RECORDS, name, table_plot=actions)
        logger.report_table(SESSION_ANALYSIS, name, table_plot=analysis)
        if self.stream_logs:
            text = (
                f"Action Records ({name}):\n{session.as_text(actions)}\n\n"
                f"Session Analysis ({name}):\n{session.as_text(analysis)}"
            )
            produced.append(self._event(LOG, ts, level=logging.INFO, text=text))
            self._echo(text)
        if asset is not None:
            record = ModelRecord(
                id=uuid.uuid4().hex,
                task_id=self.task.id,
                name=name,
                created=ts,
                framework="LangChain",
                config_text=asset,
            )
            produced.append(queue_item(record))
        recorder.reset()
        return produced

    # -- the user's side ----------------------------------------------------------------------

    def flush_tracker(
        self, name: str | None = None, langchain_asset: Any = None, finish: bool = False
    ) -> None:
        """Store this session's tables ("Action Records", "Session Analysis", series ``name``)
        and the asset (an output model named ``name``), then reset the counters and records.
        ``finish=True`` also closes the task; the handler cannot be used after that."""
        if self._closed:
            raise TaskClosedError(
                f"flush_tracker: this handler was closed by an earlier "
                f"flush_tracker(finish=True) and its task {self.task.id} is completed. Create a "
                "new ClearMLCallbackHandler to track more."
            )
        if name is not None and not isinstance(name, str):
            raise invalid("name", name, "a string (the tables' series and the model's name)")
        finish = _flag("finish", finish)
        self._raise_deferred()
        self._sessions += 1
        series = name if name else f"session {self._sessions}"
        asset = asset_json(langchain_asset) if langchain_asset is not None else None
        self._source.put((_FLUSH, _now(), None, None, series, asset, {}))
        if finish:
            self._closed = self._blocked = True
            self.task.close()  # stores everything queued before it, then marks it completed
        else:
            self.task.flush(wait_for_uploads=True)
        self._raise_deferred()

    def flush(self, timeout: float | None = None) -> bool:
        """Store everything recorded so far (the session goes on) and wait until it is stored.
        False if ``timeout`` (default ``CHAINTRACK_DRAIN_TIMEOUT``) ran out first."""
        self._raise_deferred()
        stored = self.task._writer.flush(config.drain_timeout() if timeout is None else timeout)
        self._raise_deferred()
        return stored

    def _raise_deferred(self) -> None:
        if self._strict_error is not None:
            error, self._strict_error = self._strict_error, None
            self._blocked = self._closed
            raise error

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def action_records(self) -> list[dict[str, Any]]:
        """Every record of this session, in order (processed up to now when read)."""
        with self._read():
            return self._recorder.action_records

    def get_custom_callback_meta(self) -> dict[str, int]:
        """The 13 counters now (the original's method)."""
        with self._read():
            return self._recorder.counters.snapshot()

    def reset_callback_meta(self) -> None:
        """Reset the counters and the record lists (as flush_tracker does, without storing)."""
        with self._read():
            self._recorder.reset()

    def _read(self) -> _Reading:
        return _Reading(self)

    def __getattr__(self, name: str) -> Any:
        # The original's attributes: the counters (handler.step …) and the record lists
        # (handler.on_llm_start_records …).
        if name.startswith("_"):
            raise AttributeError(name)
        if name in COUNTER_NAMES:
            return self.get_custom_callback_meta()[name]
        if name.endswith("_records"):
            with self._read():
                return self._recorder.lists.get(name, [])
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


class _Reading:
    """``with handler._read():`` processes queued events and holds the handler's lock."""

    def __init__(self, handler: ClearMLCallbackHandler) -> None:
        self._handler = handler

    def __enter__(self) -> None:
        self._handler._sync()
        self._handler._lock.acquire()

    def __exit__(self, *_: object) -> None:
        self._handler._lock.release()


#: The same class under chaintrack's own name.
ChainTrackCallbackHandler = ClearMLCallbackHandler
