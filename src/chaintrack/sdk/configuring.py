"""Parameters, user properties and configuration objects of a task (ClearML's ``connect``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chaintrack.errors import invalid
from chaintrack.sdk import items
from chaintrack.sdk.artifacts import looks_like_path
from chaintrack.sdk.writer import Writer
from chaintrack.store import params
from chaintrack.store.records import ConfigurationRecord, ParameterRecord


class TaskConfiguring:
    """What a task records about how it was configured; mixed into :class:`Task`."""

    _writer: Writer

    @property
    def id(self) -> str:
        raise NotImplementedError

    def connect(self, mutable: Any, name: str | None = None) -> Any:
        """Record hyperparameters (a dict or an object's attributes) under section ``name``."""
        section = name or "General"
        if isinstance(mutable, Mapping):
            values = dict(mutable)
        elif isinstance(mutable, (str, bytes, int, float, list, tuple)) or mutable is None:
            raise invalid(
                "mutable", mutable, "a dict, or an object whose attributes are the parameters"
            )
        else:
            values = params.object_attributes(mutable)
        for key, value in params.flatten({str(k): v for k, v in values.items()}).items():
            text, type_name = params.encode(value, f"{section}/{key}")
            self._writer.put(items.record(ParameterRecord(self.id, section, key, text, type_name)))
        return mutable

    def set_user_properties(self, *iterables: Any, **properties: Any) -> None:
        """User properties: ``name=value`` or ``name={"value": v, "description": d}`` pairs."""
        entries: list[tuple[str, Any, str]] = []
        for item in iterables:
            if isinstance(item, Mapping) and "name" in item:
                entries.append(
                    (str(item["name"]), item.get("value"), str(item.get("description", "")))
                )
            elif isinstance(item, Mapping):
                entries.extend((str(k), v, "") for k, v in item.items())
            elif isinstance(item, (tuple, list)) and len(item) in (2, 3):
                entries.append((str(item[0]), item[1], str(item[2]) if len(item) == 3 else ""))
            else:
                raise invalid(
                    "set_user_properties", item,
                    "dicts with name/value keys, (name, value) pairs, or name=value keywords",
                )  # fmt: skip
        for key, value in properties.items():
            if isinstance(value, Mapping) and "value" in value:
                entries.append((key, value["value"], str(value.get("description", ""))))
            else:
                entries.append((key, value, ""))
        for key, value, description in entries:
            text, type_name = params.encode(value, f"properties/{key}")
            record = ParameterRecord(self.id, "properties", key, text, type_name, description)
            self._writer.put(items.record(record))

    def connect_configuration(
        self, configuration: Any, name: str | None = None, description: str | None = None
    ) -> Any:
        """Store a configuration object: a dict (as JSON), a file's text, or text."""
        if isinstance(configuration, Mapping):
            try:
                value = json.dumps(configuration, indent=2, default=str)
            except (TypeError, ValueError) as exc:
                raise invalid(
                    "configuration", configuration, f"JSON-serializable ({exc})"
                ) from None
            kind = "dictionary"
        elif isinstance(configuration, (str, Path)):
            path = Path(configuration).expanduser()
            if path.is_file():
                value = path.read_text(encoding="utf-8", errors="replace")
                kind = path.suffix.lstrip(".").lower() or "text"
            elif isinstance(configuration, Path) or looks_like_path(str(configuration)):
                raise invalid(
                    "configuration", str(configuration), "an existing file, a dict or text"
                )
            else:
                value, kind = str(configuration), "text"
        else:
            raise invalid("configuration", configuration, "a dict, a file path or text")
        record = ConfigurationRecord(self.id, name or "General", kind, value, description or "")
        self._writer.put(items.record(record))
        return configuration
