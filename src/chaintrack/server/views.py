"""What the pages and the API show, built from store reads: tables, the compare view, formats.

Everything here returns plain data; templates escape it, the API serializes it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from chaintrack.errors import InvalidArgumentError
from chaintrack.store import params
from chaintrack.store.base import Store
from chaintrack.store.records import TABLE, Event, TaskRecord
from chaintrack.store.views import EventQuery, ScalarSeries
from chaintrack.store.vocabulary import SESSION_ANALYSIS

#: Tables of this title are the LangChain handler's; the compare view sets them side by side.
#: The compare view takes at most this many tasks (ClearML's limit).
MAX_COMPARE = 100


def when(ts: float | None) -> str:
    if ts is None:
        return ""
    try:
        return dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError, TypeError):  # not a time: shown as it is
        return str(ts)


def duration(task: TaskRecord) -> float | None:
    if task.started is None:
        return None
    return max(0.0, (task.completed or task.last_update) - task.started)


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def cell_text(value: Any) -> str:
    """A table cell or parameter as text (None as empty)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# -- tables ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableView:
    metric: str
    variant: str
    #: Reports of this (metric, variant); ``report`` counts back from the newest (0).
    reports: int
    report: int
    iteration: int | None
    columns: list[str]
    total_rows: int
    offset: int
    limit: int
    rows: list[list[Any]]
    sort: str | None
    descending: bool


def _table_report(store: Store, task_id: str, metric: str, variant: str, report: int) -> Any:
    query = EventQuery(
        TABLE, metric=metric, variant=variant, offset=report, limit=1, newest_first=True
    )
    page = store.event_page(task_id, query)
    if not page.events:
        raise InvalidArgumentError(
            f"task {task_id} has no report {report} of table {metric!r} / {variant!r} "
            f"({page.total} reports)"
        )
    return page, page.events[0]


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (2, 0)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value))


def table_rows(event: Event) -> tuple[list[str], list[list[Any]]]:
    """The header and rows of a table report (the index, when it has one, comes first)."""
    data = event.data if isinstance(event.data, dict) else {}
    columns = [str(c) for c in data.get("columns", [])]
    rows = [list(r) for r in data.get("rows", [])]
    if "index" in data:
        columns = [str(data.get("index_name") or ""), *columns]
        rows = [[i, *r] for i, r in zip(data["index"], rows, strict=False)]
    return columns, rows


def table_view(
    store: Store,
    task_id: str,
    metric: str,
    variant: str,
    report: int = 0,
    offset: int = 0,
    limit: int = 50,
    sort: str | None = None,
    descending: bool = False,
) -> TableView:
    page, event = _table_report(store, task_id, metric, variant, report)
    columns, rows = table_rows(event)
    if sort:
        if sort not in columns:
            raise InvalidArgumentError(f"sort={sort!r} is not a column of this table")
        position = columns.index(sort)
        rows.sort(
            key=lambda r: _sort_key(r[position] if position < len(r) else None), reverse=descending
        )
    return TableView(
        metric,
        variant,
        page.total,
        report,
        event.iter,
        columns,
        len(rows),
        offset,
        limit,
        rows[offset : offset + limit],
        sort,
        descending,
    )


def table_csv(store: Store, task_id: str, metric: str, variant: str, report: int = 0) -> str:
    _, event = _table_report(store, task_id, metric, variant, report)
    columns, rows = table_rows(event)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_cell(c) for c in columns])
    writer.writerows([[csv_cell(v) for v in row] for row in rows])
    return out.getvalue()


#: A cell starting with one of these is a formula to a spreadsheet (=cmd|' /C calc'!A0).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell that a spreadsheet shows as text, never runs as a formula: text
    starting with =, +, -, @, a tab or a carriage return gets a leading apostrophe (OWASP's
    advice). Numbers stay numbers (-1.5 is a number, not a formula)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def console_lines(store: Store, task_id: str) -> Iterator[str]:
    """The console as text lines: ``time LEVEL text`` (for the download)."""
    import logging

    from chaintrack.store.records import LOG

    for event in store.get_events(task_id, LOG):
        level = logging.getLevelName(event.level or logging.INFO)
        yield f"{when(event.ts)} {level} {event.text or ''}\n"


# -- compare ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParameterRow:
    name: str
    values: list[str]
    identical: bool


@dataclass(frozen=True)
class CompareView:
    tasks: list[TaskRecord]
    parameters: list[ParameterRow]
    #: title -> traces: {"task": id, "name": task name, "series", "x", "y"}.
    scalars: dict[str, list[dict[str, Any]]]
    #: series name -> per task (same order as ``tasks``): (columns, rows) or None.
    session_analysis: dict[str, list[tuple[list[str], list[list[Any]]] | None]]


def task_ids(raw: list[str]) -> list[str]:
    """Task ids from ``?ids=a&ids=b`` or ``?ids=a,b``, in order, without repeats."""
    ids = list(dict.fromkeys(i.strip() for part in raw for i in part.split(",") if i.strip()))
    if len(ids) < 2 or len(ids) > MAX_COMPARE:
        raise InvalidArgumentError(
            f"compare needs 2 to {MAX_COMPARE} distinct task ids; got {len(ids)}"
        )
    return ids


def _parameter_texts(store: Store, task: TaskRecord) -> dict[str, str]:
    texts = {
        "Task/type": task.type,
        "Task/status": task.status,
        "Task/project": task.project,
        "Task/tags": ", ".join(task.tags),
    }
    for p in store.get_parameters(task.id):
        texts[f"{p.section}/{p.name}"] = cell_text(params.decode(p.value, p.type))
    return texts


def compare_view(store: Store, ids: list[str], max_points: int = 1_000) -> CompareView:
    found = [store.get_task(i) for i in ids]
    texts = [_parameter_texts(store, t) for t in found]
    names = sorted({name for t in texts for name in t})
    rows = []
    for name in names:
        values = [t.get(name, "") for t in texts]
        rows.append(ParameterRow(name, values, len(set(values)) == 1))
    scalars: dict[str, list[dict[str, Any]]] = {}
    for task in found:
        for series in store.scalar_series(task.id, max_points):
            scalars.setdefault(series.metric, []).append(_trace(task, series))
    analysis: dict[str, list[tuple[list[str], list[list[Any]]] | None]] = {}
    for position, task in enumerate(found):
        for summary in store.event_series(task.id, TABLE):
            if summary.metric != SESSION_ANALYSIS:
                continue
            _, event = _table_report(store, task.id, summary.metric, summary.variant, 0)
            slot = analysis.setdefault(summary.variant, [None] * len(found))
            slot[position] = table_rows(event)
    return CompareView(found, rows, dict(sorted(scalars.items())), dict(sorted(analysis.items())))


def _trace(task: TaskRecord, series: ScalarSeries) -> dict[str, Any]:
    return {
        "task": task.id,
        "name": f"{task.name} · {series.variant}",
        "series": series.variant,
        "x": series.iters,
        "y": [None if not math.isfinite(v) else v for v in series.values],
    }
