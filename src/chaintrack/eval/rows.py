"""Dataset rows: checking them, their stable ids, and reading them from DataFrames, CSV and
JSONL files. Every row is checked before any is stored, so a bad row adds nothing."""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from chaintrack.errors import InvalidArgumentError
from chaintrack.store.evalrecords import ExampleRecord

#: Row keys a dataset row may have.
ROW_KEYS = ("inputs", "expected", "metadata", "id")
_MAX_ID = 64


def _bad(index: int, problem: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"row {index}: {problem}; no row was added")


def _json(index: int, field: str, value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise _bad(
            index,
            f"its {field} is not JSON-serializable ({exc}); use strings, numbers, booleans, "
            "None, lists and dicts",
        ) from None


def content_id(inputs_json: str, expected_json: str | None) -> str:
    """The id of an example without one: a digest of its inputs and expected output, so the
    same example gets the same id in every version and every experiment."""
    digest = hashlib.sha256(f"{inputs_json}\x1f{expected_json}".encode()).hexdigest()
    return digest[:16]


def check_rows(rows: Iterable[Mapping[str, Any]], start: int = 0) -> list[ExampleRecord]:
    """Example records of ``rows`` (positions from ``start``); raises InvalidArgumentError
    naming the first bad row (counted from 0) and what is wrong with it."""
    records: list[ExampleRecord] = []
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise _bad(index, f"is a {type(row).__name__}, not a dict with an 'inputs' dict")
        unknown = sorted(set(row) - set(ROW_KEYS))
        if unknown:
            raise _bad(index, f"unknown key(s) {', '.join(map(repr, unknown))}; a row has "
                       "'inputs' and optionally 'expected', 'metadata' and 'id'")  # fmt: skip
        inputs = row.get("inputs")
        if not isinstance(inputs, Mapping) or not inputs:
            raise _bad(index, "has no 'inputs' (each row needs a non-empty inputs dict, e.g. "
                       "{'inputs': {'question': '...'}, 'expected': '...'})")  # fmt: skip
        metadata = row.get("metadata") or {}
        if not isinstance(metadata, Mapping):
            raise _bad(index, "its 'metadata' is not a dict")
        inputs_json = _json(index, "inputs", dict(inputs))
        expected = row.get("expected")
        expected_json = None if expected is None else _json(index, "expected", expected)
        metadata_json = _json(index, "metadata", dict(metadata))
        given = row.get("id")
        if given is None:
            example_id = content_id(inputs_json, expected_json)
        elif isinstance(given, (str, int)) and not isinstance(given, bool) and str(given):
            example_id = str(given)
            if len(example_id) > _MAX_ID:
                raise _bad(index, f"its id is longer than {_MAX_ID} characters")
        else:
            raise _bad(index, f"its id {given!r} is not a non-empty string or an integer")
        if example_id in seen:
            what = "id" if given is not None else "content (inputs and expected)"
            raise _bad(index, f"duplicate {what}: example id {example_id!r} is also row "
                       f"{seen[example_id]}")  # fmt: skip
        seen[example_id] = index
        records.append(ExampleRecord(example_id, start + index, inputs_json, expected_json,
                                     metadata_json))  # fmt: skip
    return records


def _cell(value: Any) -> Any:
    """A DataFrame or CSV cell as a JSON value (NaN and None: missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    item = getattr(value, "item", None)  # numpy scalars
    return item() if callable(item) and not isinstance(value, (str, bytes)) else value


def flat_row(
    record: Mapping[str, Any],
    input_columns: list[str] | None,
    expected_column: str,
    id_column: str,
    metadata_columns: list[str],
) -> dict[str, Any]:
    """A row from a flat record (a DataFrame row, a CSV line, a JSONL object without
    'inputs'): the input columns (default: every column not named otherwise) become inputs."""
    if "inputs" in record and isinstance(record["inputs"], Mapping):
        return {k: _cell(v) for k, v in record.items()}
    named = {expected_column, id_column, *metadata_columns}
    columns = input_columns or [c for c in record if c not in named]
    row: dict[str, Any] = {"inputs": {c: _cell(record.get(c)) for c in columns}}
    if _cell(record.get(expected_column)) is not None:
        row["expected"] = _cell(record[expected_column])
    if _cell(record.get(id_column)) is not None:
        row["id"] = _cell(record[id_column])
    if metadata_columns:
        row["metadata"] = {c: _cell(record.get(c)) for c in metadata_columns}
    return row


def frame_rows(frame: Any, **columns: Any) -> list[dict[str, Any]]:
    return [flat_row(r, **columns) for r in frame.to_dict(orient="records")]


def file_rows(path: Path, file_format: str | None, **columns: Any) -> list[dict[str, Any]]:
    """Rows of a CSV or JSONL file (the format from ``file_format`` or the file's suffix)."""
    kind = (file_format or path.suffix.lstrip(".")).lower()
    if not path.is_file():
        raise InvalidArgumentError(f"path={str(path)!r} is not valid: no such file.")
    if kind == "csv":
        with path.open(newline="", encoding="utf-8") as f:
            return [flat_row(r, **columns) for r in csv.DictReader(f)]
    if kind in ("jsonl", "ndjson"):
        rows: list[dict[str, Any]] = []
        with path.open(encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError as exc:
                    raise InvalidArgumentError(
                        f"{path}, line {number}: not valid JSON ({exc}); no row was added"
                    ) from None
                if not isinstance(record, dict):
                    raise InvalidArgumentError(
                        f"{path}, line {number}: not a JSON object; no row was added"
                    )
                rows.append(flat_row(record, **columns))
        return rows
    raise InvalidArgumentError(
        f"{path}: cannot tell the format ({kind!r}); use a .csv or .jsonl file, or pass "
        "file_format='csv' or 'jsonl'"
    )
