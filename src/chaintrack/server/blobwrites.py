"""Blob uploads to a server are written once: a key, once stored, keeps its bytes.

Sending the same bytes again under the same key (a client retrying after a lost answer) is
accepted and changes nothing; other bytes under a stored key are refused with 409, so a token
holder cannot replace another task's files. The SDK gives every upload a key of its own.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from chaintrack.errors import ChainTrackError, StoreError, StoreUnavailableError
from chaintrack.store.base import BlobStore


class BlobExistsError(ChainTrackError):
    """A blob key already holds other bytes (answered 409)."""


def _digest(chunks: object) -> str:
    sha = hashlib.sha256()
    for chunk in chunks:  # type: ignore[attr-defined]
        sha.update(chunk)
    return sha.hexdigest()


def file_digest(path: Path) -> str:
    with path.open("rb") as f:
        return _digest(iter(lambda: f.read(1 << 20), b""))


def stored_digest(blobs: BlobStore, key: str) -> str | None:
    """The sha256 of the blob stored under ``key``, or None when there is none."""
    uri = blobs.uri_for(key)
    try:
        stream = blobs.open(uri)
    except StoreUnavailableError:
        raise
    except (StoreError, OSError):  # missing (or a folder: put_file says why)
        return None
    with stream:
        try:
            return _digest(iter(lambda: stream.read(1 << 20), b""))
        except IsADirectoryError:
            return None


def put_once(blobs: BlobStore, key: str, path: Path) -> str:
    """Store the file at ``path`` under ``key`` unless the key holds other bytes already."""
    existing = stored_digest(blobs, key)
    if existing is not None:
        if existing != file_digest(path):
            raise BlobExistsError(
                f"blob key {key[:120]!r} already holds other bytes; stored files are written "
                "once. Upload under a new key (the SDK does so for every upload)."
            )
        return blobs.uri_for(key)
    return blobs.put_file(key, path)
