"""The app factory: one FastAPI app serves the web UI and the REST API over one store.

``chaintrack ui`` serves the embedded store; ``chaintrack server`` serves any SQL store to remote
SDK clients as well (``CHAINTRACK_TRACKING_URI=http://host:port``). See ``docs/server.md``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from chaintrack import config
from chaintrack._version import __version__
from chaintrack.errors import (
    DatasetNotFoundError,
    InvalidArgumentError,
    StoreError,
    StoreUnavailableError,
    TaskNotFoundError,
    missing_dependency,
)

try:
    from fastapi import FastAPI, Request
    from fastapi.responses import FileResponse, JSONResponse, Response
    from fastapi.staticfiles import StaticFiles
except ModuleNotFoundError as exc:  # pragma: no cover - the [server] extra is missing
    raise missing_dependency(exc.name or "fastapi", "server", "The web UI and server") from None

from sqlalchemy.exc import OperationalError

from chaintrack.server import (
    api,
    api_eval,
    api_extras,
    api_threads,
    export_routes,
    otlp,
    search_routes,
    ui,
    ui_eval,
    ui_feedback,
    ui_threads,
)
from chaintrack.server.indexer import Indexer
from chaintrack.server.ingest import Ingest
from chaintrack.server.security import Gate
from chaintrack.server.sweeper import Sweeper
from chaintrack.store.base import Store

log = logging.getLogger("chaintrack.server")
STATIC = Path(__file__).with_name("static")


def plotly_js() -> Path:
    """plotly.js as the ``plotly`` Python package ships it (no CDN, no Node build)."""
    try:
        import plotly
    except ModuleNotFoundError as exc:  # pragma: no cover - part of the [server] extra
        raise missing_dependency("plotly", "server", "The web UI's charts") from exc
    return Path(plotly.__file__).with_name("package_data") / "plotly.min.js"


def create_app(
    store: Store,
    *,
    auth_token: str | None = None,
    max_request_bytes: int | None = None,
    max_upload_bytes: int | None = None,
    ingest_queue: int | None = None,
    close_store: bool = False,
) -> Any:
    """The web UI and the REST API over ``store``. Unset limits come from the settings
    (``CHAINTRACK_SERVER_*``); ``close_store`` closes the store when the app stops."""
    ingest = Ingest(store, ingest_queue or config.server_ingest_queue())

    sweeper = Sweeper(store)
    indexer = Indexer(store, lambda: ingest.written)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        sweeper.start()
        indexer.start()
        async with otlp.grpc_serving(_app):
            yield
        indexer.stop()
        sweeper.stop()
        ingest.close()
        if close_store:
            store.close()

    app = FastAPI(
        title="chaintrack",
        version=__version__,
        description="The REST API of a chaintrack tracking server (docs/server.md).",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # Swagger UI and ReDoc load scripts from a CDN
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.ingest = ingest
    app.state.auth_token = auth_token
    app.state.max_request_bytes = max_request_bytes or config.server_max_request_bytes()
    plotly_path = plotly_js()

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_route() -> FileResponse:
        return FileResponse(
            plotly_path,
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(api.router)
    app.include_router(api_eval.router)
    app.include_router(ui_eval.router)
    app.include_router(api_extras.router)
    app.include_router(api_threads.router)
    app.include_router(ui_feedback.router)
    app.include_router(ui_threads.router)
    app.include_router(search_routes.api)
    app.include_router(search_routes.pages)
    app.include_router(export_routes.router)
    app.include_router(ui.router)
    otlp.install(app)
    app.add_exception_handler(TaskNotFoundError, _handler(404))
    app.add_exception_handler(DatasetNotFoundError, _handler(404))
    app.add_exception_handler(InvalidArgumentError, _handler(400))
    app.add_exception_handler(StoreError, _handler(500))
    # S3 (or another service the store uses) unreachable for now: clients retry a 503.
    app.add_exception_handler(StoreUnavailableError, _handler(503))
    # The database cannot be reached for now (restarted, failing over, out of connections): a
    # 503 makes clients keep their events and retry, where a 500 would make them give up.
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_middleware(
        Gate,
        token=auth_token,
        max_request_bytes=app.state.max_request_bytes,
        max_upload_bytes=max_upload_bytes or config.server_max_upload_bytes(),
    )
    return app


def _handler(status: int) -> Any:
    async def handle(request: Request, exc: Exception) -> Response:
        if status >= 500:
            log.error("chaintrack server: %s %s failed: %s", request.method, request.url.path, exc)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": str(exc)}, status_code=status)
        return ui.error_page(request, status, str(exc))

    return handle


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    log.error("chaintrack server: %s %s: the database cannot be used: %s",
              request.method, request.url.path, exc)  # fmt: skip
    detail = "the server's database cannot be used for now; retry shortly"
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "2"})
    return ui.error_page(request, 503, detail)


def open_server_store(store_uri: str | None = None, artifacts: str | None = None) -> Store:
    """The SQL store a server serves, with its files at ``artifacts``: a folder, a file:// URI
    or s3://bucket/prefix (checked now: a server never starts with a bucket it cannot use)."""
    from chaintrack.store.blob_locations import open_blob_store
    from chaintrack.store.sql import SqlStore

    uri = store_uri or config.tracking_uri()
    if not uri.split(":", 1)[0].lower().startswith(("sqlite", "postgresql")):
        raise InvalidArgumentError(
            f"--store {uri!r}: a server serves a database (sqlite:///path/to/tasks.db or "
            "postgresql://user:password@host/db), not another server"
        )
    return SqlStore(uri, blobs=open_blob_store(artifacts or config.server_artifacts()))


def app_from_environment() -> Any:
    """The app of ``chaintrack server`` in a uvicorn worker process: the store, its files and
    the token come from CHAINTRACK_TRACKING_URI, CHAINTRACK_SERVER_ARTIFACTS and
    CHAINTRACK_AUTH_TOKEN (the command sets them from its options)."""
    store = open_server_store()
    return create_app(store, auth_token=config.auth_token(), close_store=True)
