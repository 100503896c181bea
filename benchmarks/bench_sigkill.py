"""How much a process killed with SIGKILL loses: the reports of its last moments.

    .venv/bin/python benchmarks/bench_sigkill.py [--runs 10]

A child process (tests/sdk/chaintrack_child.py, mode ``paced``) reports a scalar about every
half millisecond, whose value is the time it was reported, and a LangChain run every tenth;
it is killed with SIGKILL at a random moment. The lost window is the time between the kill and
the newest report in the store. Printed for a few values of CHAINTRACK_WRITE_INTERVAL.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = Path(__file__).resolve().parent.parent / "tests" / "sdk" / "chaintrack_child.py"


def one_run(interval: str) -> tuple[float, int]:
    home = Path(tempfile.mkdtemp())
    env = {**os.environ, "CHAINTRACK_HOME": str(home), "CHAINTRACK_WRITE_INTERVAL": interval,
           "CHAINTRACK_AUTO_CONNECT_STREAMS": "0", "PYTHONUNBUFFERED": "1"}  # fmt: skip
    with subprocess.Popen(
        [sys.executable, str(CHILD), "paced"], env=env, stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        task_id = child.stdout.readline().split()[1]
        for line in child.stdout:
            if line.strip() == "reported 1500":
                break
        time.sleep(random.uniform(0.0, 0.5))
        killed_at = time.time()
        child.send_signal(signal.SIGKILL)
        child.wait()
    with contextlib.closing(sqlite3.connect(home / "chaintrack.db")) as conn:
        last, count = conn.execute(
            "SELECT max(value), count(*) FROM events WHERE task_id = ? AND metric = 'clock'",
            (task_id,),
        ).fetchone()
    return (killed_at - last) * 1000, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    print(f"# {platform.platform()}, Python {platform.python_version()}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")  # fmt: skip
    print("| CHAINTRACK_WRITE_INTERVAL | runs | lost window min / median / max (ms) |")
    print("|---|---|---|")
    for interval in ("0.05", "0.2", "1"):
        windows = [one_run(interval)[0] for _ in range(args.runs)]
        print(f"| {interval} s | {args.runs} | {min(windows):.0f} / "
              f"{statistics.median(windows):.0f} / {max(windows):.0f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
