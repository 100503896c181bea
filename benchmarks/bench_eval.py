"""Benchmarks of experiments: chaintrack's own time per example of ``evaluate``, how a slow
target scales with ``max_concurrency``, and the server time of a page of the per-example
comparison of two experiments of 1,000 examples. Prints a table; not a test.

    .venv/bin/python benchmarks/bench_eval.py            # full sizes, about a minute
    .venv/bin/python benchmarks/bench_eval.py --quick    # reduced sizes, a smoke check

chaintrack time per example: the process's CPU time over all threads (the workers, the writer,
the calling thread) from ``evaluate`` until everything is stored, minus the target's own time,
divided by the number of examples; wall time is shown beside it. The target is trivial (it
returns a string) and the scorers are ``exact_match``, ``contains`` and ``fuzzy_match``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_sdk import header  # noqa: E402
from bench_server import REPEATS, Row, print_table, server_ms  # noqa: E402

OVERHEAD_GOAL_MS = 1.0
PAGE_GOAL_MS = 200.0


def rows_of(n: int) -> list[dict[str, Any]]:
    return [{"inputs": {"question": f"What is {i} + {i}?"}, "expected": str(2 * i),
             "metadata": {"i": i}} for i in range(n)]  # fmt: skip


def overhead(n: int, rows: list[Row], notes: list[str]) -> tuple[Any, Any]:
    from chaintrack import Dataset, evaluate
    from chaintrack import scorers as s

    dataset = Dataset.create("bench", "bench/eval").add_rows(rows_of(n)).finalize()
    scorers = [s.exact_match(), s.contains(), s.fuzzy_match()]
    # A first, small experiment pays the process's one-time costs (imports of rapidfuzz, tqdm,
    # pandas' writers; the first store connections), shown apart.
    warm = Dataset.create("warm-up", "bench/eval").add_rows(rows_of(20)).finalize()
    cpu, wall = time.process_time(), time.perf_counter()
    evaluate(lambda inputs: "0", warm, scorers, experiment_name="warm-up", progress=False)
    rows.append(Row("first evaluate of the process, 20 examples (one-time costs)", "-",
                    f"{time.perf_counter() - wall:.2f} s wall, "
                    f"{time.process_time() - cpu:.2f} s CPU", "info"))  # fmt: skip
    experiments = []
    for name, wrong in (("baseline", 0), ("candidate", 3)):
        spent = [0.0]

        def target(inputs: dict[str, Any], wrong: int = wrong, spent: list[float] = spent) -> str:
            start = time.thread_time()
            i = int(inputs["question"].split()[2])
            answer = str(2 * i + (1 if wrong and i % wrong == 0 else 0))
            spent[0] += time.thread_time() - start
            return answer

        cpu, wall = time.process_time(), time.perf_counter()
        experiment = evaluate(target, dataset, scorers, experiment_name=name, progress=False)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        per = (cpu - spent[0]) / n * 1000
        verdict = "pass" if per <= OVERHEAD_GOAL_MS else "FAIL"
        rows.append(Row(f"evaluate, {n:,} examples ({name}): chaintrack CPU per example",
                        f"<= {OVERHEAD_GOAL_MS:g} ms", f"{per:.3f} ms", verdict))  # fmt: skip
        rows.append(Row(f"evaluate, {n:,} examples ({name}): wall per example", "-",
                        f"{wall / n * 1000:.3f} ms", "info"))  # fmt: skip
        notes.append(f"{name}: {n:,} examples in {wall:.2f} s wall, {cpu:.2f} s CPU (target "
                     f"{spent[0] * 1000:.1f} ms), max_concurrency=4, results "
                     f"{len(experiment.results):,}")  # fmt: skip
        experiments.append(experiment)
    return experiments[0], experiments[1]


def concurrency(n: int, sleep: float, rows: list[Row], notes: list[str]) -> None:
    from chaintrack import Dataset, evaluate
    from chaintrack import scorers as s

    dataset = Dataset.create("bench-sleep", "bench/eval").add_rows(rows_of(n)).finalize()

    def slow(inputs: dict[str, Any]) -> str:
        time.sleep(sleep)
        return "x"

    base = None
    for workers in (1, 2, 4, 8, 16):
        start = time.perf_counter()
        evaluate(slow, dataset, [s.exact_match()], max_concurrency=workers, progress=False)
        wall = time.perf_counter() - start
        base = base or wall
        ideal = n * sleep / workers
        rows.append(Row(f"sleeping target ({sleep * 1000:.0f} ms), {n} examples, "
                        f"max_concurrency={workers}", "scales", f"{wall:.2f} s "
                        f"({base / wall:.1f}×)", "info"))  # fmt: skip
        notes.append(f"max_concurrency={workers}: {wall:.2f} s, ideal {ideal:.2f} s")


def compare_page(a: Any, b: Any, rows: list[Row], notes: list[str]) -> None:
    import asyncio

    import httpx

    from chaintrack.server.app import create_app
    from chaintrack.store import open_store

    app = create_app(open_store())
    ids = f"ids={a.id}&ids={b.id}"
    paths = [
        ("compare view, 2 × 1,000 examples, first page", f"/experiments/compare?{ids}"),
        ("compare view, worse on exact_match, by delta",
         f"/experiments/compare?{ids}&score=exact_match&filter=worse&sort=delta"),
        ("compare API, page 10 of 50 rows", f"/api/v1/experiments/compare?{ids}&offset=450"),
    ]  # fmt: skip

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for label, path in paths:
                first = await client.get(path)
                assert first.status_code == 200, (path, first.text[:300])
                times = []
                for _ in range(REPEATS):
                    times.append(server_ms(await client.get(path)))
                median = statistics.median(times)
                verdict = "pass" if median <= PAGE_GOAL_MS else "FAIL"
                rows.append(Row(label, f"<= {PAGE_GOAL_MS:.0f} ms", f"{median:.1f} ms",
                                verdict))  # fmt: skip
                notes.append(f"{label}: median {median:.1f} ms, max {max(times):.1f} ms, "
                             f"{len(first.content):,} bytes")  # fmt: skip

    asyncio.run(run())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chaintrack-bench-eval-") as home:
        os.environ["CHAINTRACK_HOME"] = home
        os.environ.pop("CHAINTRACK_TRACKING_URI", None)
        os.environ["CHAINTRACK_AUTO_CONNECT_STREAMS"] = "0"
        print("\n".join(header(args.quick)).replace("SDK benchmarks", "evaluation benchmarks"))
        rows: list[Row] = []
        notes: list[str] = []
        a, b = overhead(200 if args.quick else 1_000, rows, notes)
        concurrency(16 if args.quick else 64, 0.02, rows, notes)
        compare_page(a, b, rows, notes)
        print_table(rows, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
