"""``task.get_logger()``: scalars, text, tables and media, in ClearML's names."""

from __future__ import annotations

import contextlib
import json
import logging
import mimetypes
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from chaintrack import config
from chaintrack.errors import InvalidArgumentError, invalid
from chaintrack.sdk import clearml_surface, items
from chaintrack.sdk.console import original_stdout
from chaintrack.sdk.plots import LoggerPlots
from chaintrack.sdk.serialize import dumps
from chaintrack.sdk.tables import to_table
from chaintrack.store.blobs import safe_segment
from chaintrack.store.records import (
    LOG,
    MEDIA,
    SCALAR,
    SINGLE_VALUE_ITER,
    SINGLE_VALUE_METRIC,
    SPAN,
    TABLE,
)

if TYPE_CHECKING:
    from chaintrack.sdk.task import Task

_time = time.time
#: This process's part of media keys: a task reused by another process (reuse_last_task_id)
#: counts its sequence from 1 again, and a tracking server writes each key once.
_UPLOADER = uuid.uuid4().hex[:8]


def _number(argument: str, value: Any) -> float:
    """float(value), as ClearML converts it; an error naming the argument when it cannot."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise invalid(argument, value, "a number (int or float)") from None
    except OverflowError:  # an int beyond the float range
        raise invalid(argument, value, "a number within the float range") from None


# Iterations are stored as 64-bit integers (SQLite INTEGER, PostgreSQL BIGINT).
_ITER_MIN, _ITER_MAX = -(2**63), 2**63 - 1


def _iteration(value: Any) -> int:
    """A whole number that fits the store. 2.0 is 2; 2.5 is an error, not silently 2."""
    if type(value) is int:
        whole: int = value
    else:
        number = _number("iteration", value)
        if not number.is_integer():
            raise invalid("iteration", value, "a whole number")
        whole = int(number)
    if not _ITER_MIN <= whole <= _ITER_MAX:
        raise invalid("iteration", value, "a whole number between -2**63 and 2**63-1")
    return whole


class Logger(LoggerPlots):
    """Reports of one task. Every method returns at once; the writer thread stores the data."""

    def __init__(self, task: Task, put: Callable[[items.Item], None] | None = None) -> None:
        self._task = task
        self._task_id = task.id
        self._writer = task._writer
        #: Where reports go: the writer's queue, or (``put``) a producer that writes them with
        #: its own items (the LangChain handler's tables and pictures, on the writer thread).
        self._put = task._writer.put if put is None else put
        self._sample_history: int | None = None

    @classmethod
    def current_logger(cls) -> Logger | None:
        """The logger of the task ``Task.init`` started in this process (None when no task is
        open), as ClearML's ``Logger.current_logger()``."""
        from chaintrack.sdk.task import Task

        task = Task.current_task()
        return task.get_logger() if task is not None else None

    def _event(
        self,
        kind: str,
        metric: str | None,
        variant: str | None,
        iteration: int | None,
        value: float | None = None,
        level: int | None = None,
        text: str | None = None,
        data: str | None = None,
        ts: float | None = None,
    ) -> None:
        self._put(
            items.event(self._writer, self._task_id, kind, ts, metric, variant, iteration, value,
                        level, text, data)
        )  # fmt: skip

    def _report_span(self, span: dict[str, Any]) -> None:
        """Store one span of the run tree. ``span`` is a payload as ``langchain/spans.py``
        builds it (``span_id``, ``parent_id``, ``trace_id``, ``thread_id``, ``kind``, ``name``,
        ``start_time``, ``end_time``, ``latency_ms``, ``status``, ``error``, ``input``,
        ``output``, token counts, ``model_name``, ``cost_usd`` …): every producer of spans
        records them through here. The event's time is the span's end."""
        end = span.get("end_time")
        ts = float(end) if isinstance(end, (int, float)) else None
        self._event(SPAN, None, None, None, data=dumps(span), ts=ts)

    def report_scalar(self, title: str, series: str, value: float, iteration: int) -> None:
        """One point of a chart: ``title`` is the chart, ``series`` the line in it."""
        if type(value) is not float:
            value = _number("value", value)
        if type(iteration) is not int or not _ITER_MIN <= iteration <= _ITER_MAX:
            iteration = _iteration(iteration)
        self._put(
            items.event(self._writer, self._task_id, SCALAR, _time(), str(title), str(series),
                        iteration, value)
        )  # fmt: skip

    def report_single_value(self, name: str, value: float) -> None:
        """A number that summarizes the task (ClearML's 'Summary' table)."""
        self._event(SCALAR, SINGLE_VALUE_METRIC, str(name), SINGLE_VALUE_ITER,
                    _number("value", value))  # fmt: skip

    def report_text(
        self, msg: Any, level: int = logging.INFO, print_console: bool = True, *_: Any
    ) -> None:
        """A line (or several) in the task's console; also printed when ``print_console``."""
        text = msg if isinstance(msg, str) else str(msg)
        if type(level) is not int:
            raise invalid("level", level, "a logging level such as logging.INFO")
        self._put(items.event(self._writer, self._task_id, LOG, _time(), level=level, text=text))
        if print_console:
            stream = original_stdout()
            stream.write(text + "\n")

    def report_table(
        self,
        title: str,
        series: str,
        iteration: int = 0,
        table_plot: Any = None,
        csv: str | Path | None = None,
        url: str | None = None,
        extra_layout: dict[str, Any] | None = None,
    ) -> None:
        """A table: a pandas DataFrame, a list of rows (header first) or a CSV file."""
        if url is not None and table_plot is None and csv is None:
            raise InvalidArgumentError(
                "report_table(url=…) is not supported: chaintrack stores tables, it does not "
                "fetch them; download the CSV and pass csv=<path>"
            )
        table = to_table(table_plot, csv)
        if extra_layout:
            table["layout"] = extra_layout
        self._event(TABLE, str(title), str(series), _iteration(iteration),
                    data=json.dumps(table))  # fmt: skip

    def report_media(
        self,
        title: str,
        series: str,
        iteration: int = 0,
        local_path: str | Path | None = None,
        stream: IO[bytes] | IO[str] | bytes | str | None = None,
        url: str | None = None,
        file_extension: str | None = None,
        max_history: int = -1,
        delete_after_upload: bool = False,
    ) -> None:
        """A debug sample: HTML, an image, text, audio… from a file, a stream or a URL."""
        given = [x is not None for x in (local_path, stream, url)]
        if sum(given) != 1:
            raise InvalidArgumentError(
                "report_media needs exactly one of local_path=, stream= or url="
            )
        iteration = _iteration(iteration)
        ext = (file_extension or "").lstrip(".")
        data: dict[str, Any] = {}
        if url is not None:
            data["url"] = str(url)
            ext = ext or Path(str(url).split("?")[0]).suffix.lstrip(".")
        else:
            content: bytes | None = None
            source: str | None = None
            if local_path is not None:
                path = Path(local_path).expanduser()
                if not path.is_file():
                    raise invalid("local_path", str(local_path), "the path of an existing file")
                if delete_after_upload:
                    content = path.read_bytes()  # the file goes away now: keep its bytes
                else:
                    source = str(path.resolve())  # the writer thread copies it
                size = path.stat().st_size
                ext = ext or path.suffix.lstrip(".")
                filename = path.name
            else:
                raw: Any = stream if isinstance(stream, (str, bytes)) else stream.read()  # type: ignore[union-attr]
                content = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
                size = len(content)
                filename = f"sample.{ext or 'bin'}"
            key = (
                f"{self._task_id}/media/{safe_segment(title)}/{safe_segment(series)}/"
                f"{iteration:08d}-{next(self._writer.seq)}-{_UPLOADER}-{safe_segment(filename)}"
            )
            data["uri"] = self._task._blobs.uri_for(key)
            self._put(items.upload(key, content, source, None))
            data["filename"] = filename
            data["size"] = size
            if delete_after_upload and local_path is not None:
                Path(local_path).unlink(missing_ok=True)
        mime = mimetypes.types_map.get("." + ext.lower(), "application/octet-stream")
        if ext.lower() in ("htm", "html"):
            mime = "text/html"
        data["mime_type"] = mime
        data["extension"] = ext
        self._event(MEDIA, str(title), str(series), iteration, data=json.dumps(data))

    def flush(self, wait: bool = False) -> bool:
        """Wait until everything reported so far is in the store (False after
        CHAINTRACK_DRAIN_TIMEOUT seconds: a stuck store must not hang the application).
        ``wait`` is ClearML's argument; chaintrack always waits."""
        return self._writer.flush(config.drain_timeout())

    def set_default_debug_sample_history(self, max_history: int) -> None:
        """Kept and returned by the getter; chaintrack keeps every debug sample."""
        self._sample_history = int(max_history)

    def get_default_debug_sample_history(self) -> int:
        return -1 if self._sample_history is None else self._sample_history

    def get_flush_period(self) -> float | None:
        """None: chaintrack's writer stores reports as they come, not on a period."""
        return None

    def set_flush_period(self, period: float) -> None:
        """Accepted and ignored (deprecated in ClearML too)."""

    def capture_logging(self) -> contextlib.AbstractContextManager[None]:
        """A context manager that changes nothing: the task's console capture already records
        what ``logging`` writes to stdout and stderr."""
        return contextlib.nullcontext()


clearml_surface.install_refusals(Logger, "Logger", clearml_surface.LOGGER)
