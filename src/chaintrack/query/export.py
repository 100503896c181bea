"""Streaming export of spans, records, scalars, console lines and experiment results to
Parquet, CSV or JSON Lines.

Rows are read from the database in chunks (a server-side cursor on PostgreSQL) and written as
they come, so memory stays bounded whatever the number of rows; Parquet goes through pyarrow
with a fixed, typed schema per kind of data.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, select

from chaintrack.errors import invalid, missing_dependency
from chaintrack.query import search
from chaintrack.store.evaltables import dataset_rows, eval_results
from chaintrack.store.records import LOG, SCALAR, TABLE
from chaintrack.store.schema import events, tasks

WHATS = ("spans", "records", "scalars", "console", "results")
FORMATS = ("parquet", "csv", "jsonl")
CHUNK = 5_000
#: (column, arrow type name) of each kind of data.
SCHEMAS: dict[str, tuple[tuple[str, str], ...]] = {
    "spans": (
        ("task_id", "string"), ("span_id", "string"), ("parent_id", "string"),
        ("trace_id", "string"), ("thread_id", "string"), ("project", "string"),
        ("task", "string"), ("kind", "string"), ("name", "string"), ("status", "string"),
        ("model", "string"), ("start_time", "timestamp"), ("end_time", "timestamp"),
        ("latency_ms", "float64"), ("prompt_tokens", "int64"), ("completion_tokens", "int64"),
        ("total_tokens", "int64"), ("cost_usd", "float64"), ("input", "string"),
        ("output", "string"), ("error", "string"),
    ),
    "scalars": (("task_id", "string"), ("metric", "string"), ("variant", "string"),
                ("iteration", "int64"), ("value", "float64"), ("time", "timestamp")),
    "console": (("task_id", "string"), ("time", "timestamp"), ("level", "int64"),
                ("text", "string")),
    "results": (("task_id", "string"), ("experiment", "string"), ("dataset_id", "string"),
                ("example_id", "string"), ("repetition", "int64"), ("inputs", "string"),
                ("expected", "string"), ("output", "string"), ("scores", "string"),
                ("latency_ms", "float64"), ("error", "string"), ("trace_id", "string"),
                ("time", "timestamp")),
    "records": (("task_id", "string"), ("table", "string"), ("variant", "string"),
                ("iteration", "int64"), ("row", "int64"), ("record", "string")),
}  # fmt: skip
RECORD_TABLE = "Action Records"


def _task_scope(conn: Connection, task_ids: Sequence[str], project: str | None) -> list[str]:
    if task_ids:
        return list(task_ids)
    stmt = select(tasks.c.id).order_by(tasks.c.created, tasks.c.id)
    if project is not None:
        stmt = stmt.where(tasks.c.project == project)
    return [r[0] for r in conn.execute(stmt)]


def _span_query(task_ids: Sequence[str], query: str | None) -> str:
    if not task_ids:
        return query or ""
    ids = ", ".join(json.dumps(t) for t in task_ids)
    scope = f"task_id in ({ids})"
    return f"({query}) and {scope}" if query else scope


def _events(conn: Connection, task_ids: list[str], kind: str) -> Iterator[list[Any]]:
    for task_id in task_ids:
        stmt = (select(events).where(events.c.task_id == task_id, events.c.kind == kind)
                .order_by(events.c.ts, events.c.writer, events.c.seq))  # fmt: skip
        result = conn.execute(stmt, execution_options={"stream_results": True, "yield_per": CHUNK})
        for part in result.partitions(CHUNK):
            yield [r._mapping for r in part]


def rows(
    conn: Connection,
    what: str,
    task_ids: Sequence[str] = (),
    project: str | None = None,
    query: str | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Chunks of rows of ``what`` for the tasks given (or the project's, or the query's)."""
    if what not in SCHEMAS:
        raise invalid("what", what, f"export one of {', '.join(WHATS)}")
    if what == "spans":
        yield from search.iter_matching(conn, _span_query(task_ids, query), project, CHUNK)
        return
    ids = _task_scope(conn, task_ids, project)
    if query:
        chunks = search.iter_matching(conn, query, project, CHUNK)
        found = {r["task_id"] for chunk in chunks for r in chunk}
        ids = [t for t in ids if t in found]
    if what == "scalars":
        for chunk in _events(conn, ids, SCALAR):
            yield [{"task_id": e["task_id"], "metric": e["metric"], "variant": e["variant"],
                    "iteration": e["iter"], "value": e["value"], "time": e["ts"]}
                   for e in chunk]  # fmt: skip
    elif what == "results":
        yield from _results(conn, ids)
    elif what == "console":
        for chunk in _events(conn, ids, LOG):
            yield [{"task_id": e["task_id"], "time": e["ts"], "level": e["level"],
                    "text": e["text"]} for e in chunk]  # fmt: skip
    else:
        for chunk in _events(conn, ids, TABLE):
            out = _records(chunk)
            if out:
                yield out


def _results(conn: Connection, task_ids: list[str]) -> Iterator[list[dict[str, Any]]]:
    """Experiment results (one row per example and repetition) with the example's inputs and
    expected output from its dataset version; JSON values stay JSON text."""
    example = dataset_rows.alias("example")
    on = and_(example.c.dataset_id == eval_results.c.dataset_id,
              example.c.example_id == eval_results.c.example_id)  # fmt: skip
    for task_id in task_ids:
        stmt = (select(eval_results, tasks.c.name.label("experiment"), example.c.inputs,
                       example.c.expected)
                .select_from(eval_results.join(tasks, tasks.c.id == eval_results.c.task_id)
                             .outerjoin(example, on))
                .where(eval_results.c.task_id == task_id)
                .order_by(eval_results.c.position, eval_results.c.repetition))  # fmt: skip
        result = conn.execute(stmt, execution_options={"stream_results": True, "yield_per": CHUNK})
        for part in result.partitions(CHUNK):
            yield [{**r._mapping, "time": r.created} for r in part]


def _records(chunk: list[Any]) -> list[dict[str, Any]]:
    """The rows of the Action Records tables among ``chunk`` (table events), one per record."""
    out: list[dict[str, Any]] = []
    for e in chunk:
        if e["metric"] != RECORD_TABLE:
            continue
        table = json.loads(e["data"] or "{}")
        columns = table.get("columns") or []
        for n, row in enumerate(table.get("rows") or []):
            record = dict(zip(columns, row, strict=False))
            out.append({"task_id": e["task_id"], "table": e["metric"], "variant": e["variant"],
                        "iteration": e["iter"], "row": n,
                        "record": json.dumps(record, default=str)})  # fmt: skip
    return out


class _Writer:
    def __init__(self, path: Path, fmt: str, what: str) -> None:
        self.columns = [c for c, _ in SCHEMAS[what]]
        self.types = dict(SCHEMAS[what])
        self.fmt = fmt
        self.path = path
        self.handle: Any = None
        self.parquet: Any = None
        if fmt == "parquet":
            try:
                import pyarrow as pa
                import pyarrow.parquet as pq
            except ModuleNotFoundError as exc:
                raise missing_dependency("pyarrow", "export", "Exporting to Parquet") from exc
            self.pa = pa
            arrow = {"string": pa.string(), "float64": pa.float64(), "int64": pa.int64(),
                     "timestamp": pa.timestamp("us", tz="UTC")}  # fmt: skip
            self.schema = pa.schema([(c, arrow[t]) for c, t in SCHEMAS[what]])
            self.parquet = pq.ParquetWriter(str(path), self.schema, compression="zstd")
        else:
            self.handle = path.open("w", encoding="utf-8", newline="")
            if fmt == "csv":
                self.csv = csv.writer(self.handle)
                self.csv.writerow(self.columns)

    def write(self, chunk: list[dict[str, Any]]) -> None:
        if self.parquet is not None:
            arrays = []
            for column in self.columns:
                values = [r.get(column) for r in chunk]
                if self.types[column] == "timestamp":
                    values = [None if v is None else int(v * 1_000_000) for v in values]
                elif self.types[column] == "int64":
                    values = [None if v is None else int(v) for v in values]
                arrays.append(self.pa.array(values, type=self.schema.field(column).type))
            self.parquet.write_batch(self.pa.RecordBatch.from_arrays(arrays, schema=self.schema))
        elif self.fmt == "csv":
            self.csv.writerows([["" if r.get(c) is None else r.get(c) for c in self.columns]
                                for r in chunk])  # fmt: skip
        else:
            import orjson

            for r in chunk:
                self.handle.write(orjson.dumps({c: r.get(c) for c in self.columns}).decode())
                self.handle.write("\n")

    def close(self) -> None:
        if self.parquet is not None:
            self.parquet.close()
        if self.handle is not None:
            self.handle.close()


def output_format(output: str | Path, fmt: str | None) -> str:
    """The file format: ``fmt``, or from the output's extension."""
    fmt = fmt or {".parquet": "parquet", ".csv": "csv", ".jsonl": "jsonl"}.get(Path(output).suffix)
    if fmt not in FORMATS:
        raise invalid("format", fmt, f"export as one of {', '.join(FORMATS)} (or name the "
                      "output file .parquet, .csv or .jsonl)")  # fmt: skip
    return fmt


def write_chunks(
    output: str | Path,
    fmt: str,
    what: str,
    chunks: Iterator[list[dict[str, Any]]],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the rows of ``chunks`` to ``output`` as they come; the number written. The file is
    made once the first chunk is read (a bad query fails before)."""
    first = next(chunks, [])
    writer = _Writer(Path(output), fmt, what)
    count = 0
    try:
        for chunk in _chain(first, chunks):
            writer.write(chunk)
            count += len(chunk)
            if progress is not None:
                progress(len(chunk))
    finally:
        writer.close()
    return count


def export(
    conn: Connection,
    output: str | Path,
    *,
    what: str = "spans",
    fmt: str | None = None,
    task_ids: Sequence[str] = (),
    project: str | None = None,
    query: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write ``what`` to ``output``; the format defaults to the file's extension. Returns the
    number of rows written."""
    fmt = output_format(output, fmt)
    if what not in SCHEMAS:
        raise invalid("what", what, f"export one of {', '.join(WHATS)}")
    return write_chunks(output, fmt, what, rows(conn, what, task_ids, project, query), progress)


def _chain(first: list[dict[str, Any]], rest: Iterator[list[dict[str, Any]]]) -> Iterator[
        list[dict[str, Any]]]:  # fmt: skip
    if first:
        yield first
    yield from rest
