"""``chaintrack experiments compare A B``: two or more experiments, example by example, on the
terminal (the same table as ``compare_experiments`` and the compare view)."""

from __future__ import annotations

import argparse
from typing import Any

from chaintrack.eval import compare
from chaintrack.store import open_store

SHOWN_OUTPUT = 40


def _clip(text: str, width: int) -> str:
    flat = " ".join(text.split())
    flat = "".join(ch if ch.isprintable() else " " for ch in flat)
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def summary_lines(comparison: compare.Comparison) -> list[str]:
    """Each experiment's mean of each score, latency, tokens and cost."""
    means = comparison.means()
    names = [e.label for e in comparison.experiments]
    width = max(len(n) for n in [*means, "score"]) + 2
    lines = ["".ljust(width) + "".join(n[:24].rjust(26) for n in names)]
    for name, values in means.items():
        shown = ["unknown" if name == "cost_usd" and v is None else ("–" if v is None
                 else f"{v:.4g}") for v in values]  # fmt: skip
        lines.append(name.ljust(width) + "".join(s.rjust(26) for s in shown))
    return lines


def rows_frame(comparison: compare.Comparison, rows: list[compare.CompareRow], score: str | None,
               against: int) -> Any:  # fmt: skip
    import pandas as pd

    labels = [e.label for e in comparison.experiments]
    names = [score] if score else comparison.scores
    records = []
    for row in rows:
        record: dict[str, Any] = {"example": row.example_id}
        for index, label in enumerate(labels):
            cell = row.cells[index]
            record[f"{label}: output"] = "" if cell is None else _clip(
                cell.error or cell.output, SHOWN_OUTPUT)  # fmt: skip
            for name in names:
                record[f"{label}: {name}"] = compare._value(row, index, name)
        for name in names:
            record[f"Δ {name}"] = row.deltas[name][against]
        records.append(record)
    return pd.DataFrame(records)


def _cmd_compare(args: argparse.Namespace) -> int:
    import pandas as pd

    comparison = compare.build(open_store(), args.experiments)
    rows = compare.select_rows(comparison, sort=args.sort, descending=args.order == "desc",
                               score=args.score, against=args.against,
                               row_filter=args.filter)  # fmt: skip
    labels = " vs ".join(e.label for e in comparison.experiments)
    print(
        f"{labels}: {len(comparison.rows)} examples (baseline: {comparison.experiments[0].label})"
    )
    print()
    print("\n".join(summary_lines(comparison)))
    print()
    shown = rows[: args.limit]
    print(f"{len(rows)} example(s) shown by filter {args.filter!r}, sorted by {args.sort}"
          f"{'' if len(shown) == len(rows) else f' (first {len(shown)})'}:")  # fmt: skip
    if shown:
        frame = rows_frame(comparison, shown, args.score, args.against)
        with pd.option_context("display.width", 250, "display.max_columns", 50,
                               "display.max_colwidth", SHOWN_OUTPUT + 2):  # fmt: skip
            print(frame.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    return 0


def register(commands: Any) -> None:
    """Add ``chaintrack experiments`` to the CLI's subcommands."""
    experiments = commands.add_parser(
        "experiments", help="compare experiments (evaluate runs) example by example",
        description="Experiments made by chaintrack.evaluate.",
    )  # fmt: skip
    actions = experiments.add_subparsers(dest="experiments_command", metavar="ACTION",
                                         required=True)  # fmt: skip
    cmp = actions.add_parser(
        "compare", help="two or more experiments on one dataset, example by example",
        description="Print each experiment's mean scores, then one row per example with "
        "each experiment's output and scores and the deltas against the first (baseline).",
    )  # fmt: skip
    cmp.add_argument("experiments", nargs="+", metavar="EXPERIMENT", help="experiment ids")
    cmp.add_argument("--score", default=None, help="the score to show, filter and sort by "
                     "(default: all scores shown; the first one filters and sorts)")  # fmt: skip
    cmp.add_argument(
        "--against",
        type=int,
        default=1,
        help="the experiment whose deltas filter and sort (default 1: the second)",
    )
    cmp.add_argument(
        "--filter",
        default="all",
        choices=compare.FILTERS,
        help="which examples: all (default), worse, better, changed, same, errors",
    )
    cmp.add_argument("--sort", default="example",
                     choices=("example", "delta", "score", *compare.MEASURES),
                     help="row order (default: the dataset's)")  # fmt: skip
    cmp.add_argument("--order", default="asc", choices=("asc", "desc"))
    cmp.add_argument("--limit", type=int, default=50, help="rows to print (default 50)")
    cmp.set_defaults(func=_cmd_compare)
