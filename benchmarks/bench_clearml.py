"""What the ClearML mirror costs: ``close()`` with CHAINTRACK_MIRROR=clearml against without it,
and how long pushes take (online against the fake ClearML server of the tests on 127.0.0.1, and
offline sessions), for a small task and a large one.

    .venv/bin/python benchmarks/bench_clearml.py           # about 1 minute
    .venv/bin/python benchmarks/bench_clearml.py --quick   # a smoke check

The online numbers measure chaintrack and the clearml SDK against an in-memory fake server on
loopback, not a real ClearML server (whose own latency adds to every call).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "clearml_mirror"))


def _fresh_home() -> None:
    home = tempfile.mkdtemp(prefix="bench-clearml-")
    os.environ["CHAINTRACK_HOME"] = home
    os.environ["CLEARML_CACHE_DIR"] = os.path.join(home, "clearml-cache")
    os.environ["CLEARML_CONFIG_FILE"] = os.path.join(home, "no-clearml.conf")
    os.environ["CHAINTRACK_AUTO_CONNECT_STREAMS"] = "0"
    from chaintrack import store
    from chaintrack.sdk import writers

    writers.drain_all(10)
    writers.forget_writers()
    store.close_all()


def _task(name: str, scalars: int, lines: int) -> str:
    from chaintrack import Task

    task = Task.init(project_name="bench", task_name=name)
    logger = task.get_logger()
    for i in range(scalars):
        logger.report_scalar("loss", "train", 1.0 / (i + 1), i)
    for i in range(lines):
        logger.report_text(f"line {i} of the console", print_console=False)
    task.connect({"lr": 0.1, "model": "gpt-x"})
    task.upload_artifact("answers", {"q": "a"})
    task.close()
    return str(task.id)


def close_cost(repeats: int) -> dict[str, float]:
    """Median ``close()`` time of a task with 1,000 events, without and with the mirror: what the
    application waits for in ``close()``."""
    from chaintrack import Task
    from chaintrack.sdk import mirror

    result = {}
    for label, value in (("off", ""), ("clearml", "clearml")):
        os.environ["CHAINTRACK_MIRROR"] = value
        times = []
        for i in range(repeats):
            task = Task.init(project_name="bench", task_name=f"close {label} {i}")
            for j in range(1_000):
                task.get_logger().report_scalar("loss", "train", 0.5, j)
            started = time.perf_counter()
            task.close()
            times.append(time.perf_counter() - started)
            # Outside the clock: the background push (which fails here: no credentials) would
            # otherwise compete for the CPU with the next iteration.
            mirror.wait(120)
        result[label] = statistics.median(times) * 1000
    os.environ["CHAINTRACK_MIRROR"] = ""
    return result


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    big_scalars, big_lines = (2_000, 200) if args.quick else (50_000, 5_000)

    _fresh_home()
    from fake_clearml_server import FakeClearMLServer

    from chaintrack.clearml import push, push_many

    close = close_cost(3 if args.quick else 15)
    small = _task("small", 100, 20)
    big = _task("big", big_scalars, big_lines)
    several = [_task(f"several {i}", 100, 20) for i in range(5)]
    offline_small = timed(lambda: push(small, offline=True))
    offline_big = timed(lambda: push(big, offline=True))
    fake = FakeClearMLServer()
    os.environ.update(fake.client_env())
    online_small = timed(lambda: push(small))
    online_big = timed(lambda: push(big))
    online_several = timed(lambda: push_many(several))
    events = len(fake.state.events)
    fake.close()

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, load {os.getloadavg()[0]:.1f}")  # fmt: skip
    rows = [
        ("close() of a task with 1,000 events, no mirror (median)", f"{close['off']:.1f} ms"),
        ("close() with CHAINTRACK_MIRROR=clearml (median)", f"{close['clearml']:.1f} ms"),
        ("offline push, 100 scalars + 20 lines (one process)", f"{offline_small:.2f} s"),
        (f"offline push, {big_scalars:,} scalars + {big_lines:,} lines", f"{offline_big:.2f} s"),
        ("online push (fake server), small task", f"{online_small:.2f} s"),
        (
            f"online push (fake server), {big_scalars:,} scalars + {big_lines:,} lines",
            f"{online_big:.2f} s",
        ),
        ("online push of 5 small tasks in one command", f"{online_several:.2f} s"),
        ("events the fake server received", f"{events:,}"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"| {'metric':<{width}} | measured |")
    print(f"|{'-' * (width + 2)}|----------|")
    for label, value in rows:
        print(f"| {label:<{width}} | {value} |")


if __name__ == "__main__":
    main()
