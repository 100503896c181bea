"""Benchmarks of plot reports: what each Logger plot call costs the caller's thread, how long
until they are stored, and the server time of the Plots tab. Prints a table; not a test.

    .venv/bin/python benchmarks/bench_plots.py           # about 30 s
    .venv/bin/python benchmarks/bench_plots.py --quick   # reduced sizes

A plot call builds its Plotly JSON in the caller's thread (the figure is read at the call, so a
later change to an array changes nothing stored), then hands one event to the writer thread.
Caller cost is the median of each call timed alone with ``time.perf_counter``. The Plots tab is
served in-process over ``httpx.ASGITransport``; server time is its ``Server-Timing`` header.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import httpx

PAGE_GOAL_MS = 200.0
CALL_GOAL_MS = 5.0


def timed(call: Callable[[int], None], n: int) -> float:
    """Median milliseconds of ``call(i)`` over n calls, after two warm-ups."""
    call(-1)
    call(-2)
    samples = []
    for i in range(n):
        start = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    home = Path(tempfile.mkdtemp(prefix="bench-plots-"))
    os.environ["CHAINTRACK_HOME"] = str(home)
    os.environ["CHAINTRACK_AUTO_CONNECT_STREAMS"] = "0"
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import plotly.graph_objects as go

    from chaintrack import Task
    from chaintrack.server.app import create_app
    from chaintrack.store import open_store

    n = 20 if quick else 100
    rng = np.random.default_rng(0)
    task = Task.init(project_name="bench", task_name="plots")
    log = task.get_logger()
    points = rng.random((1_000, 2))
    figure = go.Figure(go.Scatter(x=points[:, 0], y=points[:, 1], mode="markers"))
    mpl, axes = plt.subplots()
    axes.plot(points[:, 0], points[:, 1])
    image = (rng.random((256, 256, 3)) * 255).astype(np.uint8)
    calls: list[tuple[str, Callable[[int], None]]] = [
        ("report_plotly, 1,000 points", lambda i: log.report_plotly("plotly", "s", figure, i)),
        ("report_histogram, 100 bars",
         lambda i: log.report_histogram("hist", "s", rng.random(100), iteration=i)),
        ("report_scatter2d, 1,000 points",
         lambda i: log.report_scatter2d("scatter", "s", points, iteration=i)),
        ("report_confusion_matrix, 20×20",
         lambda i: log.report_confusion_matrix("cm", "s", rng.random((20, 20)), iteration=i)),
        ("report_surface, 50×50",
         lambda i: log.report_surface("surface", "s", rng.random((50, 50)), iteration=i)),
        ("report_matplotlib_figure, 1,000-point line",
         lambda i: log.report_matplotlib_figure("mpl", "s", mpl, iteration=i)),
        ("report_image, 256×256 RGB array",
         lambda i: log.report_image("img", "s", iteration=i, image=image)),
    ]  # fmt: skip
    rows: list[tuple[str, str, str, str]] = []
    total = 0
    for name, call in calls:
        count = n if "matplotlib" not in name else max(5, n // 5)
        ms = timed(call, count)
        total += count + 2
        rows.append((f"caller cost: {name}", f"<= {CALL_GOAL_MS:g} ms", f"{ms:.2f} ms",
                     "pass" if ms <= CALL_GOAL_MS else "FAIL"))  # fmt: skip
    start = time.perf_counter()
    log.flush()
    rows.append(
        ("flush after the calls", "-", f"{(time.perf_counter() - start) * 1000:.0f} ms", "-")
    )
    # A task with many plots: 40 titles × 3 series × 25 iterations.
    task.close()
    big = Task.init(project_name="bench", task_name="many plots")
    blog = big.get_logger()
    iterations = 5 if quick else 25
    for t in range(40):
        for s in range(3):
            for i in range(iterations):
                blog.report_histogram(f"title {t}", f"series {s}", rng.random(20), iteration=i)
    big.close()
    store = open_store()

    async def page_times() -> list[float]:
        transport = httpx.ASGITransport(app=create_app(store))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            found = []
            for _ in range(6):
                response = await client.get(f"/tasks/{big.id}?tab=plots")
                assert response.status_code == 200
                found.append(float(response.headers["server-timing"].split("dur=", 1)[1]))
            return found[1:]

    times = asyncio.run(page_times())
    reports = 40 * 3 * iterations
    ms = statistics.median(times)
    rows.append((f"Plots tab, {reports:,} plots (median of 5)", f"<= {PAGE_GOAL_MS:g} ms",
                 f"{ms:.0f} ms (worst {max(times):.0f})",
                 "pass" if ms <= PAGE_GOAL_MS else "FAIL"))  # fmt: skip
    stored = len(store.get_events(task.id, "plot")) + len(store.get_events(task.id, "media"))
    print(f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, "
          f"{platform.platform()}; Python {platform.python_version()}")  # fmt: skip
    print(
        f"versions: chaintrack (this checkout), plotly {version('plotly')}, numpy "
        f"{version('numpy')}, matplotlib {version('matplotlib')}, pillow {version('pillow')}"
    )
    print(f"load: {' '.join(f'{x:.2f}' for x in os.getloadavg())}{'  (--quick)' if quick else ''}")
    print()
    print("| metric | goal | measured | pass/fail |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nevents stored: {stored} of {total} reported")
    return 0 if stored == total else 1


if __name__ == "__main__":
    sys.exit(main())
