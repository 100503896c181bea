"""Tests for chaintrack.sdk.console, using real sys.stdout/sys.stderr swaps.

pytest re-installs its own capture streams between fixture setup and the test call, so the
stand-in "terminal" streams are swapped in inside each test body, not in a fixture.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chaintrack.sdk import console
from chaintrack.sdk.console import ConsoleCapture, original_stdout

INFO, ERROR = logging.INFO, logging.ERROR
Lines = list[tuple[str, int]]


class Terminal:
    """Stand-ins for the real streams, so what reaches the "terminal" is observable."""

    def __init__(self) -> None:
        self.out = io.StringIO()
        self.err = io.StringIO()


@contextlib.contextmanager
def fake_terminal() -> Iterator[Terminal]:
    saved = sys.stdout, sys.stderr
    term = Terminal()
    sys.stdout, sys.stderr = term.out, term.err
    try:
        yield term
    finally:
        sys.stdout, sys.stderr = saved


@contextlib.contextmanager
def capturing(on_line: Callable[[str, int], None]) -> Iterator[ConsoleCapture]:
    cap = ConsoleCapture(on_line)
    cap.install()
    try:
        yield cap
    finally:
        cap.uninstall()


def collector(lines: Lines) -> Callable[[str, int], None]:
    return lambda line, level: lines.append((line, level))


def test_lines_reach_terminal_and_callback() -> None:
    lines: Lines = []
    with fake_terminal() as term:
        cap = ConsoleCapture(collector(lines))
        cap.install()
        assert cap.installed
        assert sys.stdout is not term.out
        print("hello")
        print("a\nb", flush=True)
        print()
        sys.stdout.write("no newline yet")
        assert term.out.getvalue() == "hello\na\nb\n\nno newline yet"
        assert lines == [("hello", INFO), ("a", INFO), ("b", INFO), ("", INFO)]

        cap.uninstall()
        assert not cap.installed
        assert sys.stdout is term.out
        assert sys.stderr is term.err
        assert lines[-1] == ("no newline yet", INFO)
        print("after")
    assert len(lines) == 5
    assert term.out.getvalue().endswith("after\n")


def test_partial_lines_are_joined() -> None:
    lines: Lines = []
    with fake_terminal() as term, capturing(collector(lines)):
        sys.stdout.write("ab")
        sys.stdout.write("cd\nef")
        assert lines == [("abcd", INFO)]
        sys.stdout.write("")
        sys.stdout.write("\n")
        sys.stdout.write("crlf\r\n")
    assert lines == [("abcd", INFO), ("ef", INFO), ("crlf", INFO)]
    assert term.out.getvalue() == "abcd\nef\ncrlf\r\n"


def test_stderr_is_reported_at_error() -> None:
    lines: Lines = []
    with fake_terminal() as term:
        with capturing(collector(lines)):
            print("oops", file=sys.stderr)
            print("fine")
            sys.stderr.write("half")
            assert lines == [("oops", ERROR), ("fine", INFO)]
        assert lines[-1] == ("half", ERROR)
    assert term.err.getvalue() == "oops\nhalf"
    assert term.out.getvalue() == "fine\n"


def test_write_contract() -> None:
    lines: Lines = []
    with fake_terminal() as term, capturing(collector(lines)):
        assert sys.stdout.write("four") == 4
        with pytest.raises(TypeError):
            sys.stdout.write(b"bytes\n")  # type: ignore[arg-type]
        sys.stdout.writelines(["x\n", "y", "\n"])
        assert lines == [("fourx", INFO), ("y", INFO)]
    assert term.out.getvalue() == "fourx\ny\n"


def test_recursion_guard() -> None:
    seen: list[str] = []

    def echo(line: str, level: int) -> None:
        seen.append(line)
        print(f"echo: {line}")
        print(f"echo-err: {line}", file=sys.stderr)

    with fake_terminal() as term, capturing(echo):
        print("one")
        print("two", file=sys.stderr)
    assert seen == ["one", "two"]
    assert term.out.getvalue() == "one\necho: one\necho: two\n"
    assert term.err.getvalue() == "echo-err: one\ntwo\necho-err: two\n"


def test_callback_errors_are_swallowed(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []

    def broken(line: str, level: int) -> None:
        calls.append(line)
        raise RuntimeError("callback bug")

    with (
        caplog.at_level(logging.WARNING, logger="chaintrack"),
        fake_terminal() as term,
        capturing(broken),
    ):
        print("first")
        print("second\nthird")
    assert calls == ["first", "second", "third"]
    assert term.out.getvalue() == "first\nsecond\nthird\n"
    warnings = [r for r in caplog.records if r.name == "chaintrack"]
    assert len(warnings) == 1
    assert warnings[0].exc_info is not None


def test_install_and_uninstall_are_idempotent() -> None:
    lines: Lines = []
    with fake_terminal() as term:
        cap = ConsoleCapture(collector(lines))
        cap.install()
        tee = sys.stdout
        cap.install()
        assert sys.stdout is tee
        assert original_stdout() is term.out
        print("once")
        assert lines == [("once", INFO)]
        cap.uninstall()
        cap.uninstall()
        assert sys.stdout is term.out
        cap.install()
        print("again")
        cap.uninstall()
    assert lines == [("once", INFO), ("again", INFO)]
    assert term.out.getvalue() == "once\nagain\n"


def test_uninstall_leaves_foreign_replacement() -> None:
    lines: Lines = []
    with fake_terminal() as term:
        cap = ConsoleCapture(collector(lines))
        cap.install()
        our_tee = sys.stdout
        later = io.StringIO()
        sys.stdout = later
        cap.uninstall()
        assert sys.stdout is later  # not clobbered
        assert sys.stderr is term.err  # still ours, so restored
        our_tee.write("passthrough only\n")
    assert term.out.getvalue() == "passthrough only\n"
    assert lines == []


def test_nested_capture_stops_forwarding_when_inner_uninstalled() -> None:
    inner_lines: Lines = []
    outer_lines: Lines = []
    with fake_terminal() as term:
        inner = ConsoleCapture(collector(inner_lines))
        outer = ConsoleCapture(collector(outer_lines))
        inner.install()
        outer.install()
        assert original_stdout() is term.out
        print("both")
        inner.uninstall()  # outer wraps inner's tee, so it stays in place but goes quiet
        print("outer only")
        outer.uninstall()
        assert sys.stdout is not term.out  # inner's inert tee is still there
        print("nobody")
    assert inner_lines == [("both", INFO)]
    assert outer_lines == [("both", INFO), ("outer only", INFO)]
    assert term.out.getvalue() == "both\nouter only\nnobody\n"


def test_original_stdout_is_not_captured() -> None:
    lines: Lines = []
    with fake_terminal() as term:
        assert original_stdout() is term.out
        with capturing(collector(lines)):
            raw = original_stdout()
            assert raw is term.out
            print("quiet", file=raw)
            print("loud")
    assert lines == [("loud", INFO)]
    assert term.out.getvalue() == "quiet\nloud\n"


def test_delegates_stream_attributes(tmp_path: Path) -> None:
    lines: Lines = []
    saved = sys.stdout
    with open(tmp_path / "out.txt", "w", encoding="latin-1") as real:
        sys.stdout = real
        try:
            with capturing(collector(lines)):
                tee = sys.stdout
                assert tee is not real
                assert tee.encoding == "latin-1"
                assert tee.errors == real.errors
                assert tee.fileno() == real.fileno()
                assert tee.isatty() is False
                assert tee.writable() is True
                assert tee.name == real.name
                assert tee.mode == "w"
                assert tee.buffer is real.buffer
                print("to file")
                tee.flush()
                assert (tmp_path / "out.txt").read_text() == "to file\n"
        finally:
            sys.stdout = saved
    assert lines == [("to file", INFO)]


def test_long_partial_line_is_chunked() -> None:
    lines: Lines = []
    limit = console._MAX_PARTIAL
    blob = "".join(chr(ord("a") + i % 26) for i in range(3 * limit + 123))
    with fake_terminal() as term, capturing(collector(lines)):
        tee = sys.stdout
        assert isinstance(tee, console._Tee)
        for start in range(0, len(blob), 1000):  # many small writes, no newline
            tee.write(blob[start : start + 1000])
            assert tee._pending_len <= limit
        assert [len(line) for line, _ in lines] == [limit, limit, limit]
        sys.stdout.write("!\n")
        assert "".join(line for line, _ in lines) == blob + "!"
        assert all(len(line) <= limit for line, _ in lines)
        assert term.out.getvalue() == blob + "!\n"

        lines.clear()
        huge = "x" * (2 * limit + 5)
        sys.stdout.write(huge + "\nrest")  # a complete line is handed on whole
        assert lines == [(huge, INFO)]
    assert lines == [(huge, INFO), ("rest", INFO)]


def test_concurrent_writers_lose_no_lines() -> None:
    lines: Lines = []
    n_threads, per_thread = 8, 500
    barrier = threading.Barrier(n_threads)

    def worker(t: int) -> None:
        barrier.wait()
        stream = sys.stderr if t % 4 == 0 else sys.stdout
        for i in range(per_thread):
            stream.write(f"thread-{t}-line-{i}\n")

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with fake_terminal() as term, capturing(collector(lines)):
            threads = [threading.Thread(target=worker, args=(t,)) for t in range(n_threads)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
    finally:
        sys.setswitchinterval(old_interval)

    expected = Counter(
        (f"thread-{t}-line-{i}", ERROR if t % 4 == 0 else INFO)
        for t in range(n_threads)
        for i in range(per_thread)
    )
    assert len(lines) == n_threads * per_thread
    assert Counter(lines) == expected
    terminal_lines = term.out.getvalue().splitlines() + term.err.getvalue().splitlines()
    assert Counter(terminal_lines) == Counter(line for line, _ in expected)


def test_concurrent_partial_writes_lose_no_text() -> None:
    # Threads writing lines in pieces interleave mid-line (as on a terminal), but every
    # character and every newline must still be delivered exactly once.
    lines: Lines = []
    n_threads, per_thread = 8, 500
    barrier = threading.Barrier(n_threads)

    def worker(t: int) -> None:
        barrier.wait()
        char = chr(ord("A") + t)
        for _ in range(per_thread):
            sys.stdout.write(char * 3)
            sys.stdout.write(char * 2 + "\n")

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with fake_terminal(), capturing(collector(lines)):
            threads = [threading.Thread(target=worker, args=(t,)) for t in range(n_threads)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
    finally:
        sys.setswitchinterval(old_interval)

    assert len(lines) == n_threads * per_thread
    delivered = Counter("".join(line for line, _ in lines))
    assert delivered == Counter({chr(ord("A") + t): 5 * per_thread for t in range(n_threads)})


def test_callback_runs_without_the_stream_lock() -> None:
    # A callback that waits for another thread writing to the same stream would deadlock
    # if the tee held its lock while calling back.
    lines: Lines = []
    spawned: list[threading.Thread] = []

    def on_line(line: str, level: int) -> None:
        lines.append((line, level))
        if line == "trigger":
            th = threading.Thread(target=lambda: print("from helper thread"))
            spawned.append(th)
            th.start()
            th.join(timeout=10)

    with fake_terminal() as term, capturing(on_line):
        print("trigger")
    assert len(spawned) == 1
    assert not spawned[0].is_alive()
    # The helper thread is not inside a callback, so its output is captured too.
    assert lines == [("trigger", INFO), ("from helper thread", INFO)]
    assert term.out.getvalue() == "trigger\nfrom helper thread\n"


def test_subprocess_terminal_still_shows_output(tmp_path: Path) -> None:
    child = tmp_path / "child.py"
    child.write_text(
        textwrap.dedent(
            """
            import json, sys
            from chaintrack.sdk.console import ConsoleCapture, original_stdout

            got = []
            cap = ConsoleCapture(lambda line, level: got.append([line, level]))
            cap.install()
            print("hello from child")
            print("problem", file=sys.stderr)
            sys.stdout.write("partial")
            fd = sys.stdout.fileno()
            cap.uninstall()
            print()
            print("RESULT " + json.dumps({"got": got, "fd": fd}))
            """
        )
    )
    src = Path(console.__file__).resolve().parents[2]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, str(child)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("hello from child\npartial\nRESULT ")
    assert done.stderr == "problem\n"
    result = json.loads(done.stdout.splitlines()[-1].removeprefix("RESULT "))
    assert result["got"] == [["hello from child", INFO], ["problem", ERROR], ["partial", INFO]]
    assert result["fd"] == 1
