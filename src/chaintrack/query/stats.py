"""Project dashboards: calls, errors, latency percentiles, tokens and cost over time, broken down
by model, kind and task tag, aggregated in the database from the hourly totals
(``span_rollups``), so a month of a million spans reads a few thousand rows.

Buckets are hours for ranges up to two days and days beyond. Percentiles come from the
latency histogram of the totals (``store/rollups.py``: within about 4.5%).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import time
from collections import defaultdict
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, select, true

from chaintrack.errors import invalid
from chaintrack.store import rollups
from chaintrack.store.evaltables import eval_results
from chaintrack.store.schema import span_rollups, span_rollups_daily, span_rollups_task_daily, tasks

_RANGE = re.compile(r"^(\d+)([hdw])$")
_UNIT_HOURS = {"h": 1, "d": 24, "w": 168}
#: Longest range a dashboard covers (hourly totals of more would not be read in 300 ms).
MAX_RANGE_DAYS = 400
_SUMS = ("calls", "errors", "prompt_tokens", "completion_tokens", "total_tokens")
_COLUMNS = (*_SUMS, "cost_usd")


#: 9999-12-31T23:59:59Z: later times have no date.
_LAST_SECOND = 253_402_300_799.0


def parse_range(
    range_: str | None = None,
    start: float | None = None,
    end: float | None = None,
    now: float | None = None,
) -> tuple[float, float]:
    """(start, end) in epoch seconds from ``range_`` (``24h``, ``7d``, ``4w``: up to now) or
    explicit bounds; the default is the last 7 days."""
    now = time.time() if now is None else now
    end = now if end is None else end
    for name, value in (("start", start), ("end", end)):
        if value is not None and not (math.isfinite(value) and 0 <= value <= _LAST_SECOND):
            raise invalid(name, value, "a time in seconds since 1970 (UTC), before the year 10000")
    if start is None:
        text = (range_ or "7d").strip()
        match = _RANGE.match(text)
        if match is None:
            raise invalid("range", range_, "a range is a number of hours, days or weeks up to "
                          "now, e.g. 24h, 7d, 30d, 4w")  # fmt: skip
        start = end - int(match.group(1)) * _UNIT_HOURS[match.group(2)] * 3600
    if start >= end:
        raise invalid("start", start, "the start of a range comes before its end")
    if end - start > MAX_RANGE_DAYS * 86400:
        raise invalid("range", range_ or f"{start}..{end}",
                      f"a dashboard covers at most {MAX_RANGE_DAYS} days")  # fmt: skip
    return start, end


def bucket_hours(start: float, end: float) -> int:
    return 1 if end - start <= 2 * 86400 else 24


def _empty() -> dict[str, Any]:
    return {**dict.fromkeys(_SUMS, 0), "cost_usd": None, "latency": defaultdict(int)}


def _add(into: dict[str, Any], row: Any, bucket: int | None = None) -> None:
    for key in _SUMS:
        into[key] += int(row[key] or 0)
    if row["cost_usd"] is not None:
        into["cost_usd"] = (into["cost_usd"] or 0.0) + float(row["cost_usd"])
    if bucket is not None:
        into["latency"][bucket] += int(row["calls"] or 0)


def _finish(acc: dict[str, Any]) -> dict[str, Any]:
    out = {key: acc[key] for key in _SUMS}
    out["cost_usd"] = acc["cost_usd"]
    out["error_rate"] = acc["errors"] / acc["calls"] if acc["calls"] else None
    histogram = acc["latency"]
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        out[f"latency_{name}_ms"] = rollups.percentile(histogram, q)
    return out


Acc = dict[str, Any]
Read = tuple[dict[int, Acc], dict[str, Acc], dict[str, Acc], dict[str, Acc],
             dict[str, dict[int, Acc]], dict[str, dict[int, Acc]]]  # fmt: skip


def _read(conn: Connection, project: str | None, start: float, end: float, hours: int) -> Read:
    """(series, by model, by kind, by tag, series by model, series by kind), each aggregated
    by the database: ranges up to two days from the per-task hourly totals, longer ones from
    the daily totals (whole UTC days; per project, and per task for the tags)."""
    series: dict[int, Acc] = defaultdict(_empty)
    by_model: dict[str, Acc] = defaultdict(_empty)
    by_kind: dict[str, Acc] = defaultdict(_empty)
    by_tag: dict[str, Acc] = defaultdict(_empty)
    model_series: dict[str, dict[int, Acc]] = defaultdict(lambda: defaultdict(_empty))
    kind_series: dict[str, dict[int, Acc]] = defaultdict(lambda: defaultdict(_empty))
    in_project = tasks.c.project == project if project is not None else true()
    if hours == 1:
        r = span_rollups.c
        tb: Any = r.hour
        main: Any = (
            span_rollups.join(tasks, tasks.c.id == r.task_id)
            if project is not None
            else span_rollups
        )
        scope: ColumnElement[bool] = and_(r.hour >= int(start // 3600), r.hour <= int(end // 3600),
                                          in_project)  # fmt: skip
        tagged: Any = span_rollups.outerjoin(tasks, tasks.c.id == r.task_id)
        tag_scope, t = scope, r
    else:
        d = span_rollups_daily.c
        first, last = int(start // 86400), int(end // 86400)
        r, tb, main = d, d.day * 24, span_rollups_daily
        scope = and_(d.day >= first, d.day <= last,
                     d.project == project if project is not None else true())  # fmt: skip
        t = span_rollups_task_daily.c
        tagged = span_rollups_task_daily.outerjoin(tasks, tasks.c.id == t.task_id)
        tag_scope = and_(t.day >= first, t.day <= last, in_project)

    def sums(c: Any) -> list[Any]:
        return [func.sum(c[name]).label(name) for name in _COLUMNS]

    when = tb.label("tb")
    stmt = select(when, r.bucket, *sums(r)).select_from(main).where(scope).group_by(tb, r.bucket)
    for row in conn.execute(stmt).mappings():
        _add(series[row["tb"]], row, row["bucket"])
    stmt = (select(r.model, r.kind, r.bucket, *sums(r)).select_from(main).where(scope)
            .group_by(r.model, r.kind, r.bucket))  # fmt: skip
    for row in conn.execute(stmt).mappings():
        _add(by_model[row["model"]], row, row["bucket"])
        _add(by_kind[row["kind"]], row, row["bucket"])
    stmt = (select(when, r.model, r.kind, *sums(r)).select_from(main).where(scope)
            .group_by(tb, r.model, r.kind))  # fmt: skip
    for row in conn.execute(stmt).mappings():
        _add(model_series[row["model"]][row["tb"]], row)
        _add(kind_series[row["kind"]][row["tb"]], row)
    # Tags are the tasks' (a JSON list): totals per distinct list, split here.
    stmt = (select(tasks.c.tags, t.bucket, *sums(t)).select_from(tagged).where(tag_scope)
            .group_by(tasks.c.tags, t.bucket))  # fmt: skip
    for row in conn.execute(stmt).mappings():
        for tag in _tags(row["tags"]) or [""]:
            _add(by_tag[tag], row, row["bucket"])
    return series, by_model, by_kind, by_tag, model_series, kind_series


def _tags(raw: str | None) -> list[str]:
    try:
        found = json.loads(raw or "[]")
    except ValueError:
        return []
    return [str(t) for t in found] if isinstance(found, list) else []


def project_stats(
    conn: Connection,
    project: str | None,
    start: float,
    end: float,
) -> dict[str, Any]:
    """The dashboard of ``project`` (None: every project) between ``start`` and ``end``.

    The spans stored and not totalled yet are totalled first (``store/textindex.py``), in
    transactions of their own: call it before ``conn`` reads anything."""
    from chaintrack.store import textindex

    textindex.catch_up(conn.engine)
    hours = bucket_hours(start, end)
    series, by_model, by_kind, by_tag, model_series, kind_series = _read(
        conn, project, start, end, hours
    )
    total = _empty()
    for kind_acc in by_kind.values():
        for key in _SUMS:
            total[key] += kind_acc[key]
        if kind_acc["cost_usd"] is not None:
            total["cost_usd"] = (total["cost_usd"] or 0.0) + kind_acc["cost_usd"]
        for bucket, n in kind_acc["latency"].items():
            total["latency"][bucket] += n

    def points(buckets: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"time": _iso(hour * 3600), **_finish(buckets[hour])} for hour in sorted(buckets)]

    def lines(groups: dict[str, dict[int, dict[str, Any]]]) -> dict[str, Any]:
        return {name or "(none)": [{"time": _iso(h * 3600), "calls": a["calls"],
                                   "total_tokens": a["total_tokens"], "cost_usd": a["cost_usd"]}
                                  for h, a in sorted(series_.items())]
                for name, series_ in sorted(groups.items())}  # fmt: skip

    def table(groups: dict[str, dict[str, Any]], label: str) -> list[dict[str, Any]]:
        ordered = sorted(groups.items(), key=lambda kv: -kv[1]["calls"])
        return [{label: name or "(none)", **_finish(acc)} for name, acc in ordered]

    scores = score_series(conn, project, start, end, hours)
    return {
        "project": project,
        "start": _iso(start),
        "end": _iso(end),
        "bucket": "hour" if hours == 1 else "day",
        "totals": _finish(total),
        "series": points(series),
        "series_by_model": lines(model_series),
        "series_by_kind": lines(kind_series),
        "by_model": table(by_model, "model"),
        "by_kind": table(by_kind, "kind"),
        "by_tag": table(by_tag, "tag"),
        "scores": scores,
    }


def score_series(
    conn: Connection, project: str | None, start: float, end: float, hours: int
) -> list[dict[str, Any]]:
    """Average experiment score per name and time bucket (by when each example was scored),
    for the project's experiments. Scores are JSON per result, so they are averaged here
    rather than in SQL; a range holds as many results as its experiments scored."""
    width = hours * 3600
    scope = and_(eval_results.c.created >= start, eval_results.c.created <= end,
                 tasks.c.project == project if project is not None else true())  # fmt: skip
    stmt = (select(eval_results.c.created, eval_results.c.scores)
            .select_from(eval_results.join(tasks, tasks.c.id == eval_results.c.task_id))
            .where(scope))  # fmt: skip
    sums: dict[tuple[int, str], list[float]] = defaultdict(lambda: [0.0, 0])
    for created, text in conn.execute(stmt):
        try:
            scores = json.loads(text or "{}")
        except ValueError:
            continue
        bucket = int(created // width) * width
        for name, cell in scores.items() if isinstance(scores, dict) else ():
            value = cell.get("value") if isinstance(cell, dict) else None
            if isinstance(value, bool):
                value = float(value)
            if isinstance(value, (int, float)) and math.isfinite(value):
                acc = sums[(bucket, name)]
                acc[0] += value
                acc[1] += 1
    return [{"time": _iso(float(b)), "name": name, "average": total / n, "count": int(n)}
            for (b, name), (total, n) in sorted(sums.items())]  # fmt: skip


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc).isoformat().replace("+00:00", "Z")
