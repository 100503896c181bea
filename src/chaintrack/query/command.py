"""``chaintrack spans QUERY`` and ``chaintrack export``: span search and export from the shell."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from chaintrack.errors import InvalidArgumentError
from chaintrack.query import export as exporting


def _printable(value: Any) -> str:
    # Reported text is untrusted: control characters (terminal escapes) become spaces.
    return "".join(ch if ch.isprintable() else " " for ch in str(value))


def _cmd_spans(args: argparse.Namespace) -> int:
    from chaintrack.query.client import search_spans

    frame = search_spans(args.query, project_name=args.project, limit=args.limit)
    fmt = args.format
    if fmt == "parquet" and not args.output:
        raise InvalidArgumentError("--format parquet writes a file: give --output FILE")
    if args.output:
        if fmt == "csv":
            frame.to_csv(args.output, index=False)
        elif fmt == "json":
            frame.to_json(args.output, orient="records", lines=True, date_format="iso")
        elif fmt == "parquet":
            frame.to_parquet(args.output, index=False)
        else:
            with open(args.output, "w", encoding="utf-8") as handle:
                handle.write(_table(frame))
        sys.stderr.write(f"{len(frame)} spans written to {args.output}\n")
        return 0
    if fmt == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif fmt == "json":
        sys.stdout.write(frame.to_json(orient="records", lines=True, date_format="iso") + "\n")
    else:
        sys.stdout.write(_table(frame))
    return 0


def _table(frame: Any) -> str:
    import pandas as pd

    columns = ("start_time", "task_id", "kind", "name", "status", "model", "latency_ms",
               "total_tokens", "output")  # fmt: skip
    lines = ["\t".join(columns)]
    for row in frame.itertuples(index=False):
        values = []
        for column in columns:
            value = getattr(row, column)
            text = "" if value is None or pd.isna(value) else str(value)
            values.append(_printable(text)[:60])
        lines.append("\t".join(values))
    lines.append(f"({len(frame)} spans)")
    return "\n".join(lines) + "\n"


def _cmd_export(args: argparse.Namespace) -> int:
    from chaintrack.query.client import export

    if not (args.tasks or args.project or args.query):
        raise InvalidArgumentError("export what? name task ids, or give --project P or --query Q")
    count = export(args.output, what=args.what, format=args.format, tasks=args.tasks,
                   project_name=args.project, query=args.query,
                   progress=not args.quiet)  # fmt: skip
    sys.stderr.write(f"{count} {args.what} rows written to {args.output}\n")
    return 0


def register(commands: Any) -> None:
    spans = commands.add_parser(
        "spans", help="search spans with a query (docs/search.md)",
        description='Search the spans of every task, e.g. chaintrack spans \'kind = '
        '"chat_model" and latency_ms > 2000 and output ~ "refund" and start_time > -7d\'.',
    )  # fmt: skip
    spans.add_argument("query", help="the query ('' for every span)")
    spans.add_argument("--project", "-p", help="only spans of this project's tasks")
    spans.add_argument("--format", "-f", choices=("table", "csv", "json", "parquet"),
                       default="table", help="output format (default table)")  # fmt: skip
    spans.add_argument("--output", "-o", help="write to this file instead of the terminal")
    spans.add_argument("--limit", "-n", type=int, default=1000,
                       help="at most this many spans, newest first (default 1000)")  # fmt: skip
    spans.set_defaults(func=_cmd_spans)

    export = commands.add_parser(
        "export", help="export spans, records, scalars or console lines to a file",
        description="Export (streaming) the data of some tasks, of a project or of the spans "
        "matching a query, to Parquet, CSV or JSON Lines.",
    )  # fmt: skip
    export.add_argument("tasks", nargs="*", metavar="TASK", help="task ids")
    export.add_argument("--project", "-p", help="every task of this project")
    export.add_argument("--query", "-q", help="the spans matching this query (their tasks for "
                        "records, scalars and console)")  # fmt: skip
    export.add_argument("--what", "-w", choices=exporting.WHATS, default="spans",
                        help="what to export (default spans)")  # fmt: skip
    export.add_argument("--format", "-f", choices=exporting.FORMATS, default=None,
                        help="file format (default: from the output's extension)")  # fmt: skip
    export.add_argument("--output", "-o", required=True, help="the file to write")
    export.add_argument("--quiet", action="store_true", help="no progress bar")
    export.set_defaults(func=_cmd_export)
