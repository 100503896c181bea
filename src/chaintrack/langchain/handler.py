"""``ClearMLCallbackHandler``: the LangChain callback handler of ClearML's page, on chaintrack.

A callback does O(1) work on the caller's thread: it appends the raw event to a queue and
returns. The background writer turns queued events into records (counters, complexity metrics,
displaCy pictures, spans) in the order the callbacks ran, and stores them. Reading the records
(``handler.action_records`` …) first processes what is still queued, on the reader's thread.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from typing import Any

from chaintrack import config
from chaintrack.errors import TaskClosedError, invalid
from chaintrack.langchain import scheduler, session
from chaintrack.langchain.assets import asset_json
from chaintrack.langchain.callbacks import Callbacks
from chaintrack.langchain.counters import COUNTER_NAMES
from chaintrack.langchain.records import Event, Output, Recorder
from chaintrack.sdk import spool
from chaintrack.sdk.console import original_stdout
from chaintrack.sdk.logger import Logger
from chaintrack.sdk.models import queue_item
from chaintrack.sdk.task import Task
from chaintrack.store.records import LOG, SPAN, ModelRecord
from chaintrack.text import require_spacy, require_textstat

log = logging.getLogger("chaintrack")
_now = time.time
_FLUSH = "flush"


class _Collect:
    """Stands in for the writer so that a Logger's reports become items returned to it."""

    def __init__(self, wid: int, seq: Any) -> None:
        self.wid, self.seq = wid, seq
        self.items: list[spool.Item] = []

    def put(self, item: spool.Item) -> None:
        self.items.append(item)


def _flag(argument: str, value: Any) -> bool:
    if isinstance(value, (bool, int)) and value in (0, 1):
        return bool(value)
    raise invalid(argument, value, "True or False")


class ClearMLCallbackHandler(Callbacks):
    """Tracks every LLM, chat model, chain, tool, retriever and agent event into a task.

    The constructor and ``flush_tracker`` are those of langchain-community's
    ``ClearMLCallbackHandler``; ``record_tokens=True`` adds a record per streamed token.
    """

    #: The callbacks only queue (they never block), so async runs call them inline rather than
    #: in a thread pool: no thread hop, and events keep their order.
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
        current = Task.current_task()
        if current is not None:
            self.task, self._owns_task = current, False
        else:
            self.task = Task._start(
                project_name or "langchain_callback_demo", task_name, self.task_type, tags
            )
            self._owns_task = True
            from chaintrack.sdk import lifecycle

            lifecycle.install()  # the task is completed (and the queue drained) at exit
        scheduler.track(self)
        self.logger = self.task.get_logger()
        self._writer = self.task._writer
        self._pending: deque[Event] = deque()
        self._scheduled = False
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

    # -- the caller's side: O(1) ---------------------------------------------------------------

    def _push(self, event: Event) -> None:
        if self._blocked:  # closed, or an error to raise (strict mode): the slow path
            self._push_blocked(event)
            return
        self._pending.append(event)
        if not self._scheduled:
            self._scheduled = True
            scheduler.request(self)

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

    def _hand_over(self) -> None:
        """Have the writer process the queued events (the scheduler's thread calls this)."""
        self._writer.call_soon(self._drain_on_writer)

    def _drain_on_writer(self) -> list[spool.Item]:
        return self._drain()

    def _drain(self) -> list[spool.Item]:
        """Turn every queued event into records and the items that store them."""
        with self._lock:
            self._scheduled = False  # before taking events: a later push schedules again
            out = Output()
            items: list[spool.Item] = []
            pending = self._pending
            while pending:
                event = pending.popleft()
                if event[0] == _FLUSH:
                    items.extend(self._items(out))
                    out = Output()
                    items.extend(self._flush_items(event))
                else:
                    self._recorder.handle(event, out)
            items.extend(self._items(out))
            return items

    def _sync(self) -> None:
        """Process queued events now, on this thread (a read of the records)."""
        if self._pending:
            for item in self._drain():
                self._writer.put(item)

    def _event(
        self,
        kind: str,
        ts: float,
        metric: str | None = None,
        variant: str | None = None,
        level: int | None = None,
        text: str | None = None,
        data: str | None = None,
        iteration: int | None = None,
    ) -> spool.Item:
        w = self._writer
        return (
            spool.EVENT,
            (
                self.task.id,
                w.wid,
                next(w.seq),
                kind,
                ts,
                metric,
                variant,
                iteration,
                None,
                level,
                text,
                data,
            ),
        )

    def _items(self, out: Output) -> list[spool.Item]:
        items = [
            self._event(SPAN, s["end_time"], data=json.dumps(s, default=str)) for s in out.spans
        ]
        if out.lines:
            items += [self._event(LOG, ts, level=logging.INFO, text=t) for ts, t in out.lines]
            self._echo("\n".join(text for _, text in out.lines))
        if out.pictures:
            collect = _Collect(self._writer.wid, self._writer.seq)
            logger = Logger(self.task)
            logger._writer = collect  # type: ignore[assignment]  # reports come back as items
            for p in out.pictures:
                logger.report_media(
                    p.title, p.series, iteration=p.iteration, stream=p.html, file_extension="html"
                )
            items += collect.items
        visualizer = self._visualizer
        if visualizer is not None and visualizer.message is not None:
            message, visualizer.message = visualizer.message, None
            log.warning("%s", message)
            items.append(self._event(LOG, _now(), level=logging.WARNING, text=message))
        return items

    def _echo(self, text: str) -> None:
        with contextlib.suppress(Exception):  # a closed stdout must not stop the records
            stream = original_stdout()
            stream.write(text + "\n")
            stream.flush()

    def _flush_items(self, event: Event) -> list[spool.Item]:
        _, ts, _, _, name, asset, _ = event
        recorder = self._recorder
        actions = session.action_records_table(recorder.action_records)
        analysis = session.session_analysis_table(recorder.session_rows, self.complexity_metrics)
        collect = _Collect(self._writer.wid, self._writer.seq)
        logger = Logger(self.task)
        logger._writer = collect  # type: ignore[assignment]
        logger.report_table("Action Records", name, table_plot=actions)
        logger.report_table("Session Analysis", name, table_plot=analysis)
        items = collect.items
        if self.stream_logs:
            text = (
                f"Action Records ({name}):\n{session.as_text(actions)}\n\n"
                f"Session Analysis ({name}):\n{session.as_text(analysis)}"
            )
            items.append(self._event(LOG, ts, level=logging.INFO, text=text))
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
            items.append(queue_item(record))
        recorder.reset()
        return items

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
        self._pending.append((_FLUSH, _now(), None, None, series, asset, {}))
        self._writer.call_soon(self._drain_on_writer)
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
        self._hand_over()
        stored = self._writer.flush(config.drain_timeout() if timeout is None else timeout)
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
