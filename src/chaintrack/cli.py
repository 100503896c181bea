"""The ``chaintrack`` command."""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from collections.abc import Sequence
from typing import Any

from chaintrack import config
from chaintrack._version import __version__
from chaintrack.errors import ChainTrackError


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _duration(start: float | None, end: float | None) -> str:
    if start is None or end is None:
        return "-"
    seconds = max(0.0, end - start)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _printable(value: Any, keep_newlines: bool = False) -> str:
    """Text safe for a terminal: reported text is untrusted (an LLM's output can hold escape
    sequences that would recolor or retitle the terminal), so control characters become spaces."""
    return "".join(
        ch if ch.isprintable() or (keep_newlines and ch == "\n") else " " for ch in str(value)
    )


def _display_uri(uri: str) -> str:
    """The tracking URI without secrets: ``postgresql://user:***@host/db``, ``https://***@host``
    (a user name alone in an http URL is usually a token)."""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://([^/@]*)@", uri)
    if match is None:
        return uri
    scheme, userinfo = match.groups()
    user, has_password, _ = userinfo.partition(":")
    if scheme.lower() in ("http", "https"):
        hidden = "***"
    else:
        hidden = f"{user}:***" if has_password else user
    return f"{scheme}://{hidden}@{uri[match.end() :]}"


def _count(minimum: int) -> Any:
    """An argparse type: a whole number >= ``minimum`` (a usage error otherwise, exit code 2)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is too small; it must be >= {minimum}")
        return value

    return parse


def format_table(header: Sequence[str], rows: Sequence[Sequence[Any]], max_width: int = 48) -> str:
    """A plain-text table; cells are cut to ``max_width`` and control characters removed."""

    def cell(value: Any) -> str:
        text = _printable(value)
        return text if len(text) <= max_width else text[: max_width - 1] + "…"

    cells = [[cell(h) for h in header], *[[cell(v) for v in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cmd_tasks(args: argparse.Namespace) -> int:
    from chaintrack.sdk.task import Task
    from chaintrack.store import open_store
    from chaintrack.store.liveness import stop_dead_tasks_quietly

    stop_dead_tasks_quietly(open_store())  # tasks whose process is gone are shown stopped

    tasks = Task.get_tasks(
        project_name=args.project,
        tags=args.tag or None,
        status=args.status or None,
        limit=args.limit,
    )
    if not tasks:
        print(f"No tasks in {_display_uri(config.tracking_uri())} match.")
        return 0
    rows = []
    for task in tasks:
        r = task.record
        duration = _duration(r.started, r.completed or r.last_update)
        rows.append(
            [
                r.id,
                r.project,
                r.name,
                r.type,
                r.status,
                ",".join(r.tags),
                _when(r.started),
                duration,
            ]
        )
    print(format_table(["id", "project", "name", "type", "status", "tags", "started", "duration"],
                       rows))  # fmt: skip
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from chaintrack.sdk.task import Task

    task = Task.get_task(task_id=args.task)
    r = task.record
    print(f"Task {r.id}: {_printable(r.name)}")
    for label, value in [
        ("project", r.project), ("type", r.type), ("status", r.status),
        ("status reason", r.status_reason), ("tags", ", ".join(r.tags)), ("comment", r.comment),
        ("user", r.user), ("started", _when(r.started)), ("completed", _when(r.completed)),
        ("duration", _duration(r.started, r.completed or r.last_update)),
        ("repository", r.script.get("repository", "")), ("commit", r.script.get("version_num", "")),
        ("entry point", r.script.get("entry_point", "")),
    ]:  # fmt: skip
        if value:
            print(f"  {label + ':':15} {_printable(value)}")
    parameters = task.get_parameters()
    if parameters:
        print("\nParameters")
        print(format_table(["name", "value"], sorted(parameters.items()), max_width=80))
    metrics = task.get_last_scalar_metrics()
    if metrics:
        print("\nScalars (last values)")
        rows = [[title, series, f"{m['last']:.6g}", f"{m['min']:.6g}", f"{m['max']:.6g}",
                 int(m["last_iteration"])]
                for title, by_series in sorted(metrics.items())
                for series, m in sorted(by_series.items())]  # fmt: skip
        print(format_table(["title", "series", "last", "min", "max", "iteration"], rows))
    single = task.get_reported_single_values()
    if single:
        print("\nSingle values")
        print(format_table(["name", "value"], sorted(single.items())))
    tables = task.get_reported_tables()
    for title, by_series in sorted(tables.items()):
        for series, frame in sorted(by_series.items()):
            print(f"\nTable {_printable(title)} / {_printable(series)} ({len(frame)} rows)")
            print(_printable(frame.head(args.rows).to_string(max_colwidth=40), keep_newlines=True))
    artifacts = task.artifacts
    if artifacts:
        print("\nArtifacts")
        rows = [[a.name, a.type, a.size, a.hash[:12]] for a in artifacts.values()]
        print(format_table(["name", "type", "bytes", "sha256"], rows))
    models = task.models["output"]
    if models:
        print("\nOutput models")
        print(
            format_table(["name", "id", "weights"], [[m.name, m.id, m.url or "-"] for m in models])
        )
    return 0


_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _serve(app_or_factory: Any, args: argparse.Namespace, token: str | None, what: str) -> int:
    import uvicorn

    host = args.host
    if host not in _LOOPBACK and not token:
        print(
            f"chaintrack: warning: listening on {host} without an auth token: anyone who can "
            "reach this port can read (and, through the API, write) every task. Set "
            "CHAINTRACK_AUTH_TOKEN or pass --auth-token.",
            file=sys.stderr,
        )
    shown = f"[{host}]" if ":" in host else host
    print(f"chaintrack {what} on http://{shown}:{args.port}/ (Ctrl-C stops it)", flush=True)
    workers = getattr(args, "workers", 1)
    if isinstance(app_or_factory, str):
        uvicorn.run(
            app_or_factory,
            factory=True,
            host=host,
            port=args.port,
            workers=workers,
            log_level="warning",
            access_log=False,
        )
    else:
        uvicorn.run(
            app_or_factory, host=host, port=args.port, log_level="warning", access_log=False
        )
    return 0


def _cmd_ui(args: argparse.Namespace) -> int:
    from chaintrack.server.app import create_app, open_server_store

    uri = config.tracking_uri()
    if uri.lower().startswith(("http://", "https://")):
        print(
            f"chaintrack: error: CHAINTRACK_TRACKING_URI is a tracking server "
            f"({_display_uri(uri)}); its UI is at that address. `chaintrack ui` serves a local "
            "store.",
            file=sys.stderr,
        )
        return 1
    token = args.auth_token or config.auth_token()
    app = create_app(open_server_store(uri), auth_token=token, close_store=True)
    return _serve(app, args, token, f"UI of {_display_uri(uri)}")


def _cmd_server(args: argparse.Namespace) -> int:
    import os

    from chaintrack.server.app import create_app, open_server_store

    token = args.auth_token or config.auth_token()
    if args.otlp_grpc_port:  # the app (in each worker) serves it while it runs
        os.environ[config.OTLP_GRPC_PORT.name] = str(args.otlp_grpc_port)
        os.environ[config.OTLP_GRPC_HOST.name] = args.host
    store = open_server_store(args.store, args.artifacts)  # check both before serving
    if args.workers == 1:
        app = create_app(store, auth_token=token, close_store=True)
        return _serve(app, args, token, f"server of {_display_uri(store.uri)}")
    store.close()
    # Each uvicorn worker process builds its app from these settings (see app_from_environment).
    if args.store:
        os.environ[config.TRACKING_URI.name] = args.store
    if args.artifacts:
        os.environ[config.SERVER_ARTIFACTS.name] = args.artifacts
    if token:
        os.environ[config.AUTH_TOKEN.name] = token
    factory = "chaintrack.server.app:app_from_environment"
    return _serve(factory, args, token, f"server of {_display_uri(store.uri)}")


def _serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    parser.add_argument(
        "--port", type=_count(1), default=8600, help="port to listen on (default 8600)"
    )
    parser.add_argument(
        "--auth-token",
        default=None,
        help="require this token (default: CHAINTRACK_AUTH_TOKEN; none if unset)",
    )


def _db_target(args: argparse.Namespace) -> str:
    return str(args.uri or config.tracking_uri())


def _cmd_db_current(args: argparse.Namespace) -> int:
    from chaintrack.store import admin

    found = admin.revision(_db_target(args))
    if found.current is None:
        print(f"{found.uri}: empty database, no chaintrack store yet (newest revision "
              f"{found.head}; `chaintrack db upgrade` creates it)")  # fmt: skip
    elif found.up_to_date:
        print(f"{found.uri}: revision {found.current} (up to date)")
    else:
        print(f"{found.uri}: revision {found.current}, newest is {found.head} "
              "(`chaintrack db upgrade` migrates it)")  # fmt: skip
    return 0


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    from chaintrack.store import admin

    before, after = admin.upgrade(_db_target(args))
    if before.up_to_date:
        print(f"{after.uri}: already up to date (revision {after.current})")
    elif before.current is None:
        print(f"{after.uri}: created a new store at revision {after.current}")
    else:
        print(f"{after.uri}: upgraded from revision {before.current} to {after.current}")
    return 0


def _db_commands(commands: Any) -> None:
    db = commands.add_parser(
        "db",
        help="show or upgrade a store's schema revision",
        description="The schema revision of a SQL store (SQLite or PostgreSQL), and upgrading "
        "it to the newest one. URI: a SQLite file (path or sqlite:///path) or "
        "postgresql://user:password@host/database; default CHAINTRACK_TRACKING_URI, else the "
        "embedded store.",
    )
    actions = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    for name, run, what in (
        ("current", _cmd_db_current, "show the store's schema revision (changes nothing)"),
        ("upgrade", _cmd_db_upgrade, "migrate the store to the newest schema revision"),
    ):
        action = actions.add_parser(name, help=what, description=what[0].upper() + what[1:] + ".")
        action.add_argument("uri", nargs="?", metavar="URI", help="the store (see `db --help`)")
        action.set_defaults(func=run)


def _cmd_demo(args: argparse.Namespace) -> int:
    if getattr(args, "scenario", None) == "eval":
        from chaintrack.demo.eval_demo import main as eval_demo

        return eval_demo()
    from chaintrack.demo import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chaintrack",
        description="A local-first experiment manager for LLM applications. Tasks are stored in "
        "CHAINTRACK_TRACKING_URI (default: the embedded store under CHAINTRACK_HOME, "
        "~/.chaintrack).",
    )
    parser.add_argument("--version", action="version", version=f"chaintrack {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    tasks = commands.add_parser("tasks", help="list tasks, newest first",
                                description="List tasks, newest first.")  # fmt: skip
    tasks.add_argument("--project", "-p", help="only tasks of this project")
    tasks.add_argument("--status", "-s", action="append",
                       help="only tasks with this status (repeatable)")  # fmt: skip
    tasks.add_argument("--tag", "-t", action="append",
                       help="only tasks with this tag (repeatable: all must match)")  # fmt: skip
    tasks.add_argument("--limit", "-n", type=_count(1), default=50,
                       help="at most this many tasks (default 50)")  # fmt: skip
    tasks.set_defaults(func=_cmd_tasks)

    show = commands.add_parser(
        "show", help="show one task", description="Show a task's parameters, last scalar "
        "values, tables, artifacts and models.")  # fmt: skip
    show.add_argument("task", help="the task id")
    show.add_argument("--rows", type=_count(0), default=20,
                      help="table rows to print (default 20)")  # fmt: skip
    show.set_defaults(func=_cmd_show)

    demo = commands.add_parser(
        "demo", help="run the offline demo and store its tasks",
        description="Run the two scenarios of ClearML's LangChain page offline (a scripted "
        "stand-in LLM, a local search tool and a calculator) and store their task.")  # fmt: skip
    demo.add_argument(
        "scenario",
        nargs="?",
        choices=["eval"],
        help="eval: two prompt versions of a support bot, evaluated and compared",
    )
    demo.add_argument(
        "--stream-logs",
        action="store_true",
        help="print every callback record as it happens (stream_logs=True)",
    )
    demo.set_defaults(func=_cmd_demo)

    ui = commands.add_parser(
        "ui",
        help="serve the web UI of the local store",
        description="Serve the web UI (and the REST API) of the store in "
        "CHAINTRACK_TRACKING_URI, by default the embedded store under CHAINTRACK_HOME.",
    )
    _serve_options(ui)
    ui.set_defaults(func=_cmd_ui)

    server = commands.add_parser(
        "server",
        help="run a tracking server (REST API and web UI)",
        description="Serve a store to remote SDK clients (CHAINTRACK_TRACKING_URI=http://host:"
        "port) and the web UI.",
    )
    server.add_argument(
        "--store",
        default=None,
        help="the database to serve: sqlite:///path.db or postgresql://… "
        "(default: CHAINTRACK_TRACKING_URI, else the embedded store)",
    )
    server.add_argument(
        "--artifacts",
        default=None,
        help="where artifacts, models and debug samples go: a folder (path or file:// URI) "
        "or s3://bucket/prefix (the bucket is checked at start; see docs/server.md) "
        "(default: CHAINTRACK_SERVER_ARTIFACTS, else CHAINTRACK_ARTIFACTS_URI, else files/ "
        "beside the database)",
    )
    _serve_options(server)
    server.add_argument("--workers", type=_count(1), default=1, help="worker processes (default 1)")
    server.add_argument(
        "--otlp-grpc-port",
        type=_count(1),
        default=None,
        help="also serve OTLP/gRPC traces on this port (OTLP/HTTP is always at /v1/traces; "
        "needs the [otel] extra; see docs/opentelemetry.md)",
    )
    server.set_defaults(func=_cmd_server)
    _db_commands(commands)

    from chaintrack.clearml.command import register as register_clearml

    register_clearml(commands)
    from chaintrack.eval.command import register as register_experiments

    register_experiments(commands)

    from chaintrack.reprice_command import register as register_reprice

    register_reprice(commands)

    from chaintrack.store_command import register as register_store

    register_store(commands)

    from chaintrack.query.command import register as register_query

    register_query(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        result: int = args.func(args)
    except ChainTrackError as exc:
        print(f"chaintrack: error: {exc}", file=sys.stderr)
        return 1
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
