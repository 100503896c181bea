"""Which blob store an artifacts location names: a folder, ``file:///path`` or
``s3://bucket/prefix`` (``--artifacts``, ``CHAINTRACK_ARTIFACTS_URI``)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from chaintrack.errors import ConfigurationError
from chaintrack.store.base import BlobStore
from chaintrack.store.blobs import LocalBlobStore


def open_blob_store(location: str | None) -> BlobStore | None:
    """The blob store at ``location`` (None for None: the store's default folder). An S3
    bucket is checked now, so a wrong bucket, endpoint or credentials fail where the store is
    opened, with a message saying what to fix."""
    if not location:
        return None
    scheme = location.split("://", 1)[0].lower() if "://" in location else ""
    if scheme == "s3":
        from chaintrack.store.s3blobs import S3BlobStore

        blobs = S3BlobStore(location)
        blobs.check()
        return blobs
    if scheme == "file":
        return LocalBlobStore(Path(unquote(urlparse(location).path)))
    if scheme:
        raise ConfigurationError(
            f"artifacts location {location!r} has an unknown scheme {scheme!r}; use a folder "
            "(a path or file:///path) or s3://bucket/prefix"
        )
    return LocalBlobStore(Path(location))
