"""Artifacts: serializing Python objects and files into the store, and reading them back."""

from __future__ import annotations

import hashlib
import io
import json
import re
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaintrack.errors import InvalidArgumentError, unsupported
from chaintrack.sdk import items
from chaintrack.store.base import BlobStore
from chaintrack.store.blobs import safe_segment
from chaintrack.store.records import ArtifactRecord

PREVIEW_CHARS = 65_536
_PATH_LIKE = re.compile(r"^[^\n]{0,4096}$")
# A file extension has a letter: "notes.txt" looks like a file, "gpt-4.1" and "v1.2" do not.
_EXTENSION = re.compile(r"\.(?=[A-Za-z0-9]{0,7}[A-Za-z])[A-Za-z0-9]{1,8}$")
SUPPORTED = (
    "dict, list, str (text, or the path of an existing file or folder), bytes, "
    "pathlib.Path (a file or folder), pandas.DataFrame, pandas.Series and numpy.ndarray "
    "(not of dtype object)"
)


@dataclass(frozen=True)
class Serialized:
    type: str
    filename: str
    data: bytes | None = None
    source: Path | None = None
    preview: str = ""


def looks_like_path(text: str) -> bool:
    if not _PATH_LIKE.match(text) or not text.strip():
        return False
    return "/" in text or "\\" in text or bool(_EXTENSION.search(text))


def _zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def _serialize_path(path: Path, argument: str) -> Serialized:
    if path.is_file():
        return Serialized("file", path.name, source=path, preview=f"file {path.name}")
    if path.is_dir():
        data = _zip_folder(path)
        count = sum(1 for p in path.rglob("*") if p.is_file())
        return Serialized("folder", path.name + ".zip", data, preview=f"folder of {count} files")
    raise InvalidArgumentError(f"{argument}={str(path)!r}: no such file or folder")


def serialize(obj: Any) -> Serialized:
    """How an artifact object is stored; raises for types that cannot be stored."""
    argument = "artifact_object"
    if isinstance(obj, Path):
        return _serialize_path(obj, argument)
    if isinstance(obj, str):
        path = Path(obj).expanduser()
        if looks_like_path(obj) and path.exists():
            return _serialize_path(path, argument)
        if looks_like_path(obj) and "\n" not in obj and " " not in obj.strip():
            raise InvalidArgumentError(
                f"{argument}={obj!r} looks like a path but no such file or folder exists; "
                "pass the path of an existing file, or wrap text in a dict to store it as data."
            )
        data = obj.encode("utf-8")
        return Serialized("string", "text.txt", data, preview=obj[:PREVIEW_CHARS])
    if isinstance(obj, (bytes, bytearray, memoryview)):
        data = bytes(obj)
        return Serialized("bytes", "data.bin", data, preview=f"{len(data)} bytes")
    if isinstance(obj, (dict, list, tuple)):
        try:
            text = json.dumps(obj, indent=2, default=_json_default)
        except (TypeError, ValueError) as exc:
            raise unsupported(
                argument,
                obj,
                f"it cannot be stored as JSON ({exc}); an artifact can be {SUPPORTED}",
            ) from None
        kind = "dict" if isinstance(obj, dict) else "list"
        return Serialized(kind, f"{kind}.json", text.encode(), preview=text[:PREVIEW_CHARS])
    module = type(obj).__module__.split(".")[0]
    if module == "pandas" and hasattr(obj, "to_csv") and getattr(obj, "ndim", 0) in (1, 2):
        import gzip

        # A Series is stored as a one-column table and comes back as a Series (ClearML pickles
        # it, so a ClearML user gets a Series back from .get()).
        kind = "pandas" if obj.ndim == 2 else "pandas-series"
        frame = obj if obj.ndim == 2 else obj.to_frame()
        csv_bytes = frame.to_csv().encode("utf-8")
        preview = f"{frame.shape[0]} rows x {frame.shape[1]} columns\n{frame.head(10).to_string()}"
        return Serialized(kind, "table.csv.gz", gzip.compress(csv_bytes), preview=preview)
    if module == "numpy" and hasattr(obj, "shape") and hasattr(obj, "dtype"):
        import numpy as np

        if obj.dtype.hasobject:
            raise unsupported(
                argument, obj, "a numpy array of dtype object cannot be stored without pickle; "
                "convert it to a list (obj.tolist()) or to a numeric dtype",
            )  # fmt: skip
        buffer = io.BytesIO()
        np.save(buffer, obj, allow_pickle=False)
        preview = f"array {obj.shape} {obj.dtype}\n{np.array2string(obj, threshold=50)}"
        return Serialized("numpy", "array.npy", buffer.getvalue(), preview=preview)
    raise unsupported(argument, obj, f"an artifact can be {SUPPORTED}")


def _json_default(value: Any) -> Any:
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def prepare_artifact(
    blobs: BlobStore, task_id: str, name: str, obj: Any, metadata: dict[str, Any] | None
) -> items.Item:
    """Serialize ``obj`` now (a snapshot) and describe the upload the writer thread will do.

    The record's size and sha256 are filled in by the writer from the bytes it stores.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgumentError(
            f"name={name!r} is not valid: an artifact needs a non-empty name"
        )
    item = serialize(obj)
    # safe_segment maps "a/b" and "a_b" to the same text: the digest keeps their blobs apart.
    name_digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    folder = f"{safe_segment(name)[:100]}-{name_digest}"
    # A folder per upload: a tracking server writes each key once, and uploading an artifact
    # again under its name must not be refused.
    key = f"{task_id}/artifacts/{folder}/{uuid.uuid4().hex[:12]}/{safe_segment(item.filename)}"
    record = ArtifactRecord(
        task_id=task_id,
        name=name,
        type=item.type,
        uri=blobs.uri_for(key),
        content_size=0,
        hash="",
        timestamp=time.time(),
        preview=item.preview[:PREVIEW_CHARS],
        meta=json.dumps(metadata or {}, default=str),
    )
    source = None if item.source is None else str(item.source.resolve())
    return items.upload(key, item.data, source, record)


class Artifact:
    """An artifact of a task, as ``task.artifacts[name]``."""

    def __init__(self, record: ArtifactRecord, blobs: BlobStore) -> None:
        self._record = record
        self._blobs = blobs

    name = property(lambda self: self._record.name)
    type = property(lambda self: self._record.type)
    url = property(lambda self: self._record.uri)
    size = property(lambda self: self._record.content_size)
    hash = property(lambda self: self._record.hash)
    preview = property(lambda self: self._record.preview)
    timestamp = property(lambda self: self._record.timestamp)

    @property
    def metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = json.loads(self._record.meta)
        return meta

    def __repr__(self) -> str:
        return f"Artifact(name={self.name!r}, type={self.type!r}, size={self.size})"

    def get_local_copy(self) -> str:
        """A local path to the artifact: the file, or an extracted folder for folders."""
        path = self._blobs.local_path(self.url)
        if self.type != "folder":
            return str(path)
        target = Path(tempfile.mkdtemp(prefix=f"chaintrack-{safe_segment(self.name)}-"))
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                destination = (target / member).resolve()
                if not destination.is_relative_to(target):
                    raise InvalidArgumentError(f"folder artifact {self.name!r} has unsafe paths")
            archive.extractall(target)
        return str(target)

    def get(self) -> Any:
        """The object itself: dict, list, str, bytes, DataFrame or ndarray; a path for files."""
        kind = self.type
        if kind in ("file", "folder"):
            return self.get_local_copy()
        with self._blobs.open(self.url) as f:
            data = f.read()
        if kind == "string":
            return data.decode("utf-8")
        if kind == "bytes":
            return data
        if kind in ("dict", "list"):
            return json.loads(data)
        if kind in ("pandas", "pandas-series"):
            import gzip

            import pandas as pd

            frame = pd.read_csv(io.BytesIO(gzip.decompress(data)), index_col=0)
            return frame if kind == "pandas" else frame.iloc[:, 0]
        if kind == "numpy":
            import numpy as np

            return np.load(io.BytesIO(data), allow_pickle=False)
        return data
