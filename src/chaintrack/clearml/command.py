"""``chaintrack clearml push``: the command line of the ClearML mirror."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, TextIO

from chaintrack.clearml.push import PushResult, pending, push_many

_BAR_WIDTH = 24


def register(commands: Any) -> None:
    """Add ``clearml`` and its ``push`` subcommand to the ``chaintrack`` command."""
    clearml = commands.add_parser(
        "clearml",
        help="mirror tasks into ClearML",
        description="Mirror tasks into a ClearML server, or into an offline session, with the "
        "official clearml SDK and ClearML's own configuration (clearml.conf, CLEARML_API_HOST, "
        "CLEARML_API_ACCESS_KEY, CLEARML_API_SECRET_KEY, CLEARML_OFFLINE_MODE).",
    )
    actions = clearml.add_subparsers(dest="clearml_command", metavar="ACTION", required=True)
    push = actions.add_parser(
        "push",
        help="push tasks to ClearML",
        description="Push ended tasks to ClearML. A task already pushed to the same server is "
        "skipped (its ClearML id is printed) unless --force.",
    )
    push.add_argument("task", nargs="*", help="ids of the tasks to push")
    push.add_argument("--pending", action="store_true",
                      help="also push every ended task not yet pushed to this server")  # fmt: skip
    push.add_argument("--project", default=None,
                      help="ClearML project to put them in (default: each task's own)")  # fmt: skip
    push.add_argument("--offline", action="store_true",
                      help="write ClearML offline sessions, contact no server")  # fmt: skip
    push.add_argument("--force", action="store_true",
                      help="push tasks already pushed to this server again")  # fmt: skip
    push.add_argument("--store", default=None,
                      help="store to read from (default: CHAINTRACK_TRACKING_URI)")  # fmt: skip
    push.add_argument("--verbose", action="store_true",
                      help="show what the clearml SDK prints")  # fmt: skip
    push.set_defaults(func=run_push)


def run_push(args: argparse.Namespace) -> int:
    task_ids = list(dict.fromkeys(args.task))
    if args.pending:
        task_ids.extend(t for t in pending(args.store) if t not in task_ids)
    if not task_ids:
        if args.pending:
            print("Nothing to push: every ended task is already in ClearML.")
            return 0
        print("chaintrack: error: name the tasks to push, or use --pending", file=sys.stderr)
        return 2
    bar = ProgressBar(sys.stderr) if len(task_ids) > 1 else None
    results = push_many(
        task_ids,
        args.project,
        offline=True if args.offline else None,
        force=args.force,
        store=args.store,
        progress=bar,
        quiet=not args.verbose,
    )
    for result in results:
        print(describe(result))
    return 0


def describe(result: PushResult) -> str:
    if result.outcome == "pushed":
        return f"{result.task_id}: pushed as ClearML task {result.clearml_id}  {result.url}"
    if result.outcome == "offline":
        return (
            f"{result.task_id}: offline session {result.session} (upload it with: "
            f"clearml-task --import-offline-session {result.session})"
        )
    return f"{result.task_id}: skipped, {result.message}"


class ProgressBar:
    """``[#####-----] 3/7 task-id  12s`` on one line of a terminal, a line per task elsewhere."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.monotonic()

    def __call__(self, done: int, total: int, task_id: str) -> None:
        filled = _BAR_WIDTH * done // max(total, 1)
        bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
        elapsed = time.monotonic() - self.started
        what = f"pushing {task_id}" if task_id else "done"
        line = f"[{bar}] {done}/{total} {what}  {elapsed:.0f}s"
        if self.tty:
            end = "\n" if done == total else ""
            self.stream.write(f"\r\033[K{line}{end}")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
