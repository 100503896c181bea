"""The web UI's pages: server-rendered Jinja templates (autoescaped) and a little plain JS.

Every page reads the store through the same paginated reads as the REST API. Untrusted text
(names, tags, prompts, outputs, tool results) is only ever inserted by autoescaping templates;
data for scripts goes in ``<script type="application/json">`` blocks through ``|tojson``.
"""

from __future__ import annotations

import hmac
import json
import math
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import jinja2
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from chaintrack import config
from chaintrack._version import __version__
from chaintrack.errors import InvalidArgumentError
from chaintrack.server import plots, views
from chaintrack.server.forms import set_csrf, usd
from chaintrack.server.security import SESSION_COOKIE, revoke_session, session_value
from chaintrack.store import params
from chaintrack.store.base import Store
from chaintrack.store.records import (
    LOG,
    MEDIA,
    SINGLE_VALUE_ITER,
    SINGLE_VALUE_METRIC,
    TABLE,
)
from chaintrack.store.views import EventQuery, TaskPageQuery
from chaintrack.store.vocabulary import STATUSES

router = APIRouter(include_in_schema=False)
TABS = (
    ("info", "Info"),
    ("execution", "Execution"),
    ("configuration", "Configuration"),
    ("console", "Console"),
    ("scalars", "Scalars"),
    ("tables", "Tables"),
    ("plots", "Plots"),
    ("debug", "Debug samples"),
    ("artifacts", "Artifacts & models"),
    ("trace", "Trace"),
    ("threads", "Threads"),
)
LEVELS = ((0, "all"), (10, "debug"), (20, "info"), (30, "warning"), (40, "error"))
CONSOLE_PAGE = 200
TASKS_PAGE = 50

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=True,  # every {{ }} is escaped; the templates never use |safe
    undefined=jinja2.StrictUndefined,
)
_env.globals.update(
    when=views.when,
    human_duration=views.human_duration,
    cell=views.cell_text,
    version=__version__,
    tabs=TABS,
    usd=usd,
)


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    def url(**changes: Any) -> str:
        """This page's URL with some query parameters changed (None removes one)."""
        query = {k: v for k, v in request.query_params.multi_items() if k not in changes}
        pairs = list(query.items())
        for key, value in changes.items():
            if value is None:
                continue
            pairs += [(key, v) for v in value] if isinstance(value, list) else [(key, value)]
        return request.url.path + ("?" + urlencode(pairs) if pairs else "")

    signed_in = request.app.state.auth_token is not None
    html = _env.get_template(template).render(
        request=request, url=url, signed_in=signed_in, **context
    )
    return HTMLResponse(html, status_code=status)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return render(request, "error.html", status=status, status_code=status, message=message)


# -- sign-in ---------------------------------------------------------------------------------


def _next(target: str | None) -> str:
    # Only paths of this server: "//host" or "/\\host" would leave it.
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", next=_next(next), failed=False)


@router.post("/login")
async def login(request: Request) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = request.app.state.auth_token
    given = (form.get("token") or [""])[0]
    target = _next((form.get("next") or ["/"])[0])
    if token is None or not hmac.compare_digest(given.encode(), token.encode()):
        return render(request, "login.html", status=401, next=target, failed=True)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_value(token),
        max_age=int(config.session_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/logout")
def logout(request: Request) -> Response:
    value = request.cookies.get(SESSION_COOKIE)
    if value:
        revoke_session(value)  # a copy of the cookie no longer signs in either
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# -- projects and tasks ----------------------------------------------------------------------


@router.get("/")
def projects(request: Request) -> Response:
    return render(request, "projects.html", projects=_store(request).list_projects())


@router.get("/tasks")
def tasks(
    request: Request,
    project: str | None = None,
    status: list[str] = Query([]),  # noqa: B008
    tag: list[str] = Query([]),  # noqa: B008
    q: str = "",
    sort: str = "created",
    order: str = "desc",
    page: int = Query(1, ge=1),
) -> Response:
    tags = tuple(t.strip() for raw in tag for t in raw.split(",") if t.strip())
    query = TaskPageQuery(
        project,
        False,
        tuple(status),
        tags,
        q,
        sort,
        order != "asc",
        (page - 1) * TASKS_PAGE,
        TASKS_PAGE,
    )
    found = _store(request).task_page(query)
    pages = max(1, math.ceil(found.total / TASKS_PAGE))
    return render(
        request,
        "tasks.html",
        page=found,
        number=page,
        pages=pages,
        query=query,
        statuses=STATUSES,
        duration=views.duration,
    )


@router.get("/compare")
def compare(request: Request, ids: list[str] = Query([]), hide_identical: bool = False) -> Response:  # noqa: B008
    view = views.compare_view(_store(request), views.task_ids(ids))
    charts = [{"title": title, "traces": traces} for title, traces in view.scalars.items()]
    compared = plots.compare_plots(_store(request), view.tasks)
    return render(request, "compare.html", view=view, charts=charts, plots=compared,
                  hide_identical=hide_identical)  # fmt: skip


# -- a task ----------------------------------------------------------------------------------


@router.get("/tasks/{task_id}")
def task(request: Request, task_id: str, tab: str = "info") -> Response:
    store = _store(request)
    record = store.get_task(task_id)
    if tab not in dict(TABS):
        raise InvalidArgumentError(f"tab={tab!r} is not valid: use one of {', '.join(dict(TABS))}")
    summary = store.task_summary(task_id)
    context: dict[str, Any] = {
        "task": record,
        "tab": tab,
        "summary": summary,
        "duration": views.duration(record),
    }
    context.update(_TABS[tab](request, store, task_id))
    return set_csrf(request, render(request, "task.html", **context))


def _info(request: Request, store: Store, task_id: str) -> dict[str, Any]:
    query = EventQuery(
        "scalar", metric=SINGLE_VALUE_METRIC, iteration=SINGLE_VALUE_ITER, limit=1000
    )
    single = store.event_page(task_id, query).events
    return {"single_values": [(e.variant or "", e.value) for e in single]}


def _execution(request: Request, store: Store, task_id: str) -> dict[str, Any]:
    return {}


def _configuration(request: Request, store: Store, task_id: str) -> dict[str, Any]:
    sections: dict[str, list[Any]] = {}
    for p in store.get_parameters(task_id):
        value = views.cell_text(params.decode(p.value, p.type))
        sections.setdefault(p.section, []).append((p.name, value, p.type, p.description))
    properties = sections.pop("properties", [])
    return {
        "sections": sections,
        "properties": properties,
        "configurations": store.get_configurations(task_id),
    }


def _console(request: Request, store: Store, task_id: str) -> dict[str, Any]:
    qp = request.query_params
    level = _int(qp.get("level"), 0)
    page = max(1, _int(qp.get("page"), 1))
    newest = qp.get("order") == "desc"
    query = EventQuery(
        LOG,
        text=qp.get("q", ""),
        min_level=level or None,
        offset=(page - 1) * CONSOLE_PAGE,
        limit=CONSOLE_PAGE,
        newest_first=newest,
    )
    found = store.event_page(task_id, query)
    pages = max(1, math.ceil(found.total / CONSOLE_PAGE))
    return {
        "console": found,
        "levels": LEVELS,
        "level": level,
        "search": query.text,
        "number": page,
        "pages": pages,
        "newest": newest,
    }


def _scalars(request: Request, store: Store, task_id: str) -> dict[str, Any]:
    charts: dict[str, list[dict[str, Any]]] = {}
    counts: dict[str, int] = {}
    for s in store.scalar_series(task_id, 2_000):
        ys = [None if not math.isfinite(v) else v for v in s.values]
        charts.setdefault(s.metric, []).append({"name": s.variant, "x": s.iters, "y": ys})
        counts[s.metric] = counts.get(s.metric, 0) + s.count
    data = [{"title": t, "traces": traces, "points": counts[t]} for t, traces in charts.items()]
    return {"charts": data}


def _tables(request: Request, store: Store, task_id: str) -> dict[str, Any]:
    qp = request.query_params
    available = store.event_series(task_id, TABLE)
    chosen = None
    if available:
        wanted = (qp.get("metric"), qp.get("variant"))
        chosen = next((s for s in available if (s.metric, s.variant) == wanted), available[0])
    table = None
    if chosen is not None:
        sort = qp.get("sort") or None
        table = views.table_view(
            store,
            task_id,
            chosen.metric,
            chosen.variant,
            max(0, _int(qp.get("report"), 0)),
            max(0, _int(qp.get("offset"), 0)),
            50,
            sort,
            qp.get("order") == "desc",
        )
    return {"available": available, "chosen": chosen, "table": table}


def _debug(request: Request, store: Store, task_id: str) -> dict[str, Any]:
    groups = []
    for s in store.event_series(task_id, MEDIA):
        query = EventQuery(MEDIA, metric=s.metric, variant=s.variant, limit=1000, newest_first=True)
        events = sorted(store.event_page(task_id, query).events, key=lambda e: (e.iter or 0, e.ts))
        samples = [_sample(task_id, e) for e in events]
        groups.append(
            {"metric": s.metric, "variant": s.variant, "count": s.count, "samples": samples}
        )
    return {"groups": groups}


def _sample(task_id: str, event: Any) -> dict[str, Any]:
    data = event.data if isinstance(event.data, dict) else {}
    mime = str(data.get("mime_type") or "application/octet-stream")
    src = None
    if data.get("uri"):
        name = str(data.get("filename") or "sample")
        src = "/api/v1/blob?" + urlencode({"uri": data["uri"], "inline": "true", "filename": name})
    url = str(data.get("url") or "")
    # Only web links become links: a reported "javascript:" URL must not be clickable.
    link = url if url.lower().startswith(("http://", "https://")) else None
    return {
        "iteration": event.iter or 0,
        "mime": mime,
        "src": src,
        "url": url,
        "link": link,
        "filename": str(data.get("filename") or ""),
    }


def _artifacts(request: Request, store: Store, task_id: str) -> dict[str, Any]:
    artifacts = []
    for a in store.get_artifacts(task_id):
        try:
            meta = json.loads(a.meta) if a.meta else {}
        except ValueError:
            meta = {}
        artifacts.append({"record": a, "meta": meta})
    return {"artifacts": artifacts, "models": store.get_models(task_id)}


def _trace(request: Request, store: Store, task_id: str) -> dict[str, Any]:
    page = max(1, _int(request.query_params.get("page"), 1))
    found = store.trace_page(task_id, (page - 1) * 20, 20)
    rows = []
    root: dict[str, Any] = {}
    for view in found.spans:
        span = view.span
        if view.depth == 0:
            root = span
        rows.append({"depth": view.depth, "span": span, "bar": _bar(root, span)})
    pages = max(1, math.ceil(found.total_roots / 20))
    from chaintrack.server.ui_feedback import trace_context

    return {"trace": found, "rows": rows, "number": page, "pages": pages,
            **trace_context(request, store, task_id)}  # fmt: skip


def _threads_tab(request: Request, store: Store, task_id: str) -> dict[str, Any]:
    from chaintrack.server.ui_threads import threads_tab

    return threads_tab(request, store, task_id)


def _bar(root: dict[str, Any], span: dict[str, Any]) -> tuple[float, float]:
    """Where a span's latency bar starts and how wide it is, in % of its root's span."""
    start, end = _float(root.get("start_time")), _float(root.get("end_time"))
    s, e = _float(span.get("start_time")), _float(span.get("end_time"))
    if None in (start, end, s, e) or end <= start:  # type: ignore[operator]
        return 0.0, 100.0
    assert start is not None and end is not None and s is not None and e is not None
    total = end - start
    left = min(100.0, max(0.0, (s - start) / total * 100))
    width = min(100.0 - left, max(0.5, (e - s) / total * 100))
    return round(left, 2), round(width, 2)


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


_TABS = {
    "info": _info,
    "execution": _execution,
    "configuration": _configuration,
    "console": _console,
    "scalars": _scalars,
    "tables": _tables,
    "plots": lambda _request, store, task_id: plots.plots_tab(store, task_id),
    "debug": _debug,
    "artifacts": _artifacts,
    "trace": _trace,
    "threads": _threads_tab,
}
