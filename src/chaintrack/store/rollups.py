"""Per-hour totals of the spans (``span_rollups``), kept on ingest for the dashboards.

Latency percentiles come from a histogram: a span's latency falls in bucket
``floor(8 * log2(latency_ms))`` (8 buckets per doubling), and a percentile is read as the
geometric middle of its bucket, within about 4.5% of the exact value. Spans without a latency
go in bucket ``NO_LATENCY`` and count as calls only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection, and_, case, func, null

from chaintrack.store.schema import span_rollups

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


def add_rows(
    conn: Connection, insert: Callable[[Any], Any], rows: Iterable[dict[str, Any]]
) -> None:
    """Add spans (``spans`` rows not stored before) to their hours' totals: one upsert."""
    totals: dict[tuple[str, int, str, str, int], dict[str, Any]] = {}
    for row in rows:
        key = rollup_key(row)
        t = totals.get(key)
        if t is None:
            t = totals[key] = {**dict.fromkeys(SUMS, 0), "cost_usd": None}
        t["calls"] += 1
        t["errors"] += row["status"] == "error"
        t["latency_ms"] += row.get("latency_ms") or 0.0
        for column in ("prompt_tokens", "completion_tokens", "total_tokens"):
            t[column] += row.get(column) or 0
        if row.get("cost_usd") is not None:
            t["cost_usd"] = (t["cost_usd"] or 0.0) + row["cost_usd"]
    if not totals:
        return
    stmt = insert(span_rollups)
    c, new = span_rollups.c, stmt.excluded
    updates: dict[str, Any] = {column: c[column] + new[column] for column in SUMS}
    updates["cost_usd"] = case(
        (and_(c.cost_usd.is_(None), new.cost_usd.is_(None)), null()),
        else_=func.coalesce(c.cost_usd, 0.0) + func.coalesce(new.cost_usd, 0.0),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["task_id", "hour", "kind", "model", "bucket"], set_=updates
    )
    names = ("task_id", "hour", "kind", "model", "bucket")
    # In key order: concurrent writers take their row locks in one order (no deadlock).
    rows = [{**dict(zip(names, key, strict=True)), **totals[key]} for key in sorted(totals)]
    conn.execute(stmt, rows)
