"""The Plots tab of a task page and the plots of the Compare page.

Plots are Plotly JSON events (kind ``plot``). The tab groups them by title, with one box per
series and an iteration slider per title; Compare overlays the last report of each series of
every task in one figure. The browser draws them with the plotly.js the ``plotly`` package ships.
"""

from __future__ import annotations

from typing import Any

from chaintrack.store.base import Store
from chaintrack.store.records import PLOT
from chaintrack.store.views import EventQuery

#: Reports of one series sent to the page (the newest ones); older iterations are not shown.
MAX_REPORTS = 200
#: Up to this many plots in a task, the tab reads them in one query (one query per series costs
#: ~10 ms each: 120 series took 1.3 s, one query for their 600 plots 60 ms); past it, a page of
#: the newest MAX_REPORTS per series.
ONE_QUERY = 5_000


def _figure(data: Any) -> dict[str, Any]:
    """A stored plot as ``{"data": [...], "layout": {...}}``, whatever another writer stored."""
    if not isinstance(data, dict):
        return {"data": [], "layout": {}}
    traces = data.get("data")
    layout = data.get("layout")
    return {
        "data": [t for t in traces if isinstance(t, dict)] if isinstance(traces, list) else [],
        "layout": layout if isinstance(layout, dict) else {},
    }


def _reports(store: Store, task_id: str, metric: str, variant: str) -> list[dict[str, Any]]:
    query = EventQuery(PLOT, metric=metric, variant=variant, limit=MAX_REPORTS, newest_first=True)
    events = store.event_page(task_id, query).events
    return [
        {"iter": e.iter or 0, "figure": _figure(e.data)}
        for e in sorted(events, key=lambda e: (e.iter or 0, e.ts))
    ]


def plots_tab(store: Store, task_id: str) -> dict[str, Any]:
    """``plot_groups``: per title, its series, the iterations reported and every report."""
    summaries = store.event_series(task_id, PLOT)
    by_series: dict[tuple[str, str], list[dict[str, Any]]] = {}
    if sum(s.count for s in summaries) <= ONE_QUERY:
        for e in store.get_events(task_id, PLOT):
            report = {"iter": e.iter or 0, "figure": _figure(e.data)}
            by_series.setdefault((e.metric or "", e.variant or ""), []).append(report)
        for key, reports in by_series.items():
            reports.sort(key=lambda r: r["iter"])  # stable: reports of one iteration keep order
            by_series[key] = reports[-MAX_REPORTS:]
    titles: dict[str, list[dict[str, Any]]] = {}
    for s in summaries:
        key = (s.metric, s.variant)
        reports = by_series[key] if key in by_series else _reports(store, task_id, *key)
        titles.setdefault(s.metric, []).append(
            {"series": s.variant, "count": s.count, "reports": reports}
        )
    groups = []
    for title, series in titles.items():
        iterations = sorted({r["iter"] for s in series for r in s["reports"]})
        groups.append({"title": title, "series": series, "iterations": iterations})
    return {"plot_groups": groups}


def compare_plots(store: Store, tasks: list[Any]) -> list[dict[str, Any]]:
    """One figure per (title, series) that any of ``tasks`` reported: the traces of each task's
    last report, named after the task, over the layout of the first task's report."""
    overlaid: dict[tuple[str, str], dict[str, Any]] = {}
    for task in tasks:
        for s in store.event_series(task.id, PLOT):
            query = EventQuery(PLOT, metric=s.metric, variant=s.variant, limit=1, newest_first=True)
            found = store.event_page(task.id, query).events
            if not found:
                continue
            figure = _figure(found[0].data)
            entry = overlaid.setdefault(
                (s.metric, s.variant),
                {"title": s.metric, "series": s.variant, "tasks": [],
                 "figure": {"data": [], "layout": figure["layout"]}},
            )  # fmt: skip
            entry["tasks"].append(task.name)
            for trace in figure["data"]:
                named = dict(trace)
                named["name"] = f"{task.name} · {trace.get('name') or s.variant or s.metric}"
                entry["figure"]["data"].append(named)
    return [overlaid[key] for key in sorted(overlaid)]
