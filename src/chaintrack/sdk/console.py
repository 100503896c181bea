"""Console capture: stdout/stderr still reach the terminal and every line is also reported."""

from __future__ import annotations

import io
import logging
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any, TextIO

__all__ = ["ConsoleCapture", "original_stdout"]

_LOG = logging.getLogger("chaintrack")
# A line with no newline for this many characters is forwarded in chunks, bounding memory.
_MAX_PARTIAL = 64 * 1024
# Set while a callback runs on this thread: whatever it prints goes to the terminal only.
_in_callback = threading.local()


def _busy() -> bool:
    return bool(getattr(_in_callback, "busy", False))


class _Tee:
    """Text stream wrapper: writes to the original unchanged, hands complete lines on."""

    def __init__(self, original: TextIO, level: int, capture: ConsoleCapture) -> None:
        self._original = original
        self._level = level
        self._capture = capture
        self._lock = threading.Lock()
        self._pending: list[str] = []  # partial line, kept as pieces to avoid quadratic joins
        self._pending_len = 0
        self._active = True

    @property
    def original(self) -> TextIO:
        return self._original

    def write(self, s: str) -> int:
        n = self._original.write(s)  # TypeError for bytes comes from here, as usual
        if isinstance(s, str) and s and self._active and not _busy():
            self._capture._deliver(self._split(s), self._level)
        return n if isinstance(n, int) else len(s)

    def _split(self, s: str) -> list[str]:
        with self._lock:
            if not self._active:
                return []
            if "\n" not in s:
                self._pending.append(s)
                self._pending_len += len(s)
                if self._pending_len <= _MAX_PARTIAL:
                    return []
                text, lines = "".join(self._pending), []
            else:
                *lines, text = "".join([*self._pending, s]).split("\n")
            while len(text) > _MAX_PARTIAL:
                lines.append(text[:_MAX_PARTIAL])
                text = text[_MAX_PARTIAL:]
            self._pending = [text] if text else []
            self._pending_len = len(text)
        return [line.removesuffix("\r") for line in lines]

    def _detach(self) -> str | None:
        """Stop forwarding; return the buffered partial line, if any."""
        with self._lock:
            self._active = False
            text = "".join(self._pending)
            self._pending, self._pending_len = [], 0
        return text.removesuffix("\r") if text else None

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._original.flush()

    def isatty(self) -> bool:
        return self._original.isatty()

    def fileno(self) -> int:
        return self._original.fileno()

    def writable(self) -> bool:
        return self._original.writable()

    @property
    def encoding(self) -> str:
        return self._original.encoding

    def __getattr__(self, name: str) -> Any:
        if name == "_original":  # not yet set (e.g. during copy); avoid infinite recursion
            raise AttributeError(name)
        return getattr(self._original, name)

    def __repr__(self) -> str:
        return f"<chaintrack console tee of {self._original!r}>"


class ConsoleCapture:
    """Tee ``sys.stdout`` (level INFO) and ``sys.stderr`` (level ERROR) into ``on_line``.

    ``on_line`` may be called from any thread that writes, possibly concurrently.
    """

    def __init__(self, on_line: Callable[[str, int], None]) -> None:
        self._on_line = on_line
        self._lock = threading.Lock()
        self._tees: dict[str, _Tee] = {}
        self._installed = False
        self._warned = False
        self._handlers: list[tuple[logging.StreamHandler[Any], Any]] = []

    @property
    def installed(self) -> bool:
        return self._installed

    def install(self) -> None:
        with self._lock:
            if self._installed:
                return
            for name, level in (("stdout", logging.INFO), ("stderr", logging.ERROR)):
                stream = getattr(sys, name)
                if stream is not None:  # e.g. pythonw has no console streams
                    tee = _Tee(stream, level, self)
                    self._tees[name] = tee
                    setattr(sys, name, tee)
            self._redirect_logging_handlers()
            self._installed = True

    def _redirect_logging_handlers(self) -> None:
        """Point logging handlers made before install (``logging.basicConfig()`` at program
        start) at the tees too: they hold the original stream, and their lines would reach the
        terminal but not the task's console."""
        by_stream = {id(tee.original): tee for tee in self._tees.values()}
        loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
        for logger in loggers:
            for handler in getattr(logger, "handlers", ()):
                if type(handler) is logging.StreamHandler and id(handler.stream) in by_stream:
                    self._handlers.append((handler, handler.stream))
                    handler.setStream(by_stream[id(handler.stream)])

    def uninstall(self) -> None:
        """Restore the streams (unless replaced since) and deliver any buffered partial line."""
        with self._lock:
            if not self._installed:
                return
            tees, self._tees = self._tees, {}
            self._installed = False
            for handler, stream in self._handlers:
                if any(handler.stream is tee for tee in tees.values()):
                    handler.setStream(stream)
            self._handlers = []
            for name, tee in tees.items():
                # If someone wrapped or replaced us meanwhile, removing our tee would drop
                # theirs; the tee stays in place but only passes text through.
                if getattr(sys, name) is tee:
                    setattr(sys, name, tee.original)
        for tee in tees.values():
            rest = tee._detach()
            if rest is not None:
                self._deliver([rest], tee._level)

    def _deliver(self, lines: list[str], level: int) -> None:
        if not lines:
            return
        previous = _busy()
        _in_callback.busy = True
        try:
            for line in lines:
                try:
                    self._on_line(line, level)
                except Exception:
                    if not self._warned:
                        self._warned = True
                        _LOG.warning("console capture callback failed", exc_info=True)
        finally:
            _in_callback.busy = previous


def original_stdout() -> TextIO:
    """The current stdout without any of our tees: printing there is not captured."""
    stream: TextIO | None = sys.stdout
    while isinstance(stream, _Tee):
        stream = stream.original
    if stream is None:
        stream = sys.__stdout__
    return stream if stream is not None else io.StringIO()
