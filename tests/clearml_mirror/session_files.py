"""Reading a ClearML offline session (the zip ``Task.close()`` writes in offline mode)."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from clearml.backend_api.services.v2_23 import events as event_schemas
from clearml.backend_api.services.v2_23 import tasks as task_schemas


@dataclass
class OfflineSession:
    folder: Path
    task: dict[str, Any]
    metrics: list[dict[str, Any]]
    logs: list[dict[str, Any]]

    def events(self, type_: str) -> list[dict[str, Any]]:
        return [e for e in self.metrics if e["type"] == type_]

    def data_file(self, uri: str) -> Path:
        """The file of a session ``data/`` URI (artifacts, debug samples)."""
        marker = "/data/"
        return self.folder / "data" / uri[uri.index(marker) + len(marker) :]


def read_session(zip_path: Path, into: Path) -> OfflineSession:
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(into)
    task = json.loads((into / "task.json").read_text(encoding="utf-8"))
    return OfflineSession(into, task, _json_lines(into / "metrics.jsonl"),
                          _json_lines(into / "log.jsonl"))  # fmt: skip


def _json_lines(path: Path) -> list[dict[str, Any]]:
    """Each line of a session file is a JSON array of events."""
    if not path.exists():
        return []
    events: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            events.extend(json.loads(line))
    return events


def schema_errors(events: list[dict[str, Any]]) -> list[str]:
    """Every event checked against the event schemas shipped inside the clearml SDK."""
    validator = jsonschema.Draft7Validator(event_schemas.AddRequest._schema)
    return [f"{e}: {err.message}" for e in events for err in validator.iter_errors(e)]


def task_schema_errors(task: dict[str, Any]) -> list[str]:
    """The session's task fields checked against the SDK's schema of ``tasks.edit``."""
    schema = dict(task_schemas.EditRequest._schema)
    properties = schema["properties"]
    fields = {k: v for k, v in task.items() if k in properties}
    fields["task"] = task["id"]
    validator = jsonschema.Draft7Validator(schema)
    return [err.message for err in validator.iter_errors(fields)]
