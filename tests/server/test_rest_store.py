"""The HTTP store: the SDK logging to a live tracking server (uvicorn on a free port) through the
same Store interface as the embedded store; outages, tokens, a busy server, bad batches."""

from __future__ import annotations

import asyncio
import gzip
import json
import math
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from server_helpers import Api, write_task

from chaintrack import OutputModel, Task
from chaintrack.errors import StoreError, StoreUnavailableError, TaskNotFoundError
from chaintrack.sdk import writers
from chaintrack.server.app import create_app
from chaintrack.store import open_store
from chaintrack.store.records import SCALAR, WriteBatch
from chaintrack.store.rest import RestStore
from chaintrack.store.sql import SqlStore

WAIT = 60.0  # seconds: a bound for hangs only


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """``create_app`` served by uvicorn in a thread, over its own SQLite store."""

    def __init__(self, root: Path, port: int | None = None, **app: Any) -> None:
        self.store = SqlStore(f"sqlite:///{root / 'server' / 'tasks.db'}")
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(self.store, **app),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="test-uvicorn", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + WAIT
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "no server"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(WAIT)
        self.store.close()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path)
    yield server
    server.stop()


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_the_sdk_logs_to_a_tracking_server_as_to_the_embedded_store(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CHAINTRACK_TRACKING_URI", live.url)
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"\x00\x01weights")
    task = Task.init(project_name="remote", task_name="over http", tags=["net"])
    task.connect({"retriever": {"k": 4}, "temperature": 0.5})
    task.connect_configuration({"prompt": "Be brief."}, name="prompt")
    logger = task.get_logger()
    for i, value in enumerate([0.5, math.nan, 0.25]):
        logger.report_scalar("loss", "train", value, iteration=i)
    logger.report_single_value("questions", 12)
    logger.report_text("hello from far away", print_console=False)
    logger.report_table("answers", "eval", table_plot=[["q", "a"], ["2+2?", "4"]])
    logger.report_media("page", "html", iteration=3, stream="<b>remote</b>", file_extension="html")
    task.upload_artifact("summary", {"ok": True})
    model = OutputModel(task=task, name="chain", config_dict={"k": 4})
    model.update_weights(weights_filename=str(weights))
    task.close()

    assert isinstance(open_store(), RestStore)
    again = Task.get_task(task_id=task.id)
    assert (again.name, again.get_status(), again.get_tags()) == ("over http", "completed", ["net"])
    assert again.get_parameters()["General/retriever/k"] == 4
    assert json.loads(again.get_configuration_objects()["prompt"]) == {"prompt": "Be brief."}
    loss = again.get_reported_scalars()["loss"]["train"]
    assert loss["x"] == [0, 1, 2]
    assert loss["y"][0] == 0.5 and math.isnan(loss["y"][1])
    assert again.get_reported_single_values() == {"questions": 12.0}
    assert again.get_reported_console_output() == ["hello from far away"]
    assert again.get_reported_tables()["answers"]["eval"].to_dict("list") == {
        "q": ["2+2?"],
        "a": ["4"],
    }
    [sample] = again.get_debug_samples()
    assert Path(sample.local_path or "").read_bytes() == b"<b>remote</b>"
    assert again.artifacts["summary"].get() == {"ok": True}
    [stored_model] = again.models["output"]
    assert Path(stored_model.get_local_copy()).read_bytes() == b"\x00\x01weights"
    # What the server stored, read without HTTP.
    assert live.store.get_task(task.id).status == "completed"
    assert len(live.store.get_events(task.id, SCALAR)) == 4


def test_unknown_tasks_and_refused_requests_raise_what_the_sdk_expects(
    live: LiveServer,
) -> None:
    store = RestStore(live.url)
    with pytest.raises(TaskNotFoundError, match="no task with id 'nope'"):
        store.get_task("nope")
    with pytest.raises(StoreError, match="refused PUT /api/v1/blobs/"):
        store.request("PUT", "/blobs/" + "x" * 300 + "/%2e%2e/%2e%2e/escape", content=b"x")
    store.close()


def test_a_server_with_a_token_refuses_clients_without_it(tmp_path: Path) -> None:
    server = LiveServer(tmp_path, auth_token="s3cret")
    with_user_info = server.url.replace("http://", "http://s3cret@")
    clients = [
        RestStore(server.url),
        RestStore(server.url, token="s3cret"),
        RestStore(with_user_info),
    ]
    try:
        with pytest.raises(StoreError, match="needs its auth token: set CHAINTRACK_AUTH_TOKEN"):
            clients[0].list_projects()
        assert clients[1].list_projects() == []
        assert clients[2].list_projects() == []
        assert clients[2].display_uri == server.url  # the token is not shown
    finally:
        for client in clients:
            client.close()
        server.stop()


def test_an_unreachable_server_raises_store_unavailable_after_retries() -> None:
    store = RestStore(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StoreUnavailableError, match=r"is unreachable .*ConnectError"):
        store.write(WriteBatch())
    store.close()


def test_events_wait_on_disk_while_the_server_is_down_and_arrive_once_it_is_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chaintrack_home: Path
) -> None:
    port = free_port()
    monkeypatch.setenv("CHAINTRACK_TRACKING_URI", f"http://127.0.0.1:{port}")
    task = Task.init(project_name="outage", task_name="down from the start")
    logger = task.get_logger()
    logger.report_scalar("loss", "train", 0.0, iteration=0)
    active = writers.writer_for(open_store())
    until(lambda: active._offline, "the writer to find the server unreachable")
    for i in range(1, 2_501):
        logger.report_scalar("loss", "train", float(i), iteration=i)
    spool_files = list((chaintrack_home / "spool").glob("*.spool"))
    assert spool_files and spool_files[0].stat().st_size > 0  # on disk, not in memory
    assert active.flush(0.5) is False  # nothing can be stored yet

    server = LiveServer(tmp_path, port=port)
    try:
        assert task.flush(wait_for_uploads=True)  # everything is stored now
        task.close()
        stored = server.store.get_events(task.id, SCALAR)
        assert sorted(e.iter for e in stored) == list(range(2_501))
        assert server.store.get_task(task.id).status == "completed"
        assert not list((chaintrack_home / "spool").glob("failed-*"))
        assert not active._offline
    finally:
        server.stop()


def test_a_batch_larger_than_one_request_arrives_whole(live: LiveServer) -> None:
    store = RestStore(live.url)
    rows = [
        ("t", 1, i, SCALAR, float(i), "m", "v", i, float(i), None, None, None)
        for i in range(25_000)
    ]
    from chaintrack.store.records import TaskRecord

    task = TaskRecord(
        id="t",
        project="p",
        name="n",
        type="training",
        status="in_progress",
        created=1.0,
        last_update=1.0,
    )
    store.write(WriteBatch(new_tasks=[task], events=rows))  # type: ignore[arg-type]
    store.write(WriteBatch(events=rows[:100]))  # a replay: stored once
    assert len(live.store.get_events("t", SCALAR)) == 25_000
    store.close()


class GatedStore:
    """A store whose writes wait until the test opens the gate (a slow database)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.gate = threading.Event()
        self.uri = inner.uri
        self.blobs = inner.blobs

    def write(self, batch: WriteBatch) -> None:
        assert self.gate.wait(WAIT)
        self.inner.write(batch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_full_ingest_queue_answers_503_with_retry_after() -> None:
    inner = open_store()
    write_task(inner, "t")  # events of an unknown task are refused before they are queued
    gated = GatedStore(inner)
    api = Api(create_app(gated, ingest_queue=1))  # type: ignore[arg-type]
    body = json.dumps({"events": [["t", 1, 1, "scalar", 1.0, "m", "v", 0, 1.0, None, None, None]]})

    async def two_writes() -> tuple[Any, Any]:
        first = asyncio.ensure_future(api.client.post("/api/v1/batches", content=body))
        while api.app.state.ingest.queued == 0:
            await asyncio.sleep(0.01)
        second = await api.client.post("/api/v1/batches", content=body)
        gated.gate.set()
        return await first, second

    first, second = api.loop.run_until_complete(two_writes())
    assert first.status_code == 200
    assert first.json() == {"items": 1}
    assert second.status_code == 503
    assert second.headers["retry-after"] == "1"
    assert "retry shortly" in second.json()["detail"]
    api.close()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "the write batch is not JSON"),
        (b"[]", "it must be a JSON object"),
        (b'{"events": [[1, 2]]}', "event 0 must be a list of 12 values"),
        (
            b'{"events": [["t", 1, 1, "scalar", "now", null, null, null, null, null, null, null]]}',
            "event 0 has a value of the wrong type: 'now'",
        ),
        (b'{"task_updates": [["t", {"id": "other"}]]}', "sets unknown fields ['id']"),
        (b'{"new_tasks": [{"id": "t"}]}', "new_tasks[0]: "),
        (b'{"tables": []}', "unknown keys ['tables']"),
    ],
)
def test_a_malformed_batch_is_refused_with_what_is_wrong(
    api: Api, body: bytes, message: str
) -> None:
    response = api.post("/api/v1/batches", content=body)
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_a_compressed_batch_is_accepted_and_bad_gzip_refused(api: Api) -> None:
    write_task(api.app.state.store, "t")
    batch = {"events": [["t", 1, 1, "scalar", 1.0, "m", "v", 0, "NaN", None, None, None]]}
    ok = api.post(
        "/api/v1/batches",
        content=gzip.compress(json.dumps(batch).encode()),
        headers={"Content-Encoding": "gzip"},
    )
    assert ok.status_code == 200
    assert math.isnan(api.app.state.store.get_events("t", SCALAR)[0].value)
    bad = api.post("/api/v1/batches", content=b"not gzip", headers={"Content-Encoding": "gzip"})
    assert bad.status_code == 400
    assert "not valid gzip" in bad.json()["detail"]
