"""The PostgreSQL server itself is stopped (`pg_ctl stop`) while a client logs through a
`chaintrack server` process, then started again: the server answers 503 meanwhile, the client
keeps its events, and everything is stored once the database is back.

A cluster of its own (tests/pgserver.py), since stopping the shared one would stop other tests.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fault_helpers import child_env, running_server

from chaintrack.store.records import SCALAR
from chaintrack.store.sql import SqlStore
from loopback import until
from pgserver import PostgresServer, PostgresUnavailable

CLIENT = """
import sys, time
from chaintrack import Task
task = Task.init(project_name="pg", task_name="logs while the database is stopped")
logger = task.get_logger()
for i in range(400):
    logger.report_scalar("loss", "train", float(i), iteration=i)
    if i == 50:
        task.flush(wait_for_uploads=True)
        print(task.id, flush=True)
        sys.stdin.readline()  # the test stops PostgreSQL, then lets the client go on
    time.sleep(0.005)
print("logged", flush=True)
sys.stdin.readline()  # until PostgreSQL is back
task.close()
"""


@pytest.fixture
def own_cluster() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL is not available: {exc}")
    try:
        yield server
    finally:
        server.stop()


def _pg_ctl(server: PostgresServer, *args: str) -> None:
    assert server._bin_dir is not None and server._root is not None
    done = server._run(str(server._bin_dir / "pg_ctl"), "-D", str(server._root / "data"), *args)
    assert done.returncode == 0, done.stderr


def test_a_stopped_database_server_loses_nothing(
    own_cluster: PostgresServer, tmp_path: Path
) -> None:
    uri = own_cluster.uri(own_cluster.create_database())
    port = uri.rsplit(":", 1)[1].split("/", 1)[0]
    root = own_cluster._root
    assert root is not None
    with running_server(tmp_path, uri) as server:
        env = child_env(tmp_path / "client", CHAINTRACK_TRACKING_URI=server.url,
                        CHAINTRACK_DRAIN_TIMEOUT="60")  # fmt: skip
        client = subprocess.Popen([sys.executable, "-c", CLIENT], env=env, text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip
        assert client.stdin is not None and client.stdout is not None
        try:
            task_id = client.stdout.readline().strip()
            _pg_ctl(own_cluster, "-m", "fast", "-w", "stop")
            ready = httpx.get(server.url + "/api/v1/ready", timeout=30)
            assert ready.status_code == 503
            client.stdin.write("go\n")
            client.stdin.flush()
            assert client.stdout.readline().strip() == "logged"
            time.sleep(1)
            options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
            log = str(root / "server.log")
            _pg_ctl(own_cluster, "-l", log, "-w", "-t", "60", "-o", options, "start")
            until(lambda: httpx.get(server.url + "/api/v1/ready", timeout=30).status_code == 200,
                  "the database to be back")  # fmt: skip
            client.stdin.write("go\n")
            client.stdin.flush()
            assert client.wait(180) == 0
        finally:
            if client.poll() is None:
                client.kill()
            client.wait(60)
            client.stdin.close()
            client.stdout.close()
    store = SqlStore(uri)
    try:
        assert sorted(e.iter for e in store.get_events(task_id, SCALAR)) == list(range(400))
        assert store.get_task(task_id).status == "completed"
    finally:
        store.close()
