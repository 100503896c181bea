"""Span search, dashboards and saved searches: the REST API (``/api/v1/spans``,
``/api/v1/stats``, ``/api/v1/saved-searches``) and the web UI's pages (``/search``,
``/dashboard``). A bad query answers 400 with the position and the fields allowed."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection, and_, delete, exists, func, or_, select

from chaintrack.errors import InvalidArgumentError, invalid
from chaintrack.query import search, stats
from chaintrack.query.nodes import QueryError
from chaintrack.store.schema import saved_searches
from chaintrack.store.schema import spans as span_table

api = APIRouter(prefix="/api/v1", tags=["search"])
pages = APIRouter(include_in_schema=False)
UI_PAGE = 50
RANGES = ("24h", "7d", "30d", "90d")


@contextlib.contextmanager
def _read(request: Request) -> Iterator[Connection]:
    engine = getattr(request.app.state.store, "_read_engine", None)
    if engine is None:  # pragma: no cover - a server always serves a database
        raise InvalidArgumentError("span search needs a database store")
    with engine.connect() as conn:
        yield conn


@contextlib.contextmanager
def _write(request: Request) -> Iterator[Connection]:
    engine = request.app.state.store._write_engine
    with engine.begin() as conn:
        yield conn


def _page_dict(page: search.SpanPage) -> dict[str, Any]:
    return {"query": page.query, "offset": page.offset, "limit": page.limit,
            "sort": page.sort, "rows": page.rows, "has_more": page.has_more}  # fmt: skip


@api.get("/spans")
def spans(
    request: Request,
    q: str = "",
    project: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=search.MAX_PAGE)] = 50,
    sort: str = "-start_time",
) -> dict[str, Any]:
    """The spans matching the query ``q`` (docs/search.md), newest first by default."""
    with _read(request) as conn:
        page = search.search_page(conn, q, project=project or None, offset=offset, limit=limit,
                                  sort=sort)  # fmt: skip
    return _page_dict(page)


@api.get("/stats")
def project_stats(
    request: Request,
    project: str | None = None,
    range: str | None = None,
    start: float | None = None,
    end: float | None = None,
) -> dict[str, Any]:
    """A project's dashboard (every project without ``project``)."""
    begin, finish = stats.parse_range(range, start, end)
    with _read(request) as conn:
        return stats.project_stats(conn, project or None, begin, finish)


def list_saved(conn: Connection, project: str) -> list[dict[str, Any]]:
    stmt = (select(saved_searches).where(saved_searches.c.project == project)
            .order_by(saved_searches.c.name))  # fmt: skip
    return [dict(r) for r in conn.execute(stmt).mappings()]


def save_search(conn: Connection, project: str, name: str, query: str) -> None:
    from chaintrack.query.parser import parse

    name = name.strip()
    if not name or len(name) > 256:
        raise invalid("name", name, "a saved search has a name of 1 to 256 characters")
    parse(query)  # only queries that parse are saved
    conn.execute(delete(saved_searches).where(saved_searches.c.project == project,
                                              saved_searches.c.name == name))  # fmt: skip
    conn.execute(saved_searches.insert().values(project=project, name=name, query=query,
                                                created=time.time()))  # fmt: skip


@api.get("/saved-searches")
def saved(request: Request, project: str = "") -> list[dict[str, Any]]:
    """The searches saved in a project ('' : across projects)."""
    with _read(request) as conn:
        return list_saved(conn, project)


@api.post("/saved-searches")
async def save(request: Request) -> dict[str, str]:
    try:
        body = json.loads(await request.body())
    except (ValueError, RecursionError):
        body = None
    if not isinstance(body, dict):
        raise invalid("body", "…", 'a JSON object {"project": …, "name": …, "query": …}')
    project, name, query = (str(body.get(k) or "") for k in ("project", "name", "query"))
    for field, value, limit in (("project", project, 512), ("query", query, 10_000)):
        if len(value) > limit or "\x00" in value:
            raise invalid(field, value[:80], f"text of at most {limit} characters, without NUL")
    if "\x00" in name:
        raise invalid("name", name[:80], "a name without NUL characters")
    with _write(request) as conn:
        save_search(conn, project, name, query)
    return {"status": "saved"}


@api.delete("/saved-searches")
def forget(request: Request, name: str, project: str = "") -> dict[str, str]:
    with _write(request) as conn:
        conn.execute(delete(saved_searches).where(saved_searches.c.project == project,
                                                  saved_searches.c.name == name))  # fmt: skip
    return {"status": "deleted"}


# -- pages -------------------------------------------------------------------------------------


@pages.get("/search")
def search_page(
    request: Request, q: str = "", project: str = "", offset: Annotated[int, Query(ge=0)] = 0
) -> Response:
    from chaintrack.server import ui

    error: QueryError | None = None
    page = None
    with _read(request) as conn:
        if q:
            try:
                page = search.search_page(conn, q, project=project or None, offset=offset,
                                          limit=UI_PAGE)  # fmt: skip
            except QueryError as exc:
                error = exc
        saved_list = list_saved(conn, project)
    return ui.render(request, "search.html", status=400 if error else 200, q=q,
                     project=project, page=page, error=error, saved=saved_list,
                     fields=search.RESULT_COLUMNS)  # fmt: skip


@pages.post("/search/save")
async def save_from_page(request: Request) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    project, name, query = ((form.get(k) or [""])[0] for k in ("project", "name", "q"))
    with _write(request) as conn:
        save_search(conn, project, name, query)
    return RedirectResponse("/search?" + urlencode({"q": query, "project": project}),
                            status_code=303)  # fmt: skip


@pages.post("/search/delete")
async def delete_from_page(request: Request) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    project, name, query = ((form.get(k) or [""])[0] for k in ("project", "name", "q"))
    with _write(request) as conn:
        conn.execute(delete(saved_searches).where(saved_searches.c.project == project,
                                                  saved_searches.c.name == name))  # fmt: skip
    return RedirectResponse("/search?" + urlencode({"q": query, "project": project}),
                            status_code=303)  # fmt: skip


#: Root spans per page of the Trace tab (server/ui.py).
TRACE_PAGE = 20
#: Parents followed up from a span to its root (deeper trees link to the first page).
_MAX_DEPTH = 200


def trace_page_of(conn: Connection, task_id: str, span_id: str) -> int:
    """The page of the task's Trace tab that shows ``span_id`` (its root's page)."""
    t = span_table.c
    root = None
    current: str | None = span_id
    for _ in range(_MAX_DEPTH):
        stmt = select(t.span_id, t.parent_id, t.start_time).where(
            t.task_id == task_id, t.span_id == current
        )
        row = conn.execute(stmt).first()
        if row is None:
            break
        root, current = row, row.parent_id
        if current is None:
            break
    if root is None:
        return 1
    # The Trace tab's roots: spans without a parent, or whose parent is not stored.
    parent = span_table.alias("parent")
    orphan = ~exists().where(parent.c.task_id == t.task_id, parent.c.span_id == t.parent_id)
    before = or_(
        t.start_time < root.start_time,
        and_(t.start_time == root.start_time, t.span_id < root.span_id),
    )
    count = select(func.count()).where(
        t.task_id == task_id, or_(t.parent_id.is_(None), orphan), before
    )
    return int(conn.execute(count).scalar_one()) // TRACE_PAGE + 1


@pages.get("/search/trace")
def trace_of_result(request: Request, task: str, span: str) -> Response:
    """A search result's link: the Trace tab's page that shows the span, scrolled to it."""
    with _read(request) as conn:
        page = trace_page_of(conn, task, span)
    target = f"/tasks/{quote(task, safe='')}?{urlencode({'tab': 'trace', 'page': page})}"
    return RedirectResponse(f"{target}#span-{quote(span, safe='')}", status_code=303)


@pages.get("/dashboard")
def dashboard_page(
    request: Request,
    project: str = "",
    range: str = "7d",
) -> Response:
    from chaintrack.server import ui

    begin, finish = stats.parse_range(range)
    with _read(request) as conn:
        data = stats.project_stats(conn, project or None, begin, finish)
    return ui.render(request, "dashboard.html", project=project, range=range, ranges=RANGES,
                     stats=data)  # fmt: skip
