"""Blob stores: a local folder (the embedded default). Keys can never leave the folder."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from chaintrack import config
from chaintrack.errors import InvalidArgumentError, StoreError

#: URIs of blobs relative to a store's blob folder (``blob:<key>``): what a client of a tracking
#: server records, since it cannot know where the server keeps its files.
BLOB_SCHEME = "blob:"
_UNSAFE = re.compile(r"[^A-Za-z0-9._ +=@,-]+")
_DRIVE = re.compile(r"^[A-Za-z]:")
#: The longest blob key (S3 allows 1,024 bytes per object key, prefix included).
MAX_KEY_CHARS = 900


def safe_segment(name: str) -> str:
    """A file-name-safe version of ``name`` ('.' and '..' and separators never survive)."""
    cleaned = _UNSAFE.sub("_", name).strip(" .")
    return cleaned[:200] or "_"


def key_parts(key: str) -> list[str]:
    """The segments of a blob key; InvalidArgumentError when the key is not a relative path
    that stays inside the store: absolute keys (``/x``, ``\\x``, ``C:x``: a mature store never
    re-roots them silently), ``.`` and ``..`` segments and NUL bytes are refused. Empty
    segments (``a//b``) are ignored."""
    normal = key.replace("\\", "/")
    parts = [p for p in normal.split("/") if p]
    if (
        not parts
        or normal.startswith("/")
        or _DRIVE.match(normal)
        or "\0" in key
        or any(p in (".", "..") for p in parts)
    ):
        raise InvalidArgumentError(
            f"blob key {_short(key)!r} is not a relative path inside the store"
        )
    if len(key) > MAX_KEY_CHARS or any(
        len(p.encode("utf-8", "surrogatepass")) > 255 for p in parts
    ):
        raise InvalidArgumentError(
            f"blob key {_short(key)!r} is too long: at most {MAX_KEY_CHARS} characters, and 255 "
            "bytes between slashes (a file name)"
        )
    return parts


def _short(text: str) -> str:
    return text if len(text) <= 120 else text[:117] + "..."


def _refused_path(key: str, exc: OSError) -> InvalidArgumentError | None:
    """The error of a key that names a folder or passes through a file (the client's fault);
    None for another failure of the disk."""
    if exc.errno in (errno.EISDIR, errno.ENOTDIR, errno.EEXIST, errno.ENAMETOOLONG):
        return InvalidArgumentError(
            f"blob key {_short(key)!r} cannot be stored: it names a folder, passes through a "
            f"file, or is too long ({exc.strerror}); use another key"
        )
    return None


def cached_copy(identity: str, name: str, fill: Callable[[BinaryIO], object]) -> Path:
    """A file under ``CHAINTRACK_HOME/cache/blobs`` for the remote blob ``identity`` (which
    must change when the blob does); ``fill`` writes its bytes the first time."""
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    target = config.home() / "cache" / "blobs" / digest / (name or "blob")
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            fill(f)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


class LocalBlobStore:
    """Files under one root folder; URIs are ``file://`` URLs of absolute paths."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()

    def uri_for(self, key: str) -> str:
        """The URI ``key`` will have once put, without touching the disk (the caller's thread
        uses it); the key is checked again, symbolic links included, when it is put."""
        return (self.root / "/".join(key_parts(key))).as_uri()

    def _path_for(self, key: str) -> Path:
        """The file for ``key``; InvalidArgumentError when the key could leave the folder.

        Refused: what :func:`key_parts` refuses, and keys that resolve outside the folder
        through a symbolic link.
        """
        path = self.root.joinpath(*key_parts(key)).resolve()
        if not path.is_relative_to(self.root):
            raise InvalidArgumentError(f"blob key {key!r} leaves the store's folder")
        return path

    def _uri(self, path: Path) -> str:
        return path.as_uri()

    def put_bytes(self, key: str, data: bytes) -> str:
        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:
                f.write(data)

        return self._put(key, write)

    def put_file(self, key: str, path: Path) -> str:
        return self._put(key, lambda tmp: shutil.copyfile(path, tmp))

    def _put(self, key: str, write: Callable[[str], object]) -> str:
        """Write to a temporary file and rename, so a reader never sees half a blob."""
        path = self._path_for(key)
        try:
            if path.is_dir():
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        except OSError as exc:
            raise (_refused_path(key, exc) or exc) from None
        os.close(fd)
        try:
            write(tmp)
            os.replace(tmp, path)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError) and (refused := _refused_path(key, exc)) is not None:
                raise refused from None
            raise
        return self._uri(path)

    def local_path(self, uri: str) -> Path:
        if uri.startswith(BLOB_SCHEME):
            path = self._path_for(uri[len(BLOB_SCHEME) :])
            try:
                found = path.is_file()
            except OSError as exc:
                raise InvalidArgumentError(f"blob URI {_short(uri)!r}: {exc.strerror}") from None
            if not found:
                raise StoreError(f"blob {uri!r} is missing from the store's folder")
            return path
        if not uri.startswith("file://"):
            raise StoreError(f"blob URI {_short(uri)!r} is not a file:// URI of this store")
        from urllib.parse import unquote, urlparse

        raw = unquote(urlparse(uri).path)
        if "\0" in raw or len(raw) > 4096:
            raise InvalidArgumentError(f"blob URI {_short(uri)!r} is not a file name")
        try:
            path = Path(raw).resolve()
            if not path.is_relative_to(self.root):
                raise StoreError(
                    f"blob URI {_short(uri)!r} points outside the store's folder {self.root}"
                )
            found = path.exists()
        except OSError as exc:  # a name longer than the file system allows
            raise InvalidArgumentError(f"blob URI {_short(uri)!r}: {exc.strerror}") from None
        if not found:
            raise StoreError(f"blob {_short(uri)!r} is missing from the store's folder")
        return path

    def open(self, uri: str) -> BinaryIO:
        return self.local_path(uri).open("rb")
