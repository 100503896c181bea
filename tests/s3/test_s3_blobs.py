"""S3BlobStore against an S3-compatible server on 127.0.0.1 (moto's server mode: an emulator of
the S3 API, not Amazon S3): files round-trip, large ones in multipart uploads, under a prefix that
no key or URI can leave; a bucket that cannot be used is refused at once, saying what to fix."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import pytest
from s3_helpers import keys

from chaintrack import cli
from chaintrack.errors import (
    ConfigurationError,
    InvalidArgumentError,
    MissingDependencyError,
    StoreError,
    StoreUnavailableError,
)
from chaintrack.store.blob_locations import open_blob_store
from chaintrack.store.blobs import LocalBlobStore
from chaintrack.store.s3blobs import S3BlobStore
from loopback import free_port


def test_put_and_read_back_under_the_prefix(bucket: str, s3: Any, tmp_path: Path) -> None:
    blobs = open_blob_store(f"s3://{bucket}/team/files/")
    assert isinstance(blobs, S3BlobStore)
    uri = blobs.put_bytes("task1/media/a b/1.png", b"\x89PNG")
    assert uri == f"s3://{bucket}/team/files/task1/media/a b/1.png"
    assert blobs.uri_for("task1/media/a b/1.png") == uri
    with blobs.open(uri) as f:
        assert f.read() == b"\x89PNG"
    source = tmp_path / "model.bin"
    source.write_bytes(b"weights")
    uri2 = blobs.put_file("task1/models/model.bin", source)
    copy = blobs.local_path(uri2)
    assert copy.read_bytes() == b"weights"
    assert copy != source
    # What a tracking server's client records (blob:<key>) is found under the prefix too.
    with blobs.open("blob:task1/models/model.bin") as f:
        assert f.read() == b"weights"
    # Putting a key again replaces the object, and the local copy follows.
    blobs.put_bytes("task1/models/model.bin", b"weights v2")
    assert blobs.local_path(uri2).read_bytes() == b"weights v2"
    assert keys(s3, bucket) == {
        "team/files/task1/media/a b/1.png",
        "team/files/task1/models/model.bin",
    }


def test_a_bucket_without_prefix(bucket: str, s3: Any) -> None:
    blobs = open_blob_store(f"s3://{bucket}")
    assert blobs is not None
    assert blobs.put_bytes("t/x.txt", b"x") == f"s3://{bucket}/t/x.txt"
    assert keys(s3, bucket) == {"t/x.txt"}


def test_a_large_file_goes_up_in_parts(bucket: str, s3: Any, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    block = hashlib.sha256(b"seed").digest() * 32_768  # 1 MiB, not all zeros
    with big.open("wb") as f:
        for i in range(20):
            f.write(bytes([i]) + block[1:])
    blobs = S3BlobStore(f"s3://{bucket}/p")
    uri = blobs.put_file("t/big.bin", big)
    head = s3.head_object(Bucket=bucket, Key="p/t/big.bin")
    assert head["ContentLength"] == 20 * 2**20
    assert head["ETag"].strip('"').endswith("-3")  # a multipart upload's ETag counts its parts
    digest = hashlib.sha256(big.read_bytes()).hexdigest()
    assert hashlib.sha256(blobs.local_path(uri).read_bytes()).hexdigest() == digest


@pytest.mark.parametrize(
    "key", ["../escape.txt", "a/../../escape.txt", "..", "/abs.txt", "\\abs.txt", "C:x", "a\0b"]
)
def test_keys_cannot_leave_the_prefix(bucket: str, s3: Any, key: str) -> None:
    blobs = S3BlobStore(f"s3://{bucket}/inside")
    with pytest.raises(InvalidArgumentError, match="not a relative path inside the store"):
        blobs.put_bytes(key, b"x")
    with pytest.raises(InvalidArgumentError):
        blobs.uri_for(key)
    assert keys(s3, bucket) == set()


def test_uris_outside_the_prefix_are_refused(bucket: str, s3: Any) -> None:
    s3.put_object(Bucket=bucket, Key="secret.txt", Body=b"secret")
    s3.put_object(Bucket=bucket, Key="inside-not/secret.txt", Body=b"secret")
    blobs = S3BlobStore(f"s3://{bucket}/inside")
    for uri in (
        f"s3://{bucket}/secret.txt",
        f"s3://{bucket}/inside-not/secret.txt",
        f"s3://other-{bucket}/inside/secret.txt",
        "file:///etc/passwd",
    ):
        with pytest.raises(StoreError, match="is not under this store's"):
            blobs.open(uri)
    for uri in (f"s3://{bucket}/inside/../secret.txt", "blob:../secret.txt"):
        with pytest.raises(InvalidArgumentError):
            blobs.local_path(uri)


def test_a_missing_bucket_is_refused_when_opened(s3_endpoint: str) -> None:
    with pytest.raises(StoreError) as raised:
        open_blob_store("s3://no-such-bucket/files")
    message = str(raised.value)
    assert "cannot use the artifacts location s3://no-such-bucket/files" in message
    assert f"the S3 endpoint {s3_endpoint}" in message
    assert "'no-such-bucket' does not exist" in message
    assert "aws s3 mb s3://no-such-bucket" in message


def test_the_server_does_not_start_with_a_missing_bucket(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["server", "--store", f"sqlite:///{tmp_path / 't.db'}", "--artifacts", "s3://nope-x/f"]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("chaintrack: error: cannot use the artifacts location s3://nope-x/f")
    assert "'nope-x' does not exist" in err


def test_an_unreachable_endpoint_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("CHAINTRACK_S3_ENDPOINT_URL", closed)
    with pytest.raises(StoreUnavailableError) as raised:
        open_blob_store("s3://any-bucket/files")
    message = str(raised.value)
    assert f"the S3 endpoint {closed} cannot be reached" in message
    assert "Check CHAINTRACK_S3_ENDPOINT_URL" in message


def test_other_locations(tmp_path: Path) -> None:
    assert open_blob_store(None) is None
    folder = open_blob_store(str(tmp_path / "files"))
    assert isinstance(folder, LocalBlobStore)
    assert folder.root == (tmp_path / "files").resolve()
    as_uri = open_blob_store((tmp_path / "files").as_uri())
    assert isinstance(as_uri, LocalBlobStore)
    assert as_uri.root == folder.root
    with pytest.raises(ConfigurationError, match="unknown scheme 'gs'"):
        open_blob_store("gs://bucket/files")
    with pytest.raises(InvalidArgumentError, match="names no bucket"):
        open_blob_store("s3:///files")


def test_without_boto3_the_message_names_the_extra(
    bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'chaintrack\[s3\]'"):
        open_blob_store(f"s3://{bucket}/files")
