"""How a process ends decides its task's status, and nothing reported before is lost.

Every case runs ``chaintrack_child.py`` as a real child process (``sys.executable``, the
environment given explicitly), then reads the task back here.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from chaintrack import Task
from chaintrack.sdk.task import Task as TaskClass

CHILD = Path(__file__).with_name("chaintrack_child.py")
WAIT = 60.0  # seconds: a guard against hangs, not a speed requirement


def child_env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        "CHAINTRACK_HOME": str(home),
        "CHAINTRACK_AUTO_CONNECT_STREAMS": "0",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONUNBUFFERED": "1",
    }
    if "PYTHONPATH" in os.environ:  # the child imports the chaintrack this test imports
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    env.update(extra)
    return env


def run_child(home: Path, *args: str, timeout: float = WAIT, **env: str) -> tuple[str, str, int]:
    done = subprocess.run(
        [sys.executable, str(CHILD), *args],
        env=child_env(home, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done.stdout, done.stderr, done.returncode


def task_id_of(stdout: str) -> str:
    first = stdout.splitlines()[0]
    assert first.startswith("task "), stdout
    return first.split()[1]


def iterations(home: Path, task_id: str) -> list[int]:
    with contextlib.closing(sqlite3.connect(home / "chaintrack.db")) as conn, conn:
        sql = "SELECT iter FROM events WHERE task_id = ? AND kind = 'scalar' ORDER BY iter"
        return [r[0] for r in conn.execute(sql, (task_id,))]


def test_normal_exit_without_close_completes_the_task_and_loses_nothing(
    chaintrack_home: Path,
) -> None:
    stdout, stderr, code = run_child(chaintrack_home, "normal", "20000")
    assert code == 0, stderr
    task = Task.get_task(task_id=task_id_of(stdout))
    assert task.get_status() == "completed"
    assert task.record.completed is not None
    assert iterations(chaintrack_home, task.id) == list(range(20000))


def test_an_uncaught_exception_fails_the_task_with_its_traceback_in_the_console(
    chaintrack_home: Path,
) -> None:
    # Console capture on, as by default: the traceback must be in the console exactly once.
    stdout, stderr, code = run_child(
        chaintrack_home, "uncaught", CHAINTRACK_AUTO_CONNECT_STREAMS="1"
    )
    assert code == 1
    assert "ValueError: the model diverged at step 10" in stderr  # still shown to the user
    task = Task.get_task(task_id=task_id_of(stdout))
    assert task.get_status() == "failed"
    assert task.record.status_reason == "ValueError: the model diverged at step 10"
    console = task.get_reported_console_output()
    assert console.count("Traceback (most recent call last):") == 1
    assert "ValueError: the model diverged at step 10" in console
    assert any('chaintrack_child.py", line' in line and "in uncaught" in line for line in console)
    assert iterations(chaintrack_home, task.id) == list(range(10))


def test_keyboard_interrupt_stops_the_task(chaintrack_home: Path) -> None:
    stdout, _, code = run_child(chaintrack_home, "keyboard")
    assert code != 0
    task = Task.get_task(task_id=task_id_of(stdout))
    assert task.get_status() == "stopped"
    assert "KeyboardInterrupt" in task.record.status_reason
    assert iterations(chaintrack_home, task.id) == [0]


def start_logging_child(home: Path, mode: str, **env: str) -> tuple[subprocess.Popen[str], str]:
    child = subprocess.Popen(
        [sys.executable, str(CHILD), mode],
        env=child_env(home, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    task_id = task_id_of(child.stdout.readline())
    for line in child.stdout:  # let it log for a while
        if line.strip() == "reported 3000":
            break
    return child, task_id


def test_sigterm_while_logging_stops_the_task_keeps_everything_and_dies_of_sigterm(
    chaintrack_home: Path,
) -> None:
    child, task_id = start_logging_child(chaintrack_home, "until-killed")
    with child:
        child.send_signal(signal.SIGTERM)
        # Read through the text wrapper: communicate() reads the pipe itself and would miss the
        # lines that the wrapper had already buffered when start_logging_child stopped reading.
        assert child.stdout is not None
        rest = child.stdout.read()
        child.wait(timeout=WAIT)
    assert child.returncode == -signal.SIGTERM
    last = max(int(line.split()[1]) for line in [*rest.splitlines(), "reported 3000"])
    task = Task.get_task(task_id=task_id)
    assert task.get_status() == "stopped"
    assert task.record.status_reason == "SIGTERM"
    stored = iterations(chaintrack_home, task_id)
    # Every scalar the child said it reported is stored, once (at most one more was reported
    # and not yet announced when the signal arrived).
    assert stored[: last + 1] == list(range(last + 1))
    assert stored == list(range(len(stored)))
    assert len(stored) in (last + 1, last + 2)


def test_an_application_that_handles_sigterm_itself_keeps_reporting_after_it(
    chaintrack_home: Path,
) -> None:
    """chaintrack drains, then calls the application's own handler; the application ends its
    loop, reports a last line and exits normally: that line is stored too."""
    child, task_id = start_logging_child(chaintrack_home, "graceful")
    with child:
        child.send_signal(signal.SIGTERM)
        child.communicate(timeout=WAIT)
    assert child.returncode == 0
    task = Task.get_task(task_id=task_id)
    assert task.get_status() == "stopped"
    assert task.get_reported_console_output()[-1] == "shut down gracefully"


def next_process_writes_what_was_left(home: Path) -> None:
    """Any process that writes to the store replays spool files of dead processes."""
    Task.init("lifecycle", "next process").close()


def test_exit_with_a_hung_store_ends_within_the_drain_timeout_and_loses_nothing(
    chaintrack_home: Path,
) -> None:
    # Guard: with the default CHAINTRACK_DRAIN_TIMEOUT (30 s) twice over, this would time out.
    stdout, stderr, code = run_child(
        chaintrack_home, "hung-store", "500", timeout=20, CHAINTRACK_DRAIN_TIMEOUT="1"
    )
    assert code == 0, stderr
    assert "CHAINTRACK_DRAIN_TIMEOUT" in stderr  # the user is told where the events are
    task_id = task_id_of(stdout)
    assert iterations(chaintrack_home, task_id) == []  # the store hung: nothing written yet
    next_process_writes_what_was_left(chaintrack_home)
    task = TaskClass.get_task(task_id=task_id)
    assert iterations(chaintrack_home, task_id) == list(range(500))
    assert task.get_status() == "completed"  # the status update was kept as well


def test_sigterm_with_a_hung_store_ends_within_the_drain_timeout_and_loses_nothing(
    chaintrack_home: Path,
) -> None:
    child = subprocess.Popen(
        [sys.executable, str(CHILD), "hung-store", "500", "wait"],
        env=child_env(chaintrack_home, CHAINTRACK_DRAIN_TIMEOUT="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with child:
        assert child.stdout is not None
        task_id = task_id_of(child.stdout.readline())
        assert child.stdout.readline().strip() == "reported all"
        child.send_signal(signal.SIGTERM)
        child.communicate(timeout=20)  # guard: far less than the default drain timeout
    assert child.returncode == -signal.SIGTERM
    next_process_writes_what_was_left(chaintrack_home)
    assert iterations(chaintrack_home, task_id) == list(range(500))
    assert TaskClass.get_task(task_id=task_id).get_status() == "stopped"


@pytest.mark.parametrize("mode", ["normal", "uncaught"])
def test_nothing_is_left_in_the_spool_after_a_drained_exit(
    chaintrack_home: Path, mode: str
) -> None:
    args = [mode, "100"] if mode == "normal" else [mode]
    _, _, code = run_child(chaintrack_home, *args, CHAINTRACK_QUEUE_SIZE="10")
    assert code in (0, 1)
    spool = chaintrack_home / "spool"
    assert not spool.exists() or list(spool.iterdir()) == []
