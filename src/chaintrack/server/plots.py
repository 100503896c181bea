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
    titles: dict[str, list[dict[str, Any]]] = {}
    for s in store.event_series(task_id, PLOT):
        reports = _reports(store, task_id, s.metric, s.variant)
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
