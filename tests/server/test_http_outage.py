"""A tracking server killed and restarted while a client keeps logging: every event arrives,
exactly once. Real processes: `chaintrack server` and a Python client using the SDK."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from chaintrack.store.records import SCALAR
from chaintrack.store.sql import SqlStore
from loopback import WAIT, free_port, until

EVENTS = 4_000

CLIENT = """
import logging, sys, time
logging.basicConfig(level=logging.WARNING, format="%(message)s")
from chaintrack import Task
task = Task.init(project_name="outage", task_name="kill and restart")
open(sys.argv[1], "w").write(task.id)
logger = task.get_logger()
for i in range({events}):
    logger.report_scalar("loss", "train", float(i), iteration=i)
    if i % 100 == 99:
        time.sleep(0.1)
task.close()
print("closed", flush=True)
"""


def healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/api/v1/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_killing_and_restarting_the_server_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "server" / "tasks.db"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CHAINTRACK_HOME": str(tmp_path / "server-home")}
    env.pop("CHAINTRACK_AUTH_TOKEN", None)
    command = [
        sys.executable,
        "-m",
        "chaintrack.cli",
        "server",
        "--store",
        f"sqlite:///{db}",
        "--artifacts",
        str(tmp_path / "files"),
        "--port",
        str(port),
    ]
    logs = [(tmp_path / f"server-{n}.log").open("w") for n in (1, 2)]
    server = subprocess.Popen(command, env=env, stdout=logs[0], stderr=subprocess.STDOUT)
    until(lambda: healthy(url), "the server to start")

    id_file = tmp_path / "task-id"
    client_env = {
        **os.environ,
        "CHAINTRACK_HOME": str(tmp_path / "client-home"),
        "CHAINTRACK_TRACKING_URI": url,
        "CHAINTRACK_AUTO_CONNECT_STREAMS": "0",
    }
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT.format(events=EVENTS), str(id_file)],
        env=client_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        until(lambda: id_file.exists() and id_file.read_text() != "", "the client's task")
        task_id = id_file.read_text()

        def arrived() -> int:
            summary = httpx.get(f"{url}/api/v1/tasks/{task_id}/summary", timeout=5)
            return int(summary.json()["event_counts"].get(SCALAR, 0)) if summary.is_success else 0

        until(lambda: arrived() >= 600, "some events to arrive")
        server.send_signal(signal.SIGKILL)  # no drain, no goodbye: a crash
        server.wait(WAIT)
        time.sleep(1.5)  # the client goes on logging into the void
        server = subprocess.Popen(command, env=env, stdout=logs[1], stderr=subprocess.STDOUT)
        until(lambda: healthy(url), "the server to restart")
        out, err = client.communicate(timeout=WAIT)
        assert client.returncode == 0, err
        assert out.strip() == "closed"
    finally:
        for process in (client, server):
            if process.poll() is None:
                process.terminate()
                process.wait(WAIT)
        for log in logs:
            log.close()

    store = SqlStore(f"sqlite:///{db}")
    try:
        iterations = [e.iter for e in store.get_events(task_id, SCALAR)]
        assert len(iterations) == EVENTS  # none twice
        assert sorted(iterations) == list(range(EVENTS))  # none missing
        assert store.get_task(task_id).status == "completed"
    finally:
        store.close()
    # The outage did happen while the client was logging, and it noticed both ends of it.
    assert "is unreachable" in err
    assert "is reachable again" in err
