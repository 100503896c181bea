"""Many processes and threads, one embedded store: forked children, multiprocessing, and several
processes of several threads logging at once. Nothing is lost, nothing is written twice."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sqlite3
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaintrack import Task

CHILD = Path(__file__).with_name("chaintrack_child.py")
WAIT = 120.0  # seconds: a guard against hangs, not a speed requirement


@contextlib.contextmanager
def forking_allowed() -> Iterator[None]:
    # Python 3.12+ warns when a process with threads forks (pytest runs with -W error). Forking
    # with the writer thread running is exactly what these tests check.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def scalar_counts(home: Path, task_id: str) -> dict[str, int]:
    """Stored scalar events of a task per title, straight from SQL."""
    with contextlib.closing(sqlite3.connect(home / "chaintrack.db")) as conn:
        sql = "SELECT metric, count(*) FROM events WHERE task_id = ? GROUP BY metric"
        return dict(conn.execute(sql, (task_id,)).fetchall())


def writer_ids(home: Path, task_id: str) -> int:
    with contextlib.closing(sqlite3.connect(home / "chaintrack.db")) as conn:
        sql = "SELECT count(DISTINCT writer) FROM events WHERE task_id = ?"
        return int(conn.execute(sql, (task_id,)).fetchone()[0])


def report(title: str, n: int) -> None:
    task = Task.current_task()
    assert task is not None
    logger = task.get_logger()
    for i in range(n):
        logger.report_scalar(title, "series", float(i), i)


# -- fork -------------------------------------------------------------------------------------


def test_os_fork_child_that_flushes_then_os_exits(chaintrack_home: Path) -> None:
    task = Task.init("fork", "os.fork")
    # Enough that the writer thread is most likely inside a transaction when the process forks.
    report("parent before fork", 20_000)
    with forking_allowed():
        pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            report("child", 500)
            code = 0 if task.flush(wait_for_uploads=True) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    report("parent after fork", 500)
    task.close()
    assert scalar_counts(chaintrack_home, task.id) == {
        "parent before fork": 20_000,
        "child": 500,
        "parent after fork": 500,
    }
    assert writer_ids(chaintrack_home, task.id) == 2  # the child wrote under its own identity
    assert Task.get_task(task_id=task.id).get_status() == "completed"


def report_without_flush(n: int) -> None:
    report("child", n)  # and return: no flush, no close


def own_task_without_close(n: int) -> None:
    task = Task.init("fork", "child's own task")
    print(f"task {task.id}", flush=True)
    for i in range(n):
        task.get_logger().report_scalar("own", "series", float(i), i)


def test_what_a_fork_child_could_not_store_in_time_is_stored_by_the_parents_close(
    chaintrack_home: Path,
) -> None:
    from chaintrack.sdk.writers import drain_all

    task = Task.init("fork", "child out of time")
    report("parent", 300)
    task.flush(wait_for_uploads=True)
    with forking_allowed():
        pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            report("child", 400)
            drain_all(0.0)  # no time to store: the events go to the child's spool file
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    spooled = sorted(p.name for p in (chaintrack_home / "spool").glob("*"))
    task.close()
    assert scalar_counts(chaintrack_home, task.id) == {"parent": 300, "child": 400}, spooled
    assert not list((chaintrack_home / "spool").glob("*.spool"))


def test_multiprocessing_fork_child_reports_without_flush(chaintrack_home: Path) -> None:
    task = Task.init("fork", "multiprocessing")
    report("parent", 300)
    context = multiprocessing.get_context("fork")
    with forking_allowed():
        children = [context.Process(target=report_without_flush, args=(400,)) for _ in range(2)]
        for child in children:
            child.start()
    for child in children:
        child.join(WAIT)
        assert child.exitcode == 0
    report("parent", 0)
    task.close()
    assert scalar_counts(chaintrack_home, task.id) == {"parent": 300, "child": 800}
    assert writer_ids(chaintrack_home, task.id) == 3
    # A child never changes the status of its parent's task.
    assert Task.get_task(task_id=task.id).get_status() == "completed"


def test_multiprocessing_fork_child_with_its_own_task_completes_it(
    chaintrack_home: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    parent = Task.init("fork", "parent")
    context = multiprocessing.get_context("fork")
    with forking_allowed():
        child = context.Process(target=own_task_without_close, args=(300,))
        child.start()
    child.join(WAIT)
    assert child.exitcode == 0
    child_id = capfd.readouterr().out.split("task ")[1].split()[0]
    assert child_id != parent.id
    own = Task.get_task(task_id=child_id)
    assert own.get_status() == "completed"
    assert scalar_counts(chaintrack_home, child_id) == {"own": 300}
    assert Task.get_task(task_id=parent.id).get_status() == "in_progress"


# -- several processes × several threads ------------------------------------------------------


@pytest.mark.slow
def test_processes_and_threads_logging_into_one_store_lose_nothing(chaintrack_home: Path) -> None:
    """4 processes × 4 threads × 2,000 scalars into one fresh embedded store, all at once."""
    processes, threads, per_thread = 4, 4, 2000
    env = {
        "CHAINTRACK_HOME": str(chaintrack_home),  # the store does not exist yet: all create it
        "CHAINTRACK_AUTO_CONNECT_STREAMS": "0",
        "CHAINTRACK_QUEUE_SIZE": "2000",  # small enough to spill on the way
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    children = [
        subprocess.Popen(
            [sys.executable, str(CHILD), "threads", str(threads), str(per_thread), f"proc-{p}"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in range(processes)
    ]
    task_ids = []
    for child in children:  # every process has opened the store and started its task...
        assert child.stdout is not None
        task_ids.append(child.stdout.readline().split()[1])
    for child in children:  # ...then all of them log at once
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    for child in children:
        with child:
            _, err = child.communicate(timeout=WAIT)
        assert child.returncode == 0, err
        assert "locked" not in err.lower(), err
        assert "Traceback" not in err, err

    assert len(set(task_ids)) == processes
    expected = {f"t{t}": list(range(per_thread)) for t in range(threads)}
    for task_id in task_ids:
        task = Task.get_task(task_id=task_id)
        assert task.get_status() == "completed"
        scalars = task.get_reported_scalars()["thread"]
        assert {series: points["x"] for series, points in scalars.items()} == expected
    with contextlib.closing(sqlite3.connect(chaintrack_home / "chaintrack.db")) as conn:
        total = conn.execute("SELECT count(*) FROM events WHERE kind = 'scalar'").fetchone()[0]
        distinct = conn.execute(
            "SELECT count(*) FROM (SELECT DISTINCT task_id, metric, variant, iter FROM events "
            "WHERE kind = 'scalar')"
        ).fetchone()[0]
    assert total == distinct == processes * threads * per_thread
    spool = chaintrack_home / "spool"
    assert not spool.exists() or list(spool.iterdir()) == []
