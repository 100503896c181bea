"""The 16 complexity metrics: chaintrack's one pass against textstat's own functions.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_readability.py

For a prompt (~200 characters), a chat answer (~85) and a retrieved passage (~2,000), prints
the CPU per text of ``complexity_metrics`` (``chaintrack/text/readability.py``) and of
``textstat_metrics`` (textstat 0.7.13, one call per metric), each on texts it has not seen
(a number is appended to each, so that no cache of a whole text helps either side), and
checks that both give the same values for every text timed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

PROMPT = (
    "Which city is the capital of France, since when has it been the capital, and which "
    "other cities were the seat of the French government at some point in its history? "
    "Answer in one short sentence."
)
ANSWER = "Paris is the capital of France. It has been for a very long time, as everyone knows."
PASSAGE = (
    "The Treaty of Verdun, signed in August 843, divided the Carolingian Empire among the "
    "three surviving sons of Louis the Pious. Charles the Bald received the western part, "
    "which later became France; Louis the German received the eastern part, the nucleus of "
    "Germany; and Lothair kept the title of emperor with a middle kingdom stretching from the "
    "Low Countries through Burgundy and Provence to northern Italy. "
) * 5


def _cpu_per_text(measure: Callable[[str], Any], texts: list[str]) -> float:
    """Median over 5 rounds of the CPU per text, in µs."""
    rounds = []
    size = len(texts) // 5
    for r in range(5):
        chunk = texts[r * size : (r + 1) * size]
        start = time.process_time()
        for text in chunk:
            measure(text)
        rounds.append((time.process_time() - start) / len(chunk) * 1e6)
    return statistics.median(rounds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1000, help="texts per kind (1,000)")
    args = parser.parse_args(argv)
    from chaintrack.text.complexity import complexity_metrics, textstat_metrics

    complexity_metrics(PROMPT)  # loads textstat, the dictionaries and Pyphen
    print(f"CPU per text (µs, median of 5 rounds), {args.n:,} new texts of each kind")
    print("| text | characters | chaintrack | textstat | speed-up | same values |")
    print("|---|---|---|---|---|---|")
    for name, base in (("prompt", PROMPT), ("answer", ANSWER), ("passage", PASSAGE)):
        ours = [f"{base} Number {i}." for i in range(args.n)]
        theirs = [f"{base} Count {i}." for i in range(args.n)]
        fast = _cpu_per_text(complexity_metrics, ours)
        slow = _cpu_per_text(textstat_metrics, theirs)
        same = all(complexity_metrics(t) == textstat_metrics(t) for t in ours[:200])
        print(f"| {name} | {len(base)} | {fast:,.1f} | {slow:,.1f} | {slow / fast:.1f}x "
              f"| {'yes' if same else 'NO'} |")  # fmt: skip
        if not same:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
