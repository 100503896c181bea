"""How store data travels over HTTP: strict JSON both ways (the tracking server and its client).

Records travel as JSON objects with their field names. A scalar's value that is not finite (a
diverged loss) travels as the string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``; anywhere else a
non-finite number becomes ``null``, so every response parses in any JSON reader.

Decoding a write batch checks every field's type: the server stores what a client sends only
when it has the shape the SDK writes, and answers 400 with what is wrong otherwise.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from chaintrack.errors import InvalidArgumentError
from chaintrack.store.records import (
    ArtifactRecord,
    ConfigurationRecord,
    Event,
    EventRow,
    ModelRecord,
    ParameterRecord,
    TaskRecord,
    WriteBatch,
)
from chaintrack.store.schema import tasks
from chaintrack.store.views import (
    EventPage,
    ProjectSummary,
    ScalarSeries,
    SeriesSummary,
    SpanView,
    TaskPage,
    TaskRow,
    TaskStats,
    TaskSummary,
    TracePage,
)

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
#: Columns of ``tasks`` a task update may set.
_UPDATABLE = frozenset(c.name for c in tasks.c) - {"id"}


def number_out(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def number_in(value: Any) -> float | None:
    if isinstance(value, str):
        if value not in _NON_FINITE:
            raise InvalidArgumentError(f"{value!r} is not a number")
        return _NON_FINITE[value]
    return None if value is None else float(value)


def finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (recursively)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def _plain(obj: Any) -> Any:
    if isinstance(obj, Event):
        return event_out(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj


def dumps(obj: Any) -> bytes:
    """Strict JSON of records, pages and plain values (see the module docstring)."""
    plain = _plain(obj)
    try:
        text = json.dumps(plain, allow_nan=False, separators=(",", ":"))
    except ValueError:
        text = json.dumps(finite(plain), allow_nan=False, separators=(",", ":"))
    return text.encode()


def event_out(event: Event) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "ts": event.ts,
        "metric": event.metric,
        "variant": event.variant,
        "iter": event.iter,
        "value": number_out(event.value),
        "level": event.level,
        "text": event.text,
        "data": event.data,
    }


def event_in(data: dict[str, Any]) -> Event:
    return Event(
        data["kind"],
        data["ts"],
        data["metric"],
        data["variant"],
        data["iter"],
        number_in(data["value"]),
        data["level"],
        data["text"],
        data["data"],
    )


def task_in(data: dict[str, Any]) -> TaskRecord:
    return TaskRecord(**data)


def stats_in(data: dict[str, Any]) -> TaskStats:
    return TaskStats(**data)


def task_page_in(data: dict[str, Any]) -> TaskPage:
    rows = [TaskRow(task_in(r["task"]), stats_in(r["stats"])) for r in data["rows"]]
    return TaskPage(data["total"], data["offset"], data["limit"], rows)


def projects_in(data: list[dict[str, Any]]) -> list[ProjectSummary]:
    return [ProjectSummary(**p) for p in data]


def summary_in(data: dict[str, Any]) -> TaskSummary:
    return TaskSummary(stats_in(data["stats"]), dict(data["event_counts"]))


def event_page_in(data: dict[str, Any]) -> EventPage:
    events = [event_in(e) for e in data["events"]]
    return EventPage(data["total"], data["offset"], data["limit"], events)


def series_in(data: list[dict[str, Any]]) -> list[SeriesSummary]:
    return [SeriesSummary(**s) for s in data]


def scalars_in(data: list[dict[str, Any]]) -> list[ScalarSeries]:
    return [
        ScalarSeries(
            s["metric"],
            s["variant"],
            s["count"],
            s["iters"],
            [v if v is not None else math.nan for v in s["values"]],
        )
        for s in data
    ]


def trace_in(data: dict[str, Any]) -> TracePage:
    spans = [SpanView(s["depth"], s["span"]) for s in data["spans"]]
    return TracePage(data["total_roots"], data["offset"], data["limit"], spans, data["truncated"])


# -- write batches ---------------------------------------------------------------------------


def batch_out(batch: WriteBatch) -> bytes:
    """A write batch as JSON (what the HTTP store sends). The hot path: events are tuples of
    plain values and go to ``json.dumps`` as they are."""
    events = batch.events
    if not all(e[8] is None or math.isfinite(e[8]) for e in events):
        events = [(*e[:8], number_out(e[8]), *e[9:]) for e in events]  # type: ignore[misc]
    data = {
        "new_tasks": [t.__dict__ for t in batch.new_tasks],
        "task_updates": [[task_id, fields] for task_id, fields in batch.task_updates],
        "parameters": [r.__dict__ for r in batch.parameters],
        "configurations": [r.__dict__ for r in batch.configurations],
        "events": events,
        "artifacts": [r.__dict__ for r in batch.artifacts],
        "models": [r.__dict__ for r in batch.models],
    }
    try:
        text = json.dumps(data, allow_nan=False, separators=(",", ":"))
    except ValueError:  # a non-finite number in a task's fields: sent as null
        text = json.dumps(finite(data), allow_nan=False, separators=(",", ":"))
    return text.encode()


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise InvalidArgumentError(f"the write batch is not valid: {what}")


#: Field annotations of the records (text: records.py postpones annotations) and what they take.
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "str | None": (str, type(None)),
    "float | None": (int, float, type(None)),
    "int | None": (int, type(None)),
}


def _record(cls: Any, data: Any, what: str) -> Any:
    _check(isinstance(data, dict), f"{what} must be an object")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(fields)
    _check(not unknown, f"{what} has unknown fields {sorted(unknown)}")
    for name, value in data.items():
        kind = fields[name].type
        if kind == "list[str]":
            _check(
                isinstance(value, list) and all(isinstance(v, str) for v in value),
                f"{what}.{name} must be a list of strings",
            )
        elif kind == "dict[str, Any]":
            _check(isinstance(value, dict), f"{what}.{name} must be an object")
        else:
            allowed = _FIELD_TYPES[str(kind)]
            _check(
                isinstance(value, allowed) and not isinstance(value, bool),
                f"{what}.{name} has the wrong type",
            )
    try:
        return cls(**data)
    except TypeError as exc:
        raise InvalidArgumentError(f"the write batch is not valid: {what}: {exc}") from None


_ROW_TYPES: tuple[tuple[type, ...], ...] = (
    (str,),
    (int,),
    (int,),
    (str,),
    (int, float),
    (str, type(None)),
    (str, type(None)),
    (int, type(None)),
    (int, float, str, type(None)),
    (int, type(None)),
    (str, type(None)),
    (str, type(None)),
)


_NUMBER = (int, float)


def _event_rows(rows: list[Any]) -> list[EventRow]:
    """Checked event rows. ``type(x) is`` tests keep the loop fast (about 1 µs a row) and
    refuse booleans, which are ints to ``isinstance``."""
    checked: list[EventRow] = []
    for index, row in enumerate(rows):
        _check(type(row) is list and len(row) == 12,
               f"event {index} must be a list of 12 values")  # fmt: skip
        task_id, writer, seq, kind, ts, metric, variant, iteration, value, level, text, data = row
        if not (
            type(task_id) is str and type(writer) is int and type(seq) is int
            and type(kind) is str and type(ts) in _NUMBER
            and (metric is None or type(metric) is str)
            and (variant is None or type(variant) is str)
            and (iteration is None or type(iteration) is int)
            and (value is None or type(value) in _NUMBER or type(value) is str)
            and (level is None or type(level) is int)
            and (text is None or type(text) is str) and (data is None or type(data) is str)
        ):  # fmt: skip
            for item, allowed in zip(row, _ROW_TYPES, strict=True):
                if not isinstance(item, allowed) or isinstance(item, bool):
                    _check(False, f"event {index} has a value of the wrong type: {item!r}")
        if type(value) is str:
            _check(value in _NON_FINITE, f"event {index} has a value that is not a number")
            row[8] = _NON_FINITE[value]
        checked.append(tuple(row))
    return checked


def _not_json(name: str) -> Any:
    raise ValueError(
        f"{name} is not JSON; a non-finite scalar value is sent as the string {name!r}"
    )


def batch_in(body: bytes) -> WriteBatch:
    """The write batch of a request body; InvalidArgumentError when it has another shape."""
    try:
        # NaN and Infinity are not JSON: a non-finite scalar travels as a string (see above),
        # and a literal NaN anywhere else (an event's time) would be stored as nothing.
        data = json.loads(body, parse_constant=_not_json)
    except RecursionError:
        raise InvalidArgumentError(
            "the write batch is not valid: it nests too deep to be read"
        ) from None
    except ValueError as exc:
        raise InvalidArgumentError(f"the write batch is not JSON: {exc}") from None
    _check(isinstance(data, dict), "it must be a JSON object")
    known = {
        "new_tasks",
        "task_updates",
        "parameters",
        "configurations",
        "events",
        "artifacts",
        "models",
    }
    _check(not set(data) - known, f"unknown keys {sorted(set(data) - known)}")
    for key, value in data.items():
        _check(isinstance(value, list), f"{key} must be a list")
    updates = []
    for i, update in enumerate(data.get("task_updates", [])):
        _check(
            isinstance(update, list)
            and len(update) == 2
            and isinstance(update[0], str)
            and isinstance(update[1], dict),
            f"task update {i} must be [task id, {{field: value}}]",
        )
        bad = set(update[1]) - _UPDATABLE
        _check(not bad, f"task update {i} sets unknown fields {sorted(bad)}")
        for value in update[1].values():
            _check(
                value is None or isinstance(value, (str, int, float)),
                f"task update {i} has a value that is not text or a number",
            )
        updates.append((update[0], update[1]))

    def records(key: str, cls: Any) -> list[Any]:
        return [_record(cls, r, f"{key}[{i}]") for i, r in enumerate(data.get(key, []))]

    return WriteBatch(
        new_tasks=records("new_tasks", TaskRecord),
        task_updates=updates,
        parameters=records("parameters", ParameterRecord),
        configurations=records("configurations", ConfigurationRecord),
        events=_event_rows(data.get("events", [])),
        artifacts=records("artifacts", ArtifactRecord),
        models=records("models", ModelRecord),
    )
