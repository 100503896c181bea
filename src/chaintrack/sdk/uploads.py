"""Files the writer thread puts in the blob store (UPLOAD queue items)."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from chaintrack.sdk import spool
from chaintrack.store.base import BlobStore
from chaintrack.store.records import ArtifactRecord


def upload(blobs: BlobStore, item: spool.Item) -> ArtifactRecord | None:
    """Carry out an UPLOAD item; the artifact record (if any) gets the uploaded size and hash."""
    key, data, source = item[1], item[2], item[3]
    record: ArtifactRecord | None = item[4]
    if source is not None:
        digest = hashlib.sha256()
        size = 0
        with open(source, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
        blobs.put_file(key, Path(source))
    else:
        digest = hashlib.sha256(data)
        size = len(data)
        blobs.put_bytes(key, data)
    if record is None:
        return None
    return dataclasses.replace(record, content_size=size, hash=digest.hexdigest())
