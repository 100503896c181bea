"""Models: ``OutputModel`` registers a model (configuration and weights) on a task."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chaintrack.errors import InvalidArgumentError, TaskNotFoundError
from chaintrack.sdk import items
from chaintrack.store.base import BlobStore
from chaintrack.store.blobs import safe_segment
from chaintrack.store.records import ModelRecord

if TYPE_CHECKING:
    from chaintrack.sdk.task import Task


class Model:
    """A model as read back: ``task.models["output"]``."""

    def __init__(self, record: ModelRecord, blobs: BlobStore) -> None:
        self._record = record
        self._blobs = blobs

    id = property(lambda self: self._record.id)
    name = property(lambda self: self._record.name)
    framework = property(lambda self: self._record.framework)
    config_text = property(lambda self: self._record.config_text)
    url = property(lambda self: self._record.uri)

    @property
    def tags(self) -> list[str]:
        tags: list[str] = json.loads(self._record.tags)
        return tags

    @property
    def config_dict(self) -> dict[str, Any]:
        """The configuration parsed as JSON; empty when it is not a JSON object."""
        try:
            value = json.loads(self.config_text)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def get_local_copy(self) -> str | None:
        """A local path to the weights file, or None when no weights were stored."""
        return str(self._blobs.local_path(self.url)) if self.url else None

    def __repr__(self) -> str:
        return f"Model(name={self.name!r}, id={self.id!r})"


class ModelList(list[Model]):
    """A list of models that can also be indexed by model name (the last one of that name)."""

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            for model in reversed(self):
                if model.name == key:
                    return model
            raise KeyError(f"no model named {key!r}; models: {[m.name for m in self]}")
        return super().__getitem__(key)


class OutputModel:
    """A model produced by a task, as in ClearML: configuration now, weights when ready."""

    def __init__(
        self,
        task: Task | None = None,
        name: str | None = None,
        config_text: str | None = None,
        config_dict: dict[str, Any] | None = None,
        framework: str | None = None,
        tags: list[str] | None = None,
        comment: str | None = None,
    ) -> None:
        from chaintrack.sdk.task import Task

        owner = task or Task.current_task()
        if owner is None:
            raise TaskNotFoundError(
                "OutputModel needs a task: pass task=… or call Task.init(...) first"
            )
        if config_text is not None and config_dict is not None:
            raise InvalidArgumentError("OutputModel takes config_text= or config_dict=, not both")
        if config_dict is not None:
            try:
                config_text = json.dumps(config_dict, indent=2, default=str)
            except (TypeError, ValueError) as exc:
                raise InvalidArgumentError(f"config_dict cannot be stored as JSON: {exc}") from None
        self.task = owner
        self._record = ModelRecord(
            id=uuid.uuid4().hex,
            task_id=owner.id,
            name=name or owner.name,
            created=time.time(),
            framework=framework or "",
            config_text=config_text or "",
            tags=json.dumps(list(tags or [])),
        )
        self.comment = comment or ""
        owner._put_model(self._record)

    id = property(lambda self: self._record.id)
    name = property(lambda self: self._record.name)
    config_text = property(lambda self: self._record.config_text)
    framework = property(lambda self: self._record.framework)

    @property
    def config_dict(self) -> dict[str, Any]:
        """The configuration parsed as JSON (ClearML's ``OutputModel.config_dict``)."""
        return Model(self._record, self.task._blobs).config_dict

    @property
    def tags(self) -> list[str]:
        tags: list[str] = json.loads(self._record.tags)
        return tags

    @property
    def url(self) -> str:
        return self._record.uri

    def update_weights(self, weights_filename: str | Path | None = None, **_: Any) -> str:
        """Store the weights file with the model; returns its URI."""
        if weights_filename is None:
            raise InvalidArgumentError("update_weights needs weights_filename=<path to a file>")
        path = Path(weights_filename).expanduser()
        if not path.is_file():
            raise InvalidArgumentError(f"weights_filename={str(path)!r}: no such file")
        # A folder per upload: a tracking server writes each key once (see artifacts.py).
        key = f"{self.task.id}/models/{self.id}/{uuid.uuid4().hex[:12]}/{safe_segment(path.name)}"
        uri = self.task._blobs.put_file(key, path)
        self._record = ModelRecord(**{**self._record.__dict__, "uri": uri})
        self.task._put_model(self._record)
        return uri


def queue_item(record: ModelRecord) -> items.Item:
    return items.record(record)
