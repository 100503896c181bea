"""``chaintrack store``: repairing an embedded store (see ``store/repair.py``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from chaintrack import config


def _replay_spool(uri: str) -> bool:
    """Open the repaired store with a writer: it writes the spool files that processes of this
    store left (orphans, failed items) as it starts; True once they are written."""
    from chaintrack.sdk import writers
    from chaintrack.store import open_store

    writer = writers.writer_for(open_store(uri))
    writer._start()
    return writer.flush(config.drain_timeout())


def _cmd_repair(args: argparse.Namespace) -> int:
    from chaintrack.store import liveness, open_store, repair

    path = repair.sqlite_path(args.uri or config.tracking_uri())
    output = Path(args.output).expanduser() if args.output else None
    report = repair.repair(path, output, open_store=_replay_spool)
    copied = ", ".join(f"{n} {t}" for t, n in report.copied.items() if n)
    print(f"recovered into {report.target}: {copied or 'nothing readable'}")
    for table, places in report.unreadable.items():
        print(f"  {table}: {places} damaged place(s) skipped; rows stored there are lost")
    if report.kept_as is not None:
        print(f"the damaged file is kept as {report.kept_as}")
    if report.replayed_spool:
        print("the spool folder was replayed: events earlier processes left there are stored")
    stopped = liveness.stop_dead_tasks(open_store(f"sqlite:///{report.target}"))
    if stopped:
        print(f"{stopped} task(s) whose process ended without closing them marked stopped")
    return 0


def register(commands: Any) -> None:
    store = commands.add_parser(
        "store",
        help="repair the embedded store",
        description="Maintenance of an embedded (SQLite) store.",
    )
    actions = store.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    repair = actions.add_parser(
        "repair",
        help="copy what can be read of a damaged store into a new one",
        description="Copy every row that can still be read of a damaged store into a new "
        "store, which takes its place (the damaged file is kept beside it as "
        "<name>.damaged-<time>); then write the events processes left in the spool folder.",
    )
    repair.add_argument(
        "uri", nargs="?", metavar="URI",
        help="the store: a SQLite file (path or sqlite:///path); default "
        "CHAINTRACK_TRACKING_URI, else the embedded store",
    )  # fmt: skip
    repair.add_argument(
        "--output", default=None,
        help="write the recovered store here and leave the damaged file as it is",
    )  # fmt: skip
    repair.set_defaults(func=_cmd_repair)
