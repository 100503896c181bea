"""The tracking server is killed (SIGKILL) while a client logs to it, then started again on the
same port: the client keeps its events meanwhile and sends them once the server answers;
everything reported is stored once and the task ends `completed`."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from fault_helpers import ServerProcess, child_env

from chaintrack.store.records import SCALAR
from chaintrack.store.sql import SqlStore

CLIENT = """
import sys, time
from chaintrack import Task
task = Task.init(project_name="restart", task_name="logs through an outage")
logger = task.get_logger()
for i in range(600):
    logger.report_scalar("loss", "train", float(i), iteration=i)
    if i == 100:
        task.flush(wait_for_uploads=True)
        print(task.id, flush=True)
    time.sleep(0.01)
task.close()
"""


def test_a_killed_and_restarted_server_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "server.db"
    server = ServerProcess(tmp_path, f"sqlite:///{db}").start()
    env = child_env(tmp_path / "client", CHAINTRACK_TRACKING_URI=server.url,
                    CHAINTRACK_DRAIN_TIMEOUT="60", CHAINTRACK_HTTP_TIMEOUT="2")  # fmt: skip
    client = subprocess.Popen([sys.executable, "-c", CLIENT], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert client.stdout is not None
        task_id = client.stdout.readline().strip()
        assert len(task_id) == 32
        server.kill()  # SIGKILL: no drain, no goodbye
        time.sleep(2)
        server = ServerProcess(tmp_path, f"sqlite:///{db}", port=server.port).start()
        _, err = client.communicate(timeout=180)
        assert client.returncode == 0, err
    finally:
        if client.poll() is None:
            client.kill()
            client.communicate()
        server.stop()
    store = SqlStore(f"sqlite:///{db}", blob_root=tmp_path / "files")
    try:
        iterations = sorted(e.iter for e in store.get_events(task_id, SCALAR))
        assert iterations == list(range(600))  # each once: replays never duplicate
        assert store.get_task(task_id).status == "completed"
    finally:
        store.close()
