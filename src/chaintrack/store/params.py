"""Hyperparameters: flattening nested values with '/', and typed encoding for the store."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

log = logging.getLogger("chaintrack")

SEPARATOR = "/"


def flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a/b": 1}``. Empty nested dicts are kept as ``{}`` leaves."""
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping) and item:
            flat.update(flatten(item, name + SEPARATOR))
        else:
            flat[name] = item
    return flat


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`flatten` for keys without '/' inside their own names."""
    nested: dict[str, Any] = {}
    for key, item in flat.items():
        parts = key.split(SEPARATOR)
        node = nested
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = item
    return nested


def object_attributes(obj: object) -> dict[str, Any]:
    """The public, non-callable attributes of an object (an argparse Namespace, a config class)."""
    source = vars(obj) if hasattr(obj, "__dict__") else {}
    if not source and isinstance(obj, type):
        source = dict(obj.__dict__)
    return {
        k: v
        for k, v in source.items()
        if not k.startswith("_")
        and not callable(v)
        and not isinstance(v, (staticmethod, classmethod))
    }


def encode(value: Any, name: str) -> tuple[str, str]:
    """(JSON text, type name) of a parameter value. Unserializable values are stored as repr."""
    type_name = type(value).__name__
    try:
        return json.dumps(value, allow_nan=True), type_name
    except (TypeError, ValueError):
        log.warning(
            "chaintrack: parameter %r has a value of type %s that cannot be stored as JSON; "
            "its repr() is stored instead.",
            name,
            type_name,
        )
        return json.dumps(repr(value)), type_name


def decode(text: str, type_name: str = "") -> Any:
    """The value of :func:`encode`'s text; a tuple comes back as a tuple, not a JSON list.

    Text that is not JSON (written by another tool) is returned as it is.
    """
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if type_name == "tuple" and isinstance(value, list):
        return tuple(value)
    return value
