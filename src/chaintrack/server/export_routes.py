"""``GET /api/v1/export``: the rows of an export streamed as NDJSON, for ``chaintrack export``
and ``chaintrack.export`` against a tracking server.

The first line is a header ``{"what": …, "columns": […]}``; each further line is one row, a JSON
array in the header's column order (times in epoch seconds). Rows are read from the database in
chunks and sent as they are read (constant memory on the server whatever the number of rows);
the client writes them to Parquet, CSV or JSON Lines (``query/client.py``). A bad query or scope
answers 400 before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from chaintrack.errors import InvalidArgumentError, invalid
from chaintrack.query import export as exporting

router = APIRouter(prefix="/api/v1", tags=["search"])
MEDIA_TYPE = "application/x-ndjson"


def _lines(columns: list[str], first: list[dict[str, Any]],
           rest: Iterator[list[dict[str, Any]]]) -> Iterator[bytes]:  # fmt: skip
    for chunk in exporting._chain(first, rest):
        yield b"".join(orjson.dumps([row.get(c) for c in columns], default=str) + b"\n"
                       for row in chunk)  # fmt: skip


@router.get("/export")
def export_rows(
    request: Request,
    what: str = "spans",
    project: str | None = None,
    q: str | None = None,
    task: Annotated[list[str] | None, Query()] = None,
) -> StreamingResponse:
    """Stream ``what`` (spans, records, scalars, console, results) of some tasks (``task``,
    repeated), a project or the spans matching ``q``, as NDJSON (see the module docstring)."""
    if what not in exporting.SCHEMAS:
        raise invalid("what", what, f"export one of {', '.join(exporting.WHATS)}")
    tasks = [t for t in task or [] if t]
    if not (tasks or project or q):
        raise InvalidArgumentError("export what? give task ids (task=…), project=… or q=…")
    engine = getattr(request.app.state.store, "_read_engine", None)
    if engine is None:  # pragma: no cover - a server always serves a database
        raise InvalidArgumentError("export needs a database store")
    conn = engine.connect()
    try:
        chunks = exporting.rows(conn, what, tasks, project or None, q or None)
        first = next(chunks, [])  # a bad query fails here, as a 400
    except BaseException:
        conn.close()
        raise
    columns = [c for c, _ in exporting.SCHEMAS[what]]
    header = orjson.dumps({"what": what, "columns": columns}) + b"\n"

    def body() -> Iterator[bytes]:
        try:
            yield header
            yield from _lines(columns, first, chunks)
        finally:
            conn.close()

    # The connection is closed after the last row, or after a client that went away.
    return StreamingResponse(body(), media_type=MEDIA_TYPE, background=BackgroundTask(conn.close))
