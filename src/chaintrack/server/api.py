"""The REST API (``/api/v1``): every store method, and everything the web UI shows.

``chaintrack.store.rest.RestStore`` is its client: the SDK logs to a tracking server through
the same Store interface as to the embedded store. Responses are strict JSON (see
``store/wire.py``); the schema is at ``/api/v1/openapi.json``.
"""

from __future__ import annotations

import contextlib
import mimetypes
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, BinaryIO
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse

from chaintrack._version import __version__
from chaintrack.errors import InvalidArgumentError, StoreError, StoreUnavailableError
from chaintrack.server import blobwrites, validation, views
from chaintrack.server.ingest import Ingest, QueueFullError
from chaintrack.server.security import SAMPLE_CSP, RequestTooLargeError
from chaintrack.store import redact, wire
from chaintrack.store.base import Store
from chaintrack.store.records import (
    ArtifactRecord,
    ConfigurationRecord,
    Event,
    ModelRecord,
    ParameterRecord,
    TaskQuery,
    TaskRecord,
)
from chaintrack.store.s3blobs import S3BlobStore
from chaintrack.store.views import (
    TASK_SORTS,
    EventPage,
    EventQuery,
    ProjectSummary,
    ScalarSeries,
    SeriesSummary,
    TaskPage,
    TaskPageQuery,
    TaskSummary,
    TracePage,
)

router = APIRouter(prefix="/api/v1")

Offset = Annotated[int, Query(ge=0)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Many = Annotated[list[str], Query()]
#: Files a browser may show inline (anything else is always downloaded).
_INLINE = ("image/", "audio/", "video/", "text/plain", "text/html", "text/csv", "application/json")


class WireResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return wire.dumps(content)


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


# -- the server ------------------------------------------------------------------------------


@router.get("/health", tags=["server"])
def health() -> dict[str, str]:
    """Whether the server answers (no token needed)."""
    return {"status": "ok", "version": __version__}


@router.get("/ready", tags=["server"])
def ready(request: Request) -> JSONResponse:
    """Whether the server can use its database now: 200, or 503 while it cannot (no token
    needed; for load balancers and monitoring, where /health only says the process answers)."""
    try:
        _store(request).find_tasks(TaskQuery(limit=1))
    except Exception:
        return JSONResponse(
            {"status": "unavailable", "detail": "the server's database cannot be used now"},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    return JSONResponse({"status": "ok", "version": __version__})


@router.get("/store", tags=["server"])
def store_info(request: Request) -> dict[str, str]:
    """Which store the server serves (password hidden)."""
    return {"uri": redact(_store(request).uri), "version": __version__}


@router.post("/batches", tags=["write"])
async def write_batch(request: Request) -> JSONResponse:
    """Store a write batch (JSON, optionally gzip-compressed): the SDK's reports.

    Answers once the batch is committed. Writes are idempotent: sending a batch again after a
    lost answer stores it once. 503 with ``Retry-After`` when the server's queue is full.
    """
    body = await request.body()
    limit: int = request.app.state.max_request_bytes
    if request.headers.get("content-encoding", "").lower() == "gzip":
        inflater = zlib.decompressobj(wbits=31)
        try:
            body = inflater.decompress(body, limit + 1)
        except zlib.error as exc:
            return _error(400, f"the body is not valid gzip: {exc}")
        if len(body) > limit or inflater.unconsumed_tail:
            raise RequestTooLargeError(limit, "CHAINTRACK_SERVER_MAX_REQUEST_MB")
    batch = wire.batch_in(body)
    validation.check_batch(batch)
    known = _known_tasks(request)
    await run_in_threadpool(known.check, batch)
    ingest: Ingest = request.app.state.ingest
    try:
        await ingest.submit(batch)
    except QueueFullError as exc:
        return _error(503, f"the server is busy ({exc}); retry shortly", {"Retry-After": "1"})
    known.stored(batch)
    return JSONResponse({"items": len(batch)})


def _known_tasks(request: Request) -> validation.KnownTasks:
    state = request.app.state
    known: validation.KnownTasks | None = getattr(state, "known_tasks", None)
    if known is None:
        known = state.known_tasks = validation.KnownTasks(_store(request))
    return known


@router.put("/blobs/{key:path}", tags=["write"])
async def put_blob(key: str, request: Request) -> Any:
    """Store a file (an artifact, a model's weights, a debug sample) under ``key``.

    Keys are written once: the same bytes again are accepted, other bytes get 409."""
    store = _store(request)
    with tempfile.NamedTemporaryFile(prefix="chaintrack-upload-", delete=False) as tmp:
        try:
            async for chunk in request.stream():
                tmp.write(chunk)
            tmp.close()
            # A copy to a folder or an upload to S3: either may take a while, so not on the
            # event loop (a failure to reach S3 is a 503, which the SDK retries).
            uri = await run_in_threadpool(blobwrites.put_once, store.blobs, key, Path(tmp.name))
        except blobwrites.BlobExistsError as exc:
            return _error(409, str(exc))
        finally:
            Path(tmp.name).unlink(missing_ok=True)
    return {"uri": uri}


@router.get("/blob", tags=["files"])
def get_blob(
    request: Request, uri: str, inline: bool = False, filename: str | None = None
) -> Response:
    """A stored file by its URI (``file://…`` inside the server's folder, ``s3://…`` inside its
    bucket and prefix, or ``blob:key``). Files in S3 are streamed through the server.

    With ``inline=true`` images, text and HTML are shown rather than downloaded, always under a
    sandboxing Content-Security-Policy (a debug sample's scripts never run).
    """
    blobs = _store(request).blobs
    try:
        if isinstance(blobs, S3BlobStore):
            body, size = blobs.open_sized(uri)
            shown = filename or PurePosixPath(uri).name or "blob"
            return _stream(body, size, shown, inline)
        path = blobs.local_path(uri)
    except InvalidArgumentError as exc:
        return _error(400, str(exc))
    except StoreUnavailableError as exc:
        return _error(503, str(exc), {"Retry-After": "5"})
    except StoreError as exc:
        return _error(404, str(exc))
    if not path.is_file():
        return _error(404, f"blob {uri!r} is not a file")
    return _file(path, filename or path.name, inline)


def _shown_as(filename: str, inline: bool) -> tuple[str, bool]:
    """The media type a file is served with, and whether a browser may show it inline."""
    mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    shown = inline and mime.startswith(_INLINE)
    if mime.startswith("text/") or mime == "application/json":
        mime += "; charset=utf-8"
    return (mime if shown else "application/octet-stream"), shown


_SAMPLE_HEADERS = {"Content-Security-Policy": SAMPLE_CSP, "X-Frame-Options": "SAMEORIGIN"}


def _file(path: Path, filename: str, inline: bool) -> FileResponse:
    mime, shown = _shown_as(filename, inline)
    return FileResponse(
        path,
        media_type=mime,
        filename=filename,
        content_disposition_type="inline" if shown else "attachment",
        headers=_SAMPLE_HEADERS,
    )


def _stream(body: BinaryIO, size: int, filename: str, inline: bool) -> StreamingResponse:
    """A remote blob's bytes, passed on as they arrive (the file never lands on disk)."""
    mime, shown = _shown_as(filename, inline)

    def chunks() -> Iterator[bytes]:
        with contextlib.closing(body):
            yield from iter(lambda: body.read(1 << 20), b"")

    quoted = quote(filename)
    disposition = "inline" if shown else "attachment"
    if quoted != filename:
        disposition += f"; filename*=utf-8''{quoted}"
    else:
        disposition += f'; filename="{filename}"'
    headers = {**_SAMPLE_HEADERS, "Content-Length": str(size), "Content-Disposition": disposition}
    return StreamingResponse(chunks(), media_type=mime, headers=headers)


# -- tasks -----------------------------------------------------------------------------------


@router.get("/projects", response_model=list[ProjectSummary], tags=["tasks"])
def projects(request: Request) -> Response:
    """Every project with tasks, with its number of tasks per status."""
    return WireResponse(_store(request).list_projects())


@router.get("/tasks", response_model=TaskPage, tags=["tasks"])
def task_page(
    request: Request,
    project: str | None = None,
    subprojects: bool = False,
    status: Many = [],  # noqa: B006 - FastAPI copies defaults
    tag: Many = [],  # noqa: B006
    q: str = "",
    sort: Annotated[str, Query(description=f"one of {', '.join(TASK_SORTS)}")] = "created",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    offset: Offset = 0,
    limit: Limit = 50,
) -> Response:
    """A page of the tasks table, with each task's LLM calls, tokens and errors."""
    query = TaskPageQuery(
        project, subprojects, tuple(status), tuple(tag), q, sort, order == "desc", offset, limit
    )
    return WireResponse(_store(request).task_page(query))


@router.get("/tasks/search", response_model=list[TaskRecord], tags=["tasks"])
def find_tasks(
    request: Request,
    project: str | None = None,
    name: str | None = None,
    tag: Many = [],  # noqa: B006
    status: Many = [],  # noqa: B006
    limit: Annotated[int | None, Query(ge=1)] = None,
    subprojects: bool = False,
) -> Response:
    """Tasks matching every filter, newest first (the SDK's ``Task.get_tasks``)."""
    query = TaskQuery(project, name, tuple(tag), tuple(status), limit, subprojects)
    return WireResponse(_store(request).find_tasks(query))


@router.get("/tasks/{task_id}", response_model=TaskRecord, tags=["tasks"])
def get_task(request: Request, task_id: str) -> Response:
    """A task's own fields (404 for an unknown id)."""
    return WireResponse(_store(request).get_task(task_id))


@router.post("/tasks/{task_id}/reset", tags=["write"])
def reset_task(request: Request, task_id: str) -> dict[str, str]:
    """Delete what the task reported, keeping the task (``reuse_last_task_id``)."""
    _store(request).reset_task(task_id)
    return {"status": "reset"}


@router.get("/tasks/{task_id}/summary", response_model=TaskSummary, tags=["tasks"])
def task_summary(request: Request, task_id: str) -> Response:
    """The task's span totals (LLM calls, tokens, errors) and its number of events per kind."""
    store = _store(request)
    store.get_task(task_id)
    return WireResponse(store.task_summary(task_id))


@router.get("/tasks/{task_id}/parameters", response_model=list[ParameterRecord], tags=["tasks"])
def parameters(request: Request, task_id: str) -> Response:
    """Hyperparameters by section (user properties are section ``properties``)."""
    return WireResponse(_store(request).get_parameters(task_id))


@router.get(
    "/tasks/{task_id}/configurations", response_model=list[ConfigurationRecord], tags=["tasks"]
)
def configurations(request: Request, task_id: str) -> Response:
    """Configuration objects."""
    return WireResponse(_store(request).get_configurations(task_id))


@router.get("/tasks/{task_id}/artifacts", response_model=list[ArtifactRecord], tags=["tasks"])
def artifacts(request: Request, task_id: str) -> Response:
    return WireResponse(_store(request).get_artifacts(task_id))


@router.get("/tasks/{task_id}/models", response_model=list[ModelRecord], tags=["tasks"])
def models(request: Request, task_id: str) -> Response:
    return WireResponse(_store(request).get_models(task_id))


@router.get("/tasks/{task_id}/artifact", tags=["files"])
def artifact_file(request: Request, task_id: str, name: str) -> Response:
    """Download an artifact's file."""
    store = _store(request)
    found = [a for a in store.get_artifacts(task_id) if a.name == name]
    if not found:
        return _error(404, f"task {task_id} has no artifact {name!r}")
    return get_blob(request, found[0].uri, filename=Path(found[0].uri).name)


@router.get("/tasks/{task_id}/models/{model_id}/file", tags=["files"])
def model_file(request: Request, task_id: str, model_id: str) -> Response:
    """Download a model's weights file."""
    found = [m for m in _store(request).get_models(task_id) if m.id == model_id and m.uri]
    if not found:
        return _error(404, f"task {task_id} has no model file {model_id!r}")
    return get_blob(request, found[0].uri, filename=Path(found[0].uri).name)


# -- events ----------------------------------------------------------------------------------


@router.get("/tasks/{task_id}/events", response_model=list[Event], tags=["events"])
def events(
    request: Request,
    task_id: str,
    kind: str,
    metric: str | None = None,
    variant: str | None = None,
) -> Response:
    """Every event of one kind, in the order reported (the SDK's reads; pages: below)."""
    return WireResponse(_store(request).get_events(task_id, kind, metric, variant))


@router.get("/tasks/{task_id}/events/page", response_model=EventPage, tags=["events"])
def event_page(
    request: Request,
    task_id: str,
    kind: str,
    metric: str | None = None,
    variant: str | None = None,
    iteration: int | None = None,
    q: str = "",
    min_level: int | None = None,
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
    offset: Offset = 0,
    limit: Limit = 100,
) -> Response:
    """A page of one kind of events: ``log`` (console; ``q`` searches, ``min_level`` filters),
    ``scalar``, ``table``, ``media`` (debug samples), ``plot``, ``span``."""
    query = EventQuery(
        kind, metric, variant, iteration, q, min_level, offset, limit, order == "desc"
    )
    return WireResponse(_store(request).event_page(task_id, query))


@router.get("/tasks/{task_id}/series", response_model=list[SeriesSummary], tags=["events"])
def series(request: Request, task_id: str, kind: str) -> Response:
    """Each (metric, variant) of one kind of events: titles and series of scalars, tables…"""
    return WireResponse(_store(request).event_series(task_id, kind))


@router.get("/tasks/{task_id}/scalars", response_model=list[ScalarSeries], tags=["events"])
def scalars(
    request: Request, task_id: str, max_points: Annotated[int, Query(ge=2, le=100_000)] = 2_000
) -> Response:
    """Every scalar series ordered by iteration, evenly thinned to ``max_points``."""
    return WireResponse(_store(request).scalar_series(task_id, max_points))


@router.get("/tasks/{task_id}/trace", response_model=TracePage, tags=["events"])
def trace(
    request: Request,
    task_id: str,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> Response:
    """Root spans of the LLM run tree (by start time) with their descendants, depth first."""
    return WireResponse(_store(request).trace_page(task_id, offset, limit))


@router.get("/tasks/{task_id}/table", response_model=views.TableView, tags=["events"])
def table(
    request: Request,
    task_id: str,
    metric: str,
    variant: str,
    report: Annotated[int, Query(ge=0)] = 0,
    sort: str | None = None,
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
    offset: Offset = 0,
    limit: Limit = 50,
) -> Response:
    """A page of rows of a reported table (``report`` 0 is the newest report), sortable."""
    view = views.table_view(
        _store(request), task_id, metric, variant, report, offset, limit, sort, order == "desc"
    )
    return WireResponse(view)


@router.get("/tasks/{task_id}/table.csv", tags=["files"])
def table_csv(
    request: Request,
    task_id: str,
    metric: str,
    variant: str,
    report: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """A reported table as a CSV file."""
    text = views.table_csv(_store(request), task_id, metric, variant, report)
    name = f"{metric}-{variant}.csv".replace('"', "")
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": _attachment(name)},
    )


@router.get("/tasks/{task_id}/console.txt", tags=["files"])
def console_text(request: Request, task_id: str) -> StreamingResponse:
    """The whole console as a text file."""
    store = _store(request)
    store.get_task(task_id)
    return StreamingResponse(
        views.console_lines(store, task_id),
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": _attachment(f"{task_id}-console.txt")},
    )


@router.get("/compare", response_model=views.CompareView, tags=["tasks"])
def compare(request: Request, ids: Many) -> Response:
    """Two to 100 tasks side by side: parameters (with ``identical``), scalars, and the
    Session Analysis tables."""
    return WireResponse(views.compare_view(_store(request), views.task_ids(ids)))


def _attachment(filename: str) -> str:
    from urllib.parse import quote

    ascii_name = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def _error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)
