"""``chaintrack reprice TASK… | --project P``: price stored tasks' model calls again."""

from __future__ import annotations

import argparse
import math
from typing import Any


def _cmd_reprice(args: argparse.Namespace) -> int:
    from chaintrack.cli import format_table
    from chaintrack.sdk.costs import reprice
    from chaintrack.server.forms import usd

    found = reprice(args.task or None, project=args.project)
    rows = [
        [r.task_id, r.model_calls, r.priced, r.unknown, usd(_cost(r.cost_before)),
         usd(_cost(r.cost_after))]
        for r in found.itertuples()
    ]  # fmt: skip
    header = ["id", "model calls", "priced", "unknown", "cost before", "cost after"]
    print(format_table(header, rows))  # noqa: T201
    if len(found):
        print(f"priced with {found['price_source'].iloc[0]}")  # noqa: T201
    return 0


def _cost(value: Any) -> float | None:
    # pandas holds a missing cost as NaN: unknown.
    return None if value is None or math.isnan(value) else float(value)


def register(commands: Any) -> None:
    """Add ``reprice`` to the ``chaintrack`` command's sub-commands."""
    command = commands.add_parser(
        "reprice",
        help="price stored tasks' model calls again",
        description="Price the model calls of stored tasks again with the current price table "
        "(genai-prices and CHAINTRACK_PRICES; a tracking server uses its own) and update their "
        "totals. A call whose model has no price stays unknown.",
    )
    command.add_argument("task", nargs="*", metavar="TASK", help="task ids")
    command.add_argument(
        "--project", "-p", help="every task of this project (and its sub-projects)"
    )
    command.set_defaults(func=_cmd_reprice)
