"""The HTTP store: a tracking server's REST API behind the same Store interface.

``CHAINTRACK_TRACKING_URI=http://host:port`` (or ``https://``) makes the SDK log here. Write
batches travel as gzip-compressed JSON; every request is retried with backoff on connection
errors and on 502/503/504 (honouring ``Retry-After``). When the server stays unreachable, a write
raises :class:`~chaintrack.errors.StoreUnavailableError`: the background writer then keeps the
events (new ones in its spool file on disk) and sends them when the server is back. Writes are
idempotent on the server, so a batch sent twice (an answer lost on the way back) is stored once.

A token comes from ``CHAINTRACK_AUTH_TOKEN`` or the URI itself (``http://TOKEN@host:port``).
"""

from __future__ import annotations

import contextlib
import gzip
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO
from urllib.parse import quote, urlsplit, urlunsplit

from chaintrack import config
from chaintrack._version import __version__
from chaintrack.errors import (
    StoreError,
    StoreUnavailableError,
    TaskNotFoundError,
    missing_dependency,
)
from chaintrack.store import wire
from chaintrack.store.blobs import BLOB_SCHEME, cached_copy, key_parts
from chaintrack.store.evalrest import EvalRestMixin
from chaintrack.store.records import (
    ArtifactRecord,
    ConfigurationRecord,
    Event,
    ModelRecord,
    ParameterRecord,
    TaskQuery,
    TaskRecord,
    WriteBatch,
)
from chaintrack.store.rest_extras import RestExtrasMixin
from chaintrack.store.rest_threads import RestThreadsMixin
from chaintrack.store.views import (
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

#: Attempts of one request before the server counts as unreachable (the writer then waits).
ATTEMPTS = 4
#: Events per request: a batch of the writer is sent in parts of this many events.
EVENTS_PER_REQUEST = 10_000
_RETRY_STATUS = frozenset({429, 502, 503, 504})
_MAX_RETRY_AFTER = 10.0


def _split_token(uri: str) -> tuple[str, str | None]:
    """The base URL without user info, and the token the user info carries (if any)."""
    parts = urlsplit(uri.rstrip("/"))
    if "@" not in parts.netloc:
        return urlunsplit(parts), None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=host)), password or user or None


class RestBlobStore:
    """Files on the tracking server. URIs are ``blob:<key>``: the server resolves them in its
    own folder. Reading a blob downloads it once into ``CHAINTRACK_HOME/cache/blobs``."""

    def __init__(self, store: RestStore) -> None:
        self._store = store

    def uri_for(self, key: str) -> str:
        return BLOB_SCHEME + str(PurePosixPath(*key_parts(key)))

    def put_bytes(self, key: str, data: bytes) -> str:
        uri = self.uri_for(key)
        self._store.request("PUT", "/blobs/" + quote(uri[len(BLOB_SCHEME) :]), content=data)
        return uri

    def put_file(self, key: str, path: Path) -> str:
        uri = self.uri_for(key)

        def chunks() -> Iterator[bytes]:  # read again on each attempt
            with path.open("rb") as f:
                yield from iter(lambda: f.read(1 << 20), b"")

        self._store.request("PUT", "/blobs/" + quote(uri[len(BLOB_SCHEME) :]), content=chunks)
        return uri

    def local_path(self, uri: str) -> Path:
        def fill(f: BinaryIO) -> None:
            f.write(self._store.request("GET", "/blob", params={"uri": uri}).content)

        name = PurePosixPath(urlsplit(uri).path).name
        return cached_copy(f"{self._store.uri}\n{uri}", name, fill)

    def open(self, uri: str) -> BinaryIO:
        return self.local_path(uri).open("rb")


class RestStore(EvalRestMixin, RestExtrasMixin, RestThreadsMixin):
    """A tracking server's store (see the module docstring). No request is made until the
    store is used: the server may come up after the application started."""

    def __init__(self, uri: str, token: str | None = None, client: Any = None) -> None:
        self.uri = uri
        self._base, uri_token = _split_token(uri)
        self.display_uri = self._base
        self._token = token or uri_token or config.auth_token()
        self._client = client
        self._client_lock = threading.Lock()
        self.blobs = RestBlobStore(self)

    # -- plumbing --------------------------------------------------------------------------

    def _http(self) -> Any:
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    try:
                        import httpx
                    except ModuleNotFoundError as exc:
                        raise missing_dependency(
                            exc.name or "httpx", "server", f"The tracking URI {self._base}"
                        ) from None
                    headers = {"User-Agent": f"chaintrack/{__version__}"}
                    if self._token:
                        headers["Authorization"] = f"Bearer {self._token}"
                    self._client = httpx.Client(
                        base_url=self._base, headers=headers, timeout=config.http_timeout()
                    )
        return self._client

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        content: bytes | Callable[[], Iterator[bytes]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Send a request to ``/api/v1<path>``; retry while the server is unreachable or busy.

        Raises StoreUnavailableError after ATTEMPTS tries, TaskNotFoundError for an unknown task
        and StoreError (with the server's reason) for a request the server refused.
        """
        import httpx

        client = self._http()
        problem = ""
        for attempt in range(ATTEMPTS):
            body = content() if callable(content) else content
            try:
                response = client.request(method, "/api/v1" + path, params=params,
                                          content=body, headers=headers)  # fmt: skip
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                wait = 0.25 * 2**attempt
            else:
                if response.status_code < 400:
                    return response
                if response.status_code not in _RETRY_STATUS:
                    raise self._refused(response)
                problem = f"HTTP {response.status_code} {_detail(response)}"
                wait = _retry_after(response, 0.25 * 2**attempt)
            if attempt < ATTEMPTS - 1:
                time.sleep(wait)
        raise StoreUnavailableError(
            f"the tracking server at {self._base} is unreachable ({problem}); check that "
            "`chaintrack server` runs there and that CHAINTRACK_TRACKING_URI names it"
        )

    def _refused(self, response: Any) -> Exception:
        detail = _detail(response)
        if response.status_code == 401:
            return StoreError(
                f"the tracking server at {self._base} needs its auth token: set "
                "CHAINTRACK_AUTH_TOKEN to the token it was started with"
            )
        if response.status_code == 404 and detail.startswith("no task with id"):
            return TaskNotFoundError(detail)
        return StoreError(
            f"the tracking server at {self._base} refused {response.request.method} "
            f"{response.request.url.path}: HTTP {response.status_code}: {detail}"
        )

    def _get(self, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v not in (None, "", [])}
        return self.request("GET", path, params=clean).json()

    def after_fork(self) -> None:
        """A forked child makes its own connections (a pool must not be shared)."""
        self._client = None
        self._client_lock = threading.Lock()

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None

    # -- writing ---------------------------------------------------------------------------

    def write(self, batch: WriteBatch) -> None:
        events = batch.events
        first = WriteBatch(
            new_tasks=batch.new_tasks, task_updates=batch.task_updates,
            parameters=batch.parameters, configurations=batch.configurations,
            events=events[:EVENTS_PER_REQUEST], artifacts=batch.artifacts, models=batch.models,
        )  # fmt: skip
        self._send(first)
        for start in range(EVENTS_PER_REQUEST, len(events), EVENTS_PER_REQUEST):
            self._send(WriteBatch(events=events[start : start + EVENTS_PER_REQUEST]))

    def _send(self, batch: WriteBatch) -> None:
        body = gzip.compress(wire.batch_out(batch), compresslevel=1)
        self.request("POST", "/batches", content=body, headers={
            "Content-Type": "application/json", "Content-Encoding": "gzip"})  # fmt: skip

    def reset_task(self, task_id: str) -> None:
        self.request("POST", f"/tasks/{quote(task_id, safe='')}/reset")

    # -- reading ---------------------------------------------------------------------------

    def _task_path(self, task_id: str, rest: str = "") -> str:
        return f"/tasks/{quote(task_id, safe='')}{rest}"

    def get_task(self, task_id: str) -> TaskRecord:
        return wire.task_in(self._get(self._task_path(task_id)))

    def find_tasks(self, query: TaskQuery) -> list[TaskRecord]:
        found = self._get("/tasks/search", project=query.project, name=query.name,
                          tag=list(query.tags), status=list(query.status), limit=query.limit,
                          subprojects=query.include_subprojects or None)  # fmt: skip
        return [wire.task_in(t) for t in found]

    def get_parameters(self, task_id: str) -> list[ParameterRecord]:
        return [ParameterRecord(**p) for p in self._get(self._task_path(task_id, "/parameters"))]

    def get_configurations(self, task_id: str) -> list[ConfigurationRecord]:
        found = self._get(self._task_path(task_id, "/configurations"))
        return [ConfigurationRecord(**c) for c in found]

    def get_events(
        self, task_id: str, kind: str, metric: str | None = None, variant: str | None = None
    ) -> list[Event]:
        found = self._get(self._task_path(task_id, "/events"), kind=kind, metric=metric,
                          variant=variant)  # fmt: skip
        return [wire.event_in(e) for e in found]

    def get_artifacts(self, task_id: str) -> list[ArtifactRecord]:
        return [ArtifactRecord(**a) for a in self._get(self._task_path(task_id, "/artifacts"))]

    def get_models(self, task_id: str) -> list[ModelRecord]:
        return [ModelRecord(**m) for m in self._get(self._task_path(task_id, "/models"))]

    def list_projects(self) -> list[ProjectSummary]:
        return wire.projects_in(self._get("/projects"))

    def task_page(self, query: TaskPageQuery) -> TaskPage:
        return wire.task_page_in(self._get(
            "/tasks", project=query.project, subprojects=query.include_subprojects or None,
            status=list(query.status), tag=list(query.tags), q=query.text, sort=query.sort,
            order="desc" if query.descending else "asc", offset=query.offset,
            limit=query.limit,
        ))  # fmt: skip

    def task_summary(self, task_id: str) -> TaskSummary:
        return wire.summary_in(self._get(self._task_path(task_id, "/summary")))

    def event_page(self, task_id: str, query: EventQuery) -> EventPage:
        return wire.event_page_in(self._get(
            self._task_path(task_id, "/events/page"), kind=query.kind, metric=query.metric,
            variant=query.variant, iteration=query.iteration, q=query.text,
            min_level=query.min_level, order="desc" if query.newest_first else "asc",
            offset=query.offset, limit=query.limit,
        ))  # fmt: skip

    def event_series(self, task_id: str, kind: str) -> list[SeriesSummary]:
        return wire.series_in(self._get(self._task_path(task_id, "/series"), kind=kind))

    def scalar_series(self, task_id: str, max_points: int = 2_000) -> list[ScalarSeries]:
        found = self._get(self._task_path(task_id, "/scalars"), max_points=max_points)
        return wire.scalars_in(found)

    def trace_page(self, task_id: str, offset: int = 0, limit: int = 20) -> TracePage:
        found = self._get(self._task_path(task_id, "/trace"), offset=offset, limit=limit)
        return wire.trace_in(found)


def _detail(response: Any) -> str:
    try:
        detail = response.json().get("detail", "")
    except Exception:
        detail = response.text[:200]
    return detail if isinstance(detail, str) else str(detail)[:500]


def _retry_after(response: Any, default: float) -> float:
    try:
        return min(_MAX_RETRY_AFTER, max(0.0, float(response.headers.get("retry-after", ""))))
    except ValueError:
        return default
