"""Totals of the spans for the dashboards, added after ingest by ``store/textindex.py``: per
task and hour (``span_rollups``), per project and day (``span_rollups_daily``) and per task and
day (``span_rollups_task_daily``).

Latency percentiles come from a histogram: a span's latency falls in bucket
``floor(8 * log2(latency_ms))`` (8 buckets per doubling), and a percentile is read as the
geometric middle of its bucket, within about 4.5% of the exact value. Spans without a latency
go in bucket ``NO_LATENCY`` and count as calls only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection, select

from chaintrack.store.schema import span_rollups, span_rollups_daily, span_rollups_task_daily, tasks

BUCKETS_PER_DOUBLING = 8
NO_LATENCY = -(2**20)
_MIN_MS = 1e-3  # latencies below a microsecond share one bucket
SUMS = ("calls", "errors", "latency_ms", "prompt_tokens", "completion_tokens", "total_tokens")


def bucket_of(latency_ms: float | None) -> int:
    if latency_ms is None or not math.isfinite(latency_ms):
        return NO_LATENCY
    return math.floor(BUCKETS_PER_DOUBLING * math.log2(max(latency_ms, _MIN_MS)))


def bucket_value(bucket: int) -> float:
    """The latency a bucket stands for: its geometric middle."""
    return float(2 ** ((bucket + 0.5) / BUCKETS_PER_DOUBLING))


def percentile(histogram: dict[int, int], q: float) -> float | None:
    """The ``q`` quantile (0..1) of a latency histogram {bucket: count}."""
    total = sum(n for b, n in histogram.items() if b != NO_LATENCY)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for bucket in sorted(b for b in histogram if b != NO_LATENCY):
        seen += histogram[bucket]
        if seen >= rank:
            return bucket_value(bucket)
    return None  # pragma: no cover - rank <= total


def rollup_key(row: dict[str, Any]) -> tuple[str, int, str, str, int]:
    return (row["task_id"], int(row["start_time"] // 3600), row["kind"],
            row.get("model_name") or "", bucket_of(row.get("latency_ms")))  # fmt: skip


def _totals(rows: Iterable[dict[str, Any]]) -> dict[tuple[Any, ...], list[Any]]:
    """{rollup key: [calls, errors, latency_ms, prompt, completion, total tokens, cost]}."""
    totals: dict[tuple[Any, ...], list[Any]] = {}
    for row in rows:
        key = rollup_key(row)
        t = totals.get(key)
        if t is None:
            t = totals[key] = [0, 0, 0.0, 0, 0, 0, None]
        t[0] += 1
        t[1] += row["status"] == "error"
        t[2] += row.get("latency_ms") or 0.0
        t[3] += row.get("prompt_tokens") or 0
        t[4] += row.get("completion_tokens") or 0
        t[5] += row.get("total_tokens") or 0
        if row.get("cost_usd") is not None:
            t[6] = (t[6] or 0.0) + row["cost_usd"]
    return totals


def _merge(into: dict[tuple[Any, ...], list[Any]], key: tuple[Any, ...], t: list[Any]) -> None:
    found = into.get(key)
    if found is None:
        into[key] = list(t)
        return
    for i in range(6):
        found[i] += t[i]
    if t[6] is not None:
        found[6] = (found[6] or 0.0) + t[6]


_COLUMNS = (*SUMS, "cost_usd")
_KEYS: dict[str, tuple[str, ...]] = {
    "span_rollups": ("task_id", "hour", "kind", "model", "bucket"),
    "span_rollups_daily": ("project", "day", "kind", "model", "bucket"),
    "span_rollups_task_daily": ("task_id", "day", "bucket"),
}
_TYPES = {"task_id": "text", "project": "text", "kind": "text", "model": "text", "hour": "bigint",
          "day": "bigint", "bucket": "bigint", "calls": "bigint", "errors": "bigint",
          "latency_ms": "double precision", "prompt_tokens": "bigint",
          "completion_tokens": "bigint", "total_tokens": "bigint",
          "cost_usd": "double precision"}  # fmt: skip


def _upsert(conn: Connection, table: str, totals: dict[tuple[Any, ...], list[Any]]) -> None:
    """Add ``totals`` ({key: sums}) to ``table``'s rows: one statement with the driver's
    parameters (the generic SQLAlchemy path spent more than the database on these rows).
    Table and column names are constants of this module, never data."""
    if not totals:
        return
    keys = _KEYS[table]
    names = (*keys, *_COLUMNS)
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in SUMS)
    # NULL (no priced call) plus NULL stays NULL: an unknown cost is never $0.
    updates += (f", cost_usd = CASE WHEN {table}.cost_usd IS NULL AND excluded.cost_usd IS NULL "
                f"THEN NULL ELSE COALESCE({table}.cost_usd, 0) + COALESCE(excluded.cost_usd, 0) "
                "END")  # fmt: skip
    conflict = f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    # In key order: concurrent writers take their row locks in one order (no deadlock).
    ordered = [(*key, *totals[key]) for key in sorted(totals)]
    if conn.dialect.name == "postgresql":
        arrays = ", ".join(f"CAST(%s AS {_TYPES[n]}[])" for n in names)
        sql = (f"INSERT INTO {table} ({', '.join(names)}) SELECT * FROM unnest({arrays}) "  # noqa: S608
               f"{conflict}")  # fmt: skip
        conn.exec_driver_sql(sql, tuple(list(column) for column in zip(*ordered, strict=True)))
        return
    marks = ", ".join("?" * len(names))
    sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks}) {conflict}"  # noqa: S608
    conn.exec_driver_sql(sql, ordered)


def _projects(conn: Connection, task_ids: set[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    ids = sorted(task_ids)
    for start in range(0, len(ids), 500):
        stmt = select(tasks.c.id, tasks.c.project).where(tasks.c.id.in_(ids[start : start + 500]))
        found.update((t, p) for t, p in conn.execute(stmt))
    return found


Totals = dict[tuple[Any, ...], list[Any]]


def _daily(hourly: Totals, projects: dict[str, str], sign: int = 1) -> tuple[Totals, Totals]:
    """The per-project and per-task daily totals of hourly ones (negated when ``sign`` is -1)."""
    by_project: dict[tuple[Any, ...], list[Any]] = {}
    by_task: dict[tuple[Any, ...], list[Any]] = {}
    for (task_id, hour, kind, model, bucket), sums in hourly.items():
        t = [-v if v is not None else None for v in sums] if sign < 0 else sums
        day = hour // 24
        _merge(by_project, (projects.get(task_id, ""), day, kind, model, bucket), t)
        _merge(by_task, (task_id, day, bucket), t)
    return by_project, by_task


def add_rows(
    conn: Connection, insert: Callable[[Any], Any], rows: Iterable[dict[str, Any]]
) -> None:
    """Add spans to their hours' totals only (revision 0007's backfill: the daily tables come
    with revision 0008, which fills them from these)."""
    del insert  # kept for the migration's call; the statements are the module's own
    _upsert(conn, "span_rollups", _totals(rows))


def add_spans(conn: Connection, rows: Iterable[dict[str, Any]]) -> None:
    """Add spans (``spans`` rows not stored before) to their hours' and days' totals."""
    hourly = _totals(rows)
    if not hourly:
        return
    projects = _projects(conn, {key[0] for key in hourly})
    by_project, by_task = _daily(hourly, projects)
    _upsert(conn, "span_rollups", hourly)
    _upsert(conn, "span_rollups_daily", by_project)
    _upsert(conn, "span_rollups_task_daily", by_task)


def _task_hours(conn: Connection, task_id: str) -> dict[tuple[Any, ...], list[Any]]:
    r = span_rollups.c
    stmt = select(r.task_id, r.hour, r.kind, r.model, r.bucket, *(r[c] for c in _COLUMNS)).where(
        r.task_id == task_id
    )
    return {tuple(row[:5]): list(row[5:]) for row in conn.execute(stmt)}


def _drop_empty(conn: Connection) -> None:
    d = span_rollups_daily.c
    conn.execute(span_rollups_daily.delete().where(d.calls <= 0))


def move_task(conn: Connection, task_id: str, old: str, new: str) -> None:
    """Move a task's share of the per-project daily totals from project ``old`` to ``new``."""
    if old == new:
        return
    hourly = _task_hours(conn, task_id)
    if not hourly:
        return
    _upsert(conn, "span_rollups_daily", _daily(hourly, {task_id: old}, sign=-1)[0])
    _upsert(conn, "span_rollups_daily", _daily(hourly, {task_id: new})[0])
    _drop_empty(conn)


def remove_task(conn: Connection, task_id: str) -> None:
    """Take a task's spans out of every total (the task is reset: its spans are deleted)."""
    hourly = _task_hours(conn, task_id)
    if hourly:
        projects = _projects(conn, {task_id})
        _upsert(conn, "span_rollups_daily", _daily(hourly, projects, sign=-1)[0])
        _drop_empty(conn)
    conn.execute(span_rollups.delete().where(span_rollups.c.task_id == task_id))
    conn.execute(span_rollups_task_daily.delete().where(
        span_rollups_task_daily.c.task_id == task_id))  # fmt: skip
