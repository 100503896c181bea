"""The SDK with a directly-opened store whose files go to S3 (``CHAINTRACK_ARTIFACTS_URI``),
against an S3-compatible server on 127.0.0.1 (moto's server mode: an emulator of the S3 API, not
Amazon S3). An S3 outage never raises in the application: uploads wait and go through later."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from s3_helpers import keys

from chaintrack import OutputModel, Task
from chaintrack.errors import StoreError
from loopback import free_port, until


def test_artifacts_models_and_samples_go_to_the_bucket(
    bucket: str, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chaintrack_home: Path
) -> None:
    monkeypatch.setenv("CHAINTRACK_ARTIFACTS_URI", f"s3://{bucket}/embedded")
    data = tmp_path / "data.bin"
    data.write_bytes(bytes(range(256)) * 1000)
    weights = tmp_path / "weights.pt"
    weights.write_bytes(b"weights")
    task = Task.init(project_name="s3", task_name="embedded")
    task.upload_artifact("data", artifact_object=data)
    task.upload_artifact("config", artifact_object={"k": 4})
    task.get_logger().report_media("samples", "page", iteration=1, stream="<b>hi</b>",
                                   file_extension=".html")  # fmt: skip
    model = OutputModel(task=task, name="chain")
    model_uri = model.update_weights(weights_filename=str(weights))
    task.close()

    assert model_uri.startswith(f"s3://{bucket}/embedded/{task.id}/")
    stored = keys(s3, bucket)
    assert stored and all(k.startswith(f"embedded/{task.id}/") for k in stored)
    assert not (chaintrack_home / "files").exists()
    again = Task.get_task(task_id=task.id)
    artifact = again.artifacts["data"]
    assert artifact.url.startswith(f"s3://{bucket}/embedded/{task.id}/artifacts/")
    assert Path(artifact.get_local_copy()).read_bytes() == data.read_bytes()
    assert again.artifacts["config"].get() == {"k": 4}
    (sample,) = again.get_debug_samples()
    assert sample.local_path is not None
    assert Path(sample.local_path).read_text() == "<b>hi</b>"


def test_a_missing_bucket_fails_task_init_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINTRACK_ARTIFACTS_URI", "s3://no-such-bucket-here/files")
    with pytest.raises(StoreError, match="'no-such-bucket-here' does not exist"):
        Task.init(project_name="s3", task_name="no bucket")


def test_an_s3_outage_delays_uploads_without_raising(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    first = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    first.start()
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket="outage-bucket")
    monkeypatch.setenv("CHAINTRACK_S3_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("CHAINTRACK_ARTIFACTS_URI", "s3://outage-bucket/files")
    task = Task.init(project_name="s3", task_name="outage")
    first.stop()
    assert first._server is not None
    first._server.server_close()  # stop() leaves the socket listening
    with caplog.at_level(logging.WARNING, logger="chaintrack"):
        task.upload_artifact("during", artifact_object={"n": 1})
        task.get_logger().report_scalar("loss", "train", 0.5, iteration=0)
        until(lambda: "cannot be reached" in caplog.text, "the writer to notice the outage")
    # The same emulator state (moto keeps it per process) comes back on the same address.
    second = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    second.start()
    try:
        assert task.flush(wait_for_uploads=True)
        task.close()
        assert Task.get_task(task_id=task.id).artifacts["during"].get() == {"n": 1}
        assert any(k.startswith(f"files/{task.id}/") for k in keys(s3, "outage-bucket"))
    finally:
        second.stop()


def test_a_refused_upload_is_logged_and_kept_not_raised(
    bucket: str, s3: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CHAINTRACK_ARTIFACTS_URI", f"s3://{bucket}/files")
    task = Task.init(project_name="s3", task_name="bucket deleted")
    s3.delete_bucket(Bucket=bucket)
    with caplog.at_level(logging.ERROR, logger="chaintrack"):
        task.upload_artifact("lost", artifact_object={"n": 1})
        assert task.flush(wait_for_uploads=True)
    assert "could not be stored" in caplog.text
    assert f"the bucket {bucket!r} does not exist" in caplog.text
    task.get_logger().report_scalar("loss", "train", 0.5, iteration=0)
    task.close()
    assert "lost" not in Task.get_task(task_id=task.id).artifacts
