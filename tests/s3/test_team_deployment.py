"""A team deployment, end to end: two `chaintrack server` processes (one with two workers) on
different loopback ports, one PostgreSQL database (a throwaway cluster, see ``pgserver.py``),
artifacts in an S3 bucket (moto's server mode on 127.0.0.1: an emulator of the S3 API, not
Amazon S3), and four SDK client processes spread over the two servers. Each client logs its own
task and also writes into a colleague's task through the *other* server. One server is killed
(SIGKILL to its whole process group, workers included) while its clients are logging, then
started again. Everything must be counted exactly once, and the database and both servers must
show the same tasks, events and artifact bytes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from chaintrack.store.base import Store
from chaintrack.store.records import LOG, SCALAR, TABLE, TaskQuery
from chaintrack.store.rest import RestStore
from chaintrack.store.sql import SqlStore
from loopback import WAIT, free_port, port_is_free, until, wait_until_serving

TOKEN = "team-token"
CLIENTS = 4
EVENTS = 1_200  # scalars per client into its own task
TEXT_EVERY = 10  # a console line every this many scalars
PEER_EVERY = 4  # a scalar into the colleague's task every this many

CLIENT = f"""
import logging, sys, time
from pathlib import Path
logging.basicConfig(level=logging.WARNING, format="%(message)s")
from chaintrack import Task

n, work = int(sys.argv[1]), Path(sys.argv[2])

def wait_for(name):
    while not (work / name).exists():
        time.sleep(0.05)

def mark(name, text=""):
    (work / (name + ".tmp")).write_text(text)
    (work / (name + ".tmp")).rename(work / name)

task = Task.init(project_name="team", task_name=f"client {{n}}")
assert task.flush(wait_for_uploads=True)  # the task is in the database before others use it
mark(f"{{n}}.id", task.id)
peer_id = f"{{(n + 1) % {CLIENTS}}}.id"
wait_for(peer_id)
peer = Task.get_task(task_id=(work / peer_id).read_text())  # a colleague's task
own, theirs = task.get_logger(), peer.get_logger()
for i in range({EVENTS}):
    own.report_scalar("loss", "train", float(i), iteration=i)
    if i % {TEXT_EVERY} == 0:
        own.report_text(f"step {{i}}", print_console=False)
    if i % {PEER_EVERY} == 0:
        theirs.report_scalar("peer", f"from client {{n}}", float(i), iteration=i)
    if i == {EVENTS} // 2:
        mark(f"{{n}}.half")
        wait_for("killed")  # the second half is logged while one server is down
    if i % 100 == 99:
        time.sleep(0.02)
task.upload_artifact("payload", artifact_object=work / f"{{n}}.bin")
own.report_table("results", "eval", table_plot=[["client", "events"], [n, {EVENTS}]])
mark(f"{{n}}.logged")
wait_for("restarted")
task.close()
print("closed", flush=True)
"""


class Server:
    """A `chaintrack server` process in a process group of its own (its workers included)."""

    def __init__(self, root: Path, name: str, store_uri: str, artifacts: str, workers: int):
        self.root = root / name
        self.root.mkdir()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [
            sys.executable, "-m", "chaintrack.cli", "server", "--store", store_uri,
            "--artifacts", artifacts, "--port", str(self.port), "--workers", str(workers),
        ]  # fmt: skip
        self.env = {**os.environ, "CHAINTRACK_HOME": str(self.root / "home")}
        self.env["CHAINTRACK_AUTH_TOKEN"] = TOKEN
        self.starts = 0
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.starts += 1
        self.log = self.root / f"run-{self.starts}.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                self.command,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_until_serving(self) -> None:
        assert self.process is not None
        wait_until_serving(self.url, self.process, self.log)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole group: SIGKILL to uvicorn's parent alone would leave its workers
        serving on the port."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, sig)
        self.process.wait(WAIT)
        until(lambda: port_is_free(self.port), f"port {self.port} to be released")

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


def client_view(store: Store) -> dict[str, Any]:
    """What a user sees of the team's tasks: per task name, its events (counted per identity of
    what was logged, so a duplicate shows as a 2), its tables and its artifact."""
    view: dict[str, Any] = {}
    for task in store.find_tasks(TaskQuery(project="team")):
        scalars = Counter((e.metric, e.variant, e.iter) for e in store.get_events(task.id, SCALAR))
        lines = Counter(e.text for e in store.get_events(task.id, LOG))
        tables = [(e.metric, e.variant) for e in store.get_events(task.id, TABLE)]
        (artifact,) = store.get_artifacts(task.id)
        view[task.name] = {
            "id": task.id,
            "status": task.status,
            "scalars": scalars,
            "lines": lines,
            "tables": tables,
            "artifact": (artifact.name, artifact.content_size, artifact.hash),
            "counts": store.task_summary(task.id).event_counts,
        }
    return view


def expected_view(n: int) -> dict[str, Any]:
    colleague = (n - 1) % CLIENTS
    scalars = Counter(("loss", "train", i) for i in range(EVENTS))
    scalars.update(("peer", f"from client {colleague}", i) for i in range(0, EVENTS, PEER_EVERY))
    lines = Counter(f"step {i}" for i in range(0, EVENTS, TEXT_EVERY))
    return {"scalars": scalars, "lines": lines, "tables": [("results", "eval")]}


@pytest.fixture
def servers(postgres_uri: str, bucket: str, tmp_path: Path) -> Iterator[list[Server]]:
    """Two servers of one database and one bucket, started at once on the empty database
    (one of them creates the store, the other waits for it)."""
    artifacts = f"s3://{bucket}/team"
    pair = [
        Server(tmp_path, "a", postgres_uri, artifacts, workers=1),
        Server(tmp_path, "b", postgres_uri, artifacts, workers=2),
    ]
    with ExitStack() as stack:
        for server in pair:
            stack.callback(server.stop)
            server.start()
        for server in pair:
            server.wait_until_serving()
        yield pair


@pytest.mark.slow
def test_two_servers_one_database_every_event_once_through_a_crash(
    servers: list[Server], postgres_uri: str, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    for n in range(CLIENTS):
        (work / f"{n}.bin").write_bytes(os.urandom(200_000 + n))
    b = servers[1]  # the server with two workers: crashed and restarted
    clients: list[tuple[subprocess.Popen[str], Path]] = []
    with ExitStack() as stack:
        for n in range(CLIENTS):
            server = servers[n % 2]  # clients 0 and 2 log to a, 1 and 3 to b
            env = {
                **os.environ,
                "CHAINTRACK_HOME": str(tmp_path / f"client-{n}"),
                "CHAINTRACK_TRACKING_URI": server.url,
                "CHAINTRACK_AUTH_TOKEN": TOKEN,
                "CHAINTRACK_AUTO_CONNECT_STREAMS": "0",
                "CHAINTRACK_DRAIN_TIMEOUT": str(int(WAIT)),
            }
            err = tmp_path / f"client-{n}.err"
            with err.open("w") as err_file:
                process = subprocess.Popen(
                    [sys.executable, "-c", CLIENT, str(n), str(work)],
                    env=env, stdout=subprocess.PIPE, stderr=err_file, text=True,
                )  # fmt: skip
            stack.callback(_end, process)
            clients.append((process, err))

        def reached(name: str) -> bool:
            for process, err in clients:
                assert process.poll() is None, err.read_text()
            return all((work / f"{n}.{name}").exists() for n in range(CLIENTS))

        until(lambda: reached("half"), "every client to log half of its events")
        b.kill()  # a crash: no drain, no goodbye, workers and all
        (work / "killed").touch()
        until(lambda: reached("logged"), "every client to log the rest and its artifact")
        for _, err in clients[1::2]:  # b's clients kept their events while it was away
            until(lambda err=err: "is unreachable" in err.read_text(), "b's clients to notice")
        b.start()
        b.wait_until_serving()
        (work / "restarted").touch()
        for process, err in clients:
            out, _ = process.communicate(timeout=WAIT)
            assert process.returncode == 0, err.read_text()
            assert out.strip() == "closed"
        for _, err in clients[1::2]:
            assert "is reachable again" in err.read_text()

    direct = SqlStore(postgres_uri)
    rest_stores = [RestStore(server.url, token=TOKEN) for server in servers]
    try:
        views = [client_view(store) for store in (direct, *rest_stores)]
    finally:
        for store in (direct, *rest_stores):
            store.close()
    seen = views[0]
    assert sorted(seen) == [f"client {n}" for n in range(CLIENTS)]
    for n in range(CLIENTS):
        task = seen[f"client {n}"]
        expected = expected_view(n)
        assert task["status"] == "completed"
        assert task["scalars"] == expected["scalars"]  # each exactly once, none missing
        assert task["lines"] == expected["lines"]
        assert task["tables"] == expected["tables"]
        assert task["counts"][SCALAR] == sum(expected["scalars"].values())
        data = (work / f"{n}.bin").read_bytes()
        assert task["artifact"][:2] == ("payload", len(data))
    # One consistent view: the database and both servers agree on everything.
    assert views[1] == seen
    assert views[2] == seen
    # The artifact's bytes come back intact from the bucket through either server.
    headers = {"Authorization": f"Bearer {TOKEN}"}
    for n in range(CLIENTS):
        task_id = seen[f"client {n}"]["id"]
        for server in servers:
            got = httpx.get(f"{server.url}/api/v1/tasks/{task_id}/artifact",
                            params={"name": "payload"}, headers=headers, timeout=WAIT)  # fmt: skip
            assert got.status_code == 200
            assert got.content == (work / f"{n}.bin").read_bytes()


def _end(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
        process.communicate(timeout=WAIT)
