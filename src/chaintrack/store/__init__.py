"""Stores: where tasks live. ``open_store(uri)`` picks the backend by the URI's scheme."""

from __future__ import annotations

import os
import re
import threading

from chaintrack import config
from chaintrack.errors import ConfigurationError
from chaintrack.store.base import BlobStore, Store
from chaintrack.store.records import TaskQuery, TaskRecord, WriteBatch

# Imported with the package rather than on the first Task.init: SQLAlchemy takes ~170 ms to
# import, and a run should pay it when it imports chaintrack, not inside its first task.
from chaintrack.store.sql import SqlStore

__all__ = ["BlobStore", "Store", "TaskQuery", "TaskRecord", "WriteBatch", "open_store"]

_lock = threading.Lock()
_open: dict[str, Store] = {}


def _create(uri: str) -> Store:
    scheme = uri.split(":", 1)[0].lower()
    if scheme.startswith(("sqlite", "postgresql")):
        from chaintrack.store.blob_locations import open_blob_store

        return SqlStore(uri, blobs=open_blob_store(config.artifacts_uri()))
    if scheme in ("http", "https"):
        from chaintrack.store.rest import RestStore

        return RestStore(uri)
    raise ConfigurationError(
        f"tracking URI {redact(uri)!r} has an unknown scheme {scheme!r}; use "
        "sqlite:///path/to/file.db, postgresql://user:password@host/database or "
        "http://host:port (a tracking server), or leave CHAINTRACK_TRACKING_URI unset for the "
        "embedded store under CHAINTRACK_HOME."
    )


_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/@:]*):[^/@]*@")
_HTTP_USERINFO = re.compile(r"^(https?://)[^/@]*@", re.IGNORECASE)


def redact(uri: str) -> str:
    """``uri`` with its password (``scheme://user:password@host``) shown as ``***``; for
    http(s) the whole user part, which is a token (``http://***@host``)."""
    if _HTTP_USERINFO.match(uri):
        return _HTTP_USERINFO.sub(r"\1***@", uri)
    return _PASSWORD.sub(r"\1:***@", uri)


def open_store(uri: str | None = None) -> Store:
    """The process's store for ``uri`` (default: ``config.tracking_uri()``), opened once."""
    uri = uri or config.tracking_uri()
    with _lock:
        store = _open.get(uri)
        if store is None:
            store = _open[uri] = _create(uri)
        return store


def close_all() -> None:
    """Close every store this process opened (tests use it between cases)."""
    with _lock:
        for store in _open.values():
            store.close()
        _open.clear()


def _after_fork() -> None:
    global _lock
    _lock = threading.Lock()
    for store in _open.values():
        hook = getattr(store, "after_fork", None)
        if hook is not None:
            hook()


os.register_at_fork(after_in_child=_after_fork)
