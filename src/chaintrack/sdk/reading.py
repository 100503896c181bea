"""Reading a task back: parameters, scalars, tables, console, debug samples."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chaintrack.sdk.tables import to_dataframe
from chaintrack.store import params
from chaintrack.store.records import (
    LOG,
    MEDIA,
    SCALAR,
    SINGLE_VALUE_ITER,
    SINGLE_VALUE_METRIC,
    SPAN,
    TABLE,
)

#: The columns of ``task.get_spans()``, in order.
SPAN_COLUMNS = (
    "span_id", "parent_id", "kind", "name", "start_time", "end_time", "latency_ms", "status",
    "error", "input", "output", "prompt_tokens", "completion_tokens", "total_tokens",
    "model_name", "thread_id", "trace_id", "cost_usd", "price_source",
)  # fmt: skip

if TYPE_CHECKING:
    from chaintrack.store.base import Store


@dataclass(frozen=True)
class DebugSample:
    """One reported media file: ``task.get_debug_samples()``."""

    title: str
    series: str
    iteration: int
    mime_type: str
    local_path: str | None
    url: str | None
    timestamp: float


class TaskReads:
    """Read methods shared by live and loaded tasks; subclasses provide ``_read_store``."""

    id: str

    def _read_store(self) -> Store:
        raise NotImplementedError

    def get_parameters(self, cast: bool = True) -> dict[str, Any]:
        """Hyperparameters as flat ``"Section/name"`` keys; typed values unless ``cast=False``."""
        result: dict[str, Any] = {}
        for p in self._read_store().get_parameters(self.id):
            key = f"{p.section}/{p.name}"
            value = params.decode(p.value, p.type)
            result[key] = value if cast else as_text(value)
        return result

    def get_parameters_as_dict(self) -> dict[str, Any]:
        """Hyperparameters nested by section and by '/' in their names."""
        return params.unflatten(self.get_parameters())

    def get_user_properties(self) -> dict[str, Any]:
        return {
            p.name: params.decode(p.value, p.type)
            for p in self._read_store().get_parameters(self.id)
            if p.section == "properties"
        }

    def get_configuration_objects(self) -> dict[str, str]:
        return {c.name: c.value for c in self._read_store().get_configurations(self.id)}

    def get_configuration_object(self, name: str) -> str | None:
        return self.get_configuration_objects().get(name)

    def _scalar_events(self) -> list[Any]:
        return self._read_store().get_events(self.id, SCALAR)

    def get_reported_scalars(self) -> dict[str, dict[str, dict[str, list[Any]]]]:
        """``{title: {series: {"x": [iterations], "y": [values]}}}`` (single values excluded)."""
        result: dict[str, dict[str, dict[str, list[Any]]]] = defaultdict(dict)
        for e in self._scalar_events():
            if e.metric == SINGLE_VALUE_METRIC and e.iter == SINGLE_VALUE_ITER:
                continue
            series = result[e.metric or ""].setdefault(e.variant or "", {"x": [], "y": []})
            series["x"].append(e.iter)
            series["y"].append(scalar_value(e.value))
        return dict(result)

    def get_reported_single_values(self) -> dict[str, float]:
        return {
            e.variant or "": scalar_value(e.value)
            for e in self._read_store().get_events(self.id, SCALAR, metric=SINGLE_VALUE_METRIC)
            if e.iter == SINGLE_VALUE_ITER
        }

    def get_last_scalar_metrics(self) -> dict[str, dict[str, dict[str, float]]]:
        """``{title: {series: {"last", "min", "max", "mean", "count"}}}`` like ClearML's."""
        summary: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
        for title, by_series in self.get_reported_scalars().items():
            for series, points in by_series.items():
                ys = [float(y) for y in points["y"]]
                summary[title][series] = {
                    "last": ys[-1],
                    "min": min(ys),
                    "max": max(ys),
                    "mean": sum(ys) / len(ys),
                    "count": float(len(ys)),
                    "last_iteration": float(points["x"][-1]),
                }
        return dict(summary)

    def get_reported_tables(self, iteration: int | None = None) -> dict[str, dict[str, Any]]:
        """``{title: {series: DataFrame}}``: the last report of each, or of ``iteration``."""
        result: dict[str, dict[str, Any]] = defaultdict(dict)
        for e in self._read_store().get_events(self.id, TABLE):
            if iteration is not None and e.iter != iteration:
                continue
            result[e.metric or ""][e.variant or ""] = to_dataframe(e.data)
        return dict(result)

    def get_reported_console_output(self, number_of_reports: int | None = None) -> list[str]:
        """Console lines, oldest first (the last ``number_of_reports`` when given)."""
        lines: list[str] = []
        for e in self._read_store().get_events(self.id, LOG):
            lines.extend((e.text or "").split("\n"))
        return lines[-number_of_reports:] if number_of_reports else lines

    def get_reported_console_events(self) -> list[tuple[float, int, str]]:
        """(timestamp, logging level, text) of each console report."""
        return [
            (e.ts, e.level or 20, e.text or "") for e in self._read_store().get_events(self.id, LOG)
        ]

    def get_debug_samples(self) -> list[DebugSample]:
        store = self._read_store()
        samples = []
        for e in store.get_events(self.id, MEDIA):
            data = e.data or {}
            local = str(store.blobs.local_path(data["uri"])) if data.get("uri") else None
            samples.append(
                DebugSample(
                    title=e.metric or "",
                    series=e.variant or "",
                    iteration=e.iter or 0,
                    mime_type=data.get("mime_type", "application/octet-stream"),
                    local_path=local,
                    url=data.get("url"),
                    timestamp=e.ts,
                )
            )
        return samples

    def get_spans(self) -> Any:
        """The run tree (LLM, chat model, chain, tool and retriever runs) as a pandas DataFrame
        with :data:`SPAN_COLUMNS`, oldest start first; ``parent_id`` links a run to its parent
        (None for a root). Times are UTC timestamps; token counts are nullable integers;
        ``cost_usd`` is the stored cost (NaN: unknown) and ``price_source`` what priced it."""
        import pandas as pd

        store = self._read_store()
        rows = [e.data for e in store.get_events(self.id, SPAN) if e.data]
        costs = store.span_costs(self.id)
        for row in rows:
            row["cost_usd"], row["price_source"] = costs.get(str(row.get("span_id")), (None, None))
        frame = pd.DataFrame([[row.get(c) for c in SPAN_COLUMNS] for row in rows],
                             columns=list(SPAN_COLUMNS))  # fmt: skip
        for column in ("start_time", "end_time"):
            frame[column] = pd.to_datetime(frame[column].astype("float64"), unit="s", utc=True)
        for column in ("prompt_tokens", "completion_tokens", "total_tokens"):
            frame[column] = frame[column].astype("Int64")
        frame["latency_ms"] = frame["latency_ms"].astype("float64")
        frame["cost_usd"] = frame["cost_usd"].astype("float64")
        return frame.sort_values("start_time", kind="stable").reset_index(drop=True)


def scalar_value(value: float | None) -> float:
    # Every scalar event has a value, so a missing one can only be a NaN that a store kept as
    # NULL (SQLite does; stores written before the store marked NaN read back that way).
    # Without this a NaN loss came back as None and a NaN single value as 0.0.
    return math.nan if value is None else float(value)


def as_text(value: Any) -> str:
    # ClearML stores parameters as str(value): True is "True", None is "None", [1] is "[1]".
    return value if isinstance(value, str) else str(value)
