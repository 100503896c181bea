"""The SDK's face of span search, dashboards and export: ``chaintrack.search_spans``,
``chaintrack.project_stats`` and ``chaintrack.export``, on the store of
CHAINTRACK_TRACKING_URI (a database, or a tracking server through its REST API)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from chaintrack.errors import InvalidArgumentError, StoreError
from chaintrack.query import export as exporting
from chaintrack.query import search, stats
from chaintrack.store import open_store
from chaintrack.store.base import Store

#: Seconds to wait for the next bytes of a streamed export (a server scanning for the rows of a
#: selective query may be silent for a while).
_STREAM_TIMEOUT = 300.0


@contextlib.contextmanager
def _connection(store: Store) -> Iterator[Connection | None]:
    engine = getattr(store, "_read_engine", None)
    if engine is None:
        yield None
        return
    with engine.connect() as conn:
        yield conn


def _remote(store: Store, path: str, **params: Any) -> Any:
    try:
        return store._get(path, **params)  # type: ignore[attr-defined]
    except StoreError as exc:
        if "HTTP 400" in str(exc):
            raise InvalidArgumentError(str(exc).split("HTTP 400: ", 1)[-1]) from None
        raise


def _frame(rows: list[dict[str, Any]]) -> Any:
    import pandas as pd

    frame = pd.DataFrame(rows, columns=list(search.RESULT_COLUMNS))
    for column in ("start_time", "end_time"):
        frame[column] = pd.to_datetime(frame[column].astype("float64"), unit="s", utc=True)
    for column in ("prompt_tokens", "completion_tokens", "total_tokens"):
        frame[column] = frame[column].astype("Int64")
    for column in ("latency_ms", "cost_usd"):
        frame[column] = frame[column].astype("float64")
    return frame


def search_spans(
    query: str, *, project_name: str | None = None, limit: int = 1000, sort: str = "-start_time"
) -> Any:
    """The spans matching ``query`` (see docs/search.md), newest first, as a pandas DataFrame
    with ``task_id``, ``span_id``, the span's fields and its input, output and error.

    Raises :class:`~chaintrack.query.QueryError` (an ``InvalidArgumentError``) for a bad
    query, naming the position and the fields allowed.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidArgumentError(f"limit={limit!r} is not valid: a positive number of spans.")
    store = open_store()
    rows: list[dict[str, Any]] = []
    with _connection(store) as conn:
        while len(rows) < limit:
            size = min(search.MAX_PAGE, limit - len(rows))
            if conn is not None:
                page = search.search_page(conn, query, project=project_name, offset=len(rows),
                                          limit=size, sort=sort)  # fmt: skip
                found, more = page.rows, page.has_more
            else:
                body = _remote(store, "/spans", q=query, project=project_name,
                               offset=len(rows), limit=size, sort=sort)  # fmt: skip
                found, more = body["rows"], body["has_more"]
            rows += found
            if not more:
                break
    return _frame(rows)


def project_stats(
    project_name: str | None,
    *,
    range: str | None = None,
    start: float | None = None,
    end: float | None = None,
) -> dict[str, Any]:
    """The dashboard of a project (None: every project): calls, error rate, latency
    p50/p95/p99, tokens and cost over time, by model, kind and task tag. ``range`` is
    ``24h``, ``7d``, ``30d``… up to now (default 7d), or give ``start``/``end`` (epoch s)."""
    begin, finish = stats.parse_range(range, start, end)
    store = open_store()
    with _connection(store) as conn:
        if conn is not None:
            return stats.project_stats(conn, project_name, begin, finish)
    result: dict[str, Any] = _remote(store, "/stats", project=project_name, start=begin,
                                     end=finish)  # fmt: skip
    return result


def _remote_chunks(
    store: Store,
    what: str,
    tasks: Sequence[str],
    project: str | None,
    query: str | None,
    chunk: int = exporting.CHUNK,
) -> Iterator[list[dict[str, Any]]]:
    """The rows of ``GET /api/v1/export`` (NDJSON, see server/export_routes.py) in chunks of
    ``chunk`` rows, read from the response as it arrives (bounded memory)."""
    import orjson

    params: dict[str, Any] = {"what": what, "task": list(tasks)}
    params.update({k: v for k, v in (("project", project), ("q", query)) if v})
    client = store._http()  # type: ignore[attr-defined]
    with client.stream("GET", "/api/v1/export", params=params, timeout=_STREAM_TIMEOUT) as resp:
        if resp.status_code >= 400:
            resp.read()
            error = store._refused(resp)  # type: ignore[attr-defined]
            if resp.status_code == 400:
                raise InvalidArgumentError(str(error).split("HTTP 400: ", 1)[-1]) from None
            raise error
        columns: list[str] | None = None
        rows: list[dict[str, Any]] = []
        tail = b""
        for data in resp.iter_bytes(1 << 16):
            lines = (tail + data).split(b"\n")
            tail = lines.pop()
            for line in lines:
                if columns is None:
                    columns = list(orjson.loads(line)["columns"])
                    continue
                rows.append(dict(zip(columns, orjson.loads(line), strict=True)))
                if len(rows) >= chunk:
                    yield rows
                    rows = []
        if tail.strip():
            raise StoreError(f"the export from {store.uri} ended inside a row: the server "
                             "stopped sending; run the export again")  # fmt: skip
        if rows:
            yield rows


def export(
    output: str | Path,
    *,
    what: str = "spans",
    format: str | None = None,
    tasks: Sequence[str] = (),
    project_name: str | None = None,
    query: str | None = None,
    progress: bool = False,
) -> int:
    """Export ``what`` (spans, records, scalars, console, results) of some tasks, a project or
    the spans matching a query to Parquet, CSV or JSON Lines, streaming (from the database, or
    from a tracking server's ``/api/v1/export``). Returns the rows written."""
    fmt = exporting.output_format(output, format)
    if what not in exporting.SCHEMAS:
        raise InvalidArgumentError(
            f"what={what!r} is not valid: export one of {', '.join(exporting.WHATS)}."
        )
    store = open_store()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(unit=" rows", desc=f"export {what}", unit_scale=True)
    tick = bar.update if bar is not None else None
    try:
        with _connection(store) as conn:
            if conn is None:
                chunks = _remote_chunks(store, what, tasks, project_name, query)
                return exporting.write_chunks(output, fmt, what, chunks, tick)
            return exporting.export(conn, output, what=what, fmt=fmt, task_ids=tasks,
                                    project=project_name, query=query,
                                    progress=tick)  # fmt: skip
    finally:
        if bar is not None:
            bar.close()
