"""`chaintrack server --artifacts s3://bucket/prefix` against an S3-compatible server on
127.0.0.1 (moto's server mode: an emulator of the S3 API, not Amazon S3). The SDK sends files
over HTTP to the server, which keeps them in the bucket and streams them back for download."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from s3_helpers import keys

from chaintrack import OutputModel, Task
from chaintrack.server.app import create_app
from chaintrack.store.s3blobs import S3BlobStore
from chaintrack.store.sql import SqlStore
from loopback import free_port, wait_until_serving


@pytest.fixture
def server(bucket: str, tmp_path: Path) -> Iterator[str]:
    """A `chaintrack server` process keeping its files in ``bucket`` under ``srv/``."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CHAINTRACK_HOME": str(tmp_path / "server-home")}
    argv = ["--store", f"sqlite:///{tmp_path / 'server' / 'tasks.db'}", "--port", str(port)]
    argv += ["--artifacts", f"s3://{bucket}/srv"]
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "chaintrack.cli", "server", *argv],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_serving(url, process, log_path)
            yield url
        finally:
            process.terminate()
            process.wait(60)


def test_the_sdk_logs_files_that_land_in_the_bucket_and_download_intact(
    server: str, bucket: str, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAINTRACK_TRACKING_URI", server)
    data = tmp_path / "data.bin"
    data.write_bytes(os.urandom(3 * 2**20))
    weights = tmp_path / "weights.pt"
    weights.write_bytes(os.urandom(1000))
    task = Task.init(project_name="s3", task_name="served")
    task.upload_artifact("data", artifact_object=data)
    task.get_logger().report_media("samples", "page", iteration=1, stream="<b>hi</b>",
                                   file_extension=".html")  # fmt: skip
    model = OutputModel(task=task, name="chain")
    model.update_weights(weights_filename=str(weights))
    task.close()

    stored = keys(s3, bucket)
    assert stored and all(k.startswith(f"srv/{task.id}/") for k in stored)
    assert any(k.endswith("/data.bin") for k in stored)
    assert not (tmp_path / "server" / "files").exists()  # nothing kept beside the database

    got = httpx.get(f"{server}/api/v1/tasks/{task.id}/artifact", params={"name": "data"})
    assert got.status_code == 200
    assert got.content == data.read_bytes()
    assert got.headers["content-length"] == str(len(data.read_bytes()))
    assert got.headers["content-disposition"] == 'attachment; filename="data.bin"'

    (model_record,) = Task.get_task(task_id=task.id).models["output"]
    got = httpx.get(f"{server}/api/v1/tasks/{task.id}/models/{model_record.id}/file")
    assert got.content == weights.read_bytes()

    (sample,) = Task.get_task(task_id=task.id).get_debug_samples()
    assert sample.local_path is not None
    assert Path(sample.local_path).read_text() == "<b>hi</b>"
    events = httpx.get(f"{server}/api/v1/tasks/{task.id}/events", params={"kind": "media"}).json()
    shown = httpx.get(
        f"{server}/api/v1/blob", params={"uri": events[0]["data"]["uri"], "inline": "true"}
    )
    assert shown.text == "<b>hi</b>"
    assert shown.headers["content-type"] == "text/html; charset=utf-8"
    assert "sandbox" in shown.headers["content-security-policy"]

    # A URI outside the server's prefix is not served.
    s3.put_object(Bucket=bucket, Key="private/secret.txt", Body=b"private bytes")
    refused = httpx.get(
        f"{server}/api/v1/blob", params={"uri": f"s3://{bucket}/private/secret.txt"}
    )
    assert refused.status_code == 404
    assert b"private bytes" not in refused.content


def test_an_unreachable_bucket_is_a_503_that_clients_retry(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    blobs = S3BlobStore("s3://any-bucket/files", endpoint_url=closed)
    store = SqlStore(f"sqlite:///{tmp_path / 'tasks.db'}", blobs=blobs)
    with TestClient(create_app(store, close_store=True)) as client:
        put = client.put("/api/v1/blobs/t/a.txt", content=b"x")
        assert put.status_code == 503
        assert f"the S3 endpoint {closed} cannot be reached" in put.json()["detail"]
        got = client.get("/api/v1/blob", params={"uri": "blob:t/a.txt"})
        assert got.status_code == 503
