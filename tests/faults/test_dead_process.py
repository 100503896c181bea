"""Issue point 8: a task whose process was SIGKILLed no longer stays `in_progress` forever. The
next chaintrack process on the host marks it `stopped` (its process id and start time were
recorded), and a tracking server marks a task it stopped hearing from (no heartbeat) after
CHAINTRACK_HEARTBEAT_TIMEOUT. A task that runs quietly keeps sending heartbeats and stays
running; the task page says when it was last heard from."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from fault_helpers import child_env, running_server

from chaintrack.store.liveness import REASON
from chaintrack.store.sql import SqlStore
from loopback import until

#: A child that starts a task, reports, prints the task id, then waits to be killed.
CHILD = """
import sys, time
from chaintrack import Task
task = Task.init(project_name="dead", task_name="killed")
for i in range(50):
    task.get_logger().report_scalar("loss", "train", float(i), iteration=i)
task.flush(wait_for_uploads=True)
print(task.id, flush=True)
time.sleep(float(sys.argv[1]))
"""


def _start_child(home: Path, sleep: float, **env: str) -> tuple[subprocess.Popen[str], str]:
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(sleep)], env=child_env(home, **env),
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert child.stdout is not None
    task_id = child.stdout.readline().strip()
    assert len(task_id) == 32, task_id
    return child, task_id


def _tasks(home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chaintrack.cli", "tasks"], env=child_env(home),
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


def _end(child: subprocess.Popen[str]) -> None:
    if child.poll() is None:
        child.kill()
    child.wait(60)
    if child.stdout is not None:
        child.stdout.close()


def test_a_sigkilled_task_is_marked_stopped_by_the_next_process(tmp_path: Path) -> None:
    home = tmp_path / "home"
    child, task_id = _start_child(home, 600)
    store = SqlStore(f"sqlite:///{home / 'chaintrack.db'}", blob_root=home / "files")
    try:
        runtime = store.get_task(task_id).runtime
        assert runtime["process"]["pid"] == child.pid
        assert runtime["process"]["started"] > 0
        # while it runs, nobody marks it
        listed = _tasks(home)
        assert "in_progress" in listed.stdout
        child.send_signal(signal.SIGKILL)
        child.wait(60)
        assert store.get_task(task_id).status == "in_progress"  # nothing marked it yet

        listed = _tasks(home)
        assert listed.returncode == 0, listed.stderr
        assert "stopped" in listed.stdout
        record = store.get_task(task_id)
        assert record.status == "stopped"
        assert record.status_reason == REASON
        assert len(store.get_events(task_id, "scalar")) == 50  # what it reported is kept
    finally:
        _end(child)
        store.close()


def test_task_init_in_another_process_marks_it_too(tmp_path: Path) -> None:
    home = tmp_path / "home"
    child, task_id = _start_child(home, 600)
    child.send_signal(signal.SIGKILL)
    _end(child)
    code = (
        "from chaintrack import Task\n"
        "t = Task.init(project_name='dead', task_name='next run')\n"
        "t._info_thread.join(60)\n"
        "t.close()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=child_env(home), timeout=120,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    store = SqlStore(f"sqlite:///{home / 'chaintrack.db'}", blob_root=home / "files")
    try:
        assert store.get_task(task_id).status == "stopped"
        assert store.get_task(task_id).status_reason == REASON
    finally:
        store.close()


def test_a_server_stops_tasks_it_no_longer_hears_from(tmp_path: Path) -> None:
    """The heartbeat: a quiet task (no events for three heartbeat timeouts) stays running while
    its process lives; killed, the server marks it stopped after the timeout."""
    db = tmp_path / "server.db"
    with running_server(tmp_path, f"sqlite:///{db}", CHAINTRACK_HEARTBEAT_TIMEOUT="2") as server:
        # A task of a process elsewhere (no process of this host recorded): only silence counts.
        far = {"id": "f" * 32, "project": "p", "name": "elsewhere", "type": "training",
               "status": "in_progress", "created": time.time() - 60,
               "last_update": time.time() - 60,
               "runtime": {"process": {"host": "elsewhere", "pid": 1, "started": 1.0}}}  # fmt: skip
        assert httpx.post(server.url + "/api/v1/batches",
                          content=json.dumps({"new_tasks": [far]})).status_code == 200  # fmt: skip
        home = tmp_path / "client"
        child, task_id = _start_child(home, 600, CHAINTRACK_TRACKING_URI=server.url,
                                      CHAINTRACK_HEARTBEAT_SECONDS="0.3")  # fmt: skip
        try:
            api = f"{server.url}/api/v1/tasks/"
            get = lambda i: httpx.get(api + i, timeout=30).json()  # noqa: E731
            until(lambda: get("f" * 32)["status"] == "stopped", "the silent task to be stopped")
            assert get("f" * 32)["status_reason"] == REASON
            time.sleep(6)  # three timeouts without an event: its heartbeats keep it running
            assert get(task_id)["status"] == "in_progress"
            page = httpx.get(f"{server.url}/tasks/{task_id}", timeout=30)
            assert 'id="last-heard"' in page.text and "last heard from" in page.text
            child.send_signal(signal.SIGKILL)
            child.wait(60)
            until(lambda: get(task_id)["status"] == "stopped", "the killed task to be stopped")
            assert get(task_id)["status_reason"] == REASON
        finally:
            _end(child)


def test_a_process_start_time_is_read_as_psutil_reads_it_without_importing_it(
    tmp_path: Path,
) -> None:
    """Task.init records its process's start time; on Linux it is read from /proc, which is
    what psutil reads, so that Task.init does not pay psutil's import (10 to 40 ms)."""
    import os

    import psutil

    from chaintrack.store.liveness import process_started

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        for pid in (os.getpid(), child.pid):
            assert process_started(pid) == psutil.Process(pid).create_time()
    finally:
        child.kill()
        child.wait()
    assert process_started(child.pid) is None  # gone
    code = (
        "import sys\nfrom chaintrack import Task\n"
        "task = Task.init(project_name='p', task_name='t')\n"
        "print(task._record.runtime['process']['started'], 'psutil' in sys.modules)\n"
        "task.close()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=child_env(tmp_path), capture_output=True,
                         text=True, check=True).stdout.split()  # fmt: skip
    assert float(out[0]) > 0 and out[1] == "False"
