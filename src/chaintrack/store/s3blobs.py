"""Blobs in an S3 bucket (or an S3-compatible store: MinIO, Ceph, R2…) under a key prefix.

``s3://bucket/prefix`` as a server's ``--artifacts`` (or ``CHAINTRACK_ARTIFACTS_URI``) puts
every artifact, model file and debug sample at ``prefix/<key>`` in ``bucket``. URIs are
``s3://bucket/prefix/<key>``; ``blob:<key>`` (what the SDK of a tracking server records) is
resolved under the prefix too. No key or URI can reach an object outside the prefix.

boto3 finds credentials and the region as usual (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_PROFILE``, ``AWS_DEFAULT_REGION``,
``~/.aws/``, an instance role); ``CHAINTRACK_S3_ENDPOINT_URL`` points it at another service.
Files are uploaded with boto3's transfer manager: large ones in parallel multipart uploads.
"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from chaintrack import config
from chaintrack.errors import InvalidArgumentError, StoreError, missing_dependency
from chaintrack.store.blobs import BLOB_SCHEME, cached_copy, key_parts
from chaintrack.store.s3errors import s3_error

SCHEME = "s3://"


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` as ``("bucket", "a/b")``; the path is normalized and may be empty."""
    if not uri.lower().startswith(SCHEME):
        raise InvalidArgumentError(f"{uri!r} is not an s3://bucket/prefix URI")
    bucket, _, path = uri[len(SCHEME) :].partition("/")
    if not bucket or "\\" in bucket:
        raise InvalidArgumentError(
            f"{uri!r} names no bucket; write the artifacts location as s3://bucket/prefix"
        )
    return bucket, "/".join(key_parts(path)) if path.strip("/") else ""


class S3BlobStore:
    """Files in ``bucket`` under ``prefix`` (see the module docstring). No request is made
    until the store is used; :meth:`check` tells at once whether the bucket is usable."""

    def __init__(self, uri: str, endpoint_url: str | None = None) -> None:
        self.bucket, self.prefix = split_s3_uri(uri)
        self.location = f"{SCHEME}{self.bucket}/{self.prefix}".rstrip("/")
        self.endpoint_url = endpoint_url or config.s3_endpoint_url()
        self._lock = threading.Lock()
        self._client_pid = 0
        self._s3: Any = None

    def _client(self) -> Any:
        # boto3 clients are thread-safe but not fork-safe: a forked child makes its own.
        with self._lock:
            if self._s3 is None or self._client_pid != os.getpid():
                try:
                    import boto3
                    from botocore.config import Config
                except ModuleNotFoundError as exc:
                    raise missing_dependency(
                        exc.name or "boto3", "s3", f"Artifacts in S3 ({self.location})"
                    ) from None
                settings = Config(
                    connect_timeout=10,
                    read_timeout=60,
                    retries={"mode": "standard", "max_attempts": 3},
                    # S3-compatible services answer on one host; bucket subdomains may not exist.
                    s3={"addressing_style": "path"} if self.endpoint_url else None,
                )
                session = boto3.session.Session()
                self._s3 = session.client("s3", endpoint_url=self.endpoint_url, config=settings)
                self._client_pid = os.getpid()
            return self._s3

    def _fail(self, exc: Exception, action: str, missing: str = "") -> StoreError:
        return s3_error(exc, action, self.bucket, self.endpoint_url, missing)

    def check(self) -> None:
        """Raise a StoreError saying what to fix unless the bucket can be reached."""
        client = self._client()
        try:
            client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            missing = (
                f"the bucket {self.bucket!r} does not exist there; create it (e.g. `aws s3 mb "
                f"s3://{self.bucket}`) or fix the artifacts location"
            )
            raise self._fail(exc, f"use the artifacts location {self.location}", missing) from None

    # -- keys and URIs ---------------------------------------------------------------------

    def _object_key(self, key: str) -> str:
        return "/".join([self.prefix, *key_parts(key)] if self.prefix else key_parts(key))

    def _key_of(self, uri: str) -> str:
        """The object key of a blob URI of this store; StoreError for any other URI."""
        if uri.startswith(BLOB_SCHEME):
            return self._object_key(uri[len(BLOB_SCHEME) :])
        outside = StoreError(f"blob URI {uri!r} is not under this store's {self.location}/")
        if not uri.lower().startswith(SCHEME):
            raise outside
        bucket, _, path = uri[len(SCHEME) :].partition("/")
        base = self.prefix + "/" if self.prefix else ""
        if bucket != self.bucket or not path.startswith(base):
            raise outside
        return self._object_key(path[len(base) :])

    def uri_for(self, key: str) -> str:
        return f"{SCHEME}{self.bucket}/{self._object_key(key)}"

    # -- writes ----------------------------------------------------------------------------

    def put_bytes(self, key: str, data: bytes) -> str:
        object_key, client = self._object_key(key), self._client()
        try:
            client.upload_fileobj(io.BytesIO(data), self.bucket, object_key)
        except Exception as exc:
            raise self._fail(exc, f"upload {key!r} to {self.location}") from None
        return f"{SCHEME}{self.bucket}/{object_key}"

    def put_file(self, key: str, path: Path) -> str:
        object_key, client = self._object_key(key), self._client()
        try:
            # Multipart (in parallel parts) past boto3's threshold, 8 MiB by default.
            client.upload_file(str(path), self.bucket, object_key)
        except Exception as exc:
            raise self._fail(exc, f"upload {key!r} to {self.location}") from None
        return f"{SCHEME}{self.bucket}/{object_key}"

    # -- reads -----------------------------------------------------------------------------

    def open_sized(self, uri: str) -> tuple[BinaryIO, int]:
        """The blob's bytes as a stream read from S3 as it goes, and its size."""
        key, client = self._key_of(uri), self._client()
        try:
            answer = client.get_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise self._fail(exc, f"read {uri!r}") from None
        return answer["Body"], int(answer["ContentLength"])

    def open(self, uri: str) -> BinaryIO:
        return self.open_sized(uri)[0]

    def local_path(self, uri: str) -> Path:
        """A copy in ``CHAINTRACK_HOME/cache/blobs``, downloaded again when the object's ETag
        changes (a blob put again under the same key)."""
        key = self._key_of(uri)
        client = self._client()
        try:
            etag = client.head_object(Bucket=self.bucket, Key=key)["ETag"]
        except Exception as exc:
            raise self._fail(exc, f"read {uri!r}", "the blob is not in the bucket") from None

        def fill(f: BinaryIO) -> None:
            try:
                client.download_fileobj(self.bucket, key, f)
            except Exception as exc:
                raise self._fail(exc, f"download {uri!r}") from None

        identity = f"{self.endpoint_url}\n{self.bucket}/{key}\n{etag}"
        return cached_copy(identity, PurePosixPath(key).name, fill)
