"""SDK benchmarks: caller-thread cost of reports, store throughput, Task.init/close wall time.

Run by hand, not by pytest::

    .venv/bin/python benchmarks/bench_sdk.py            # full sizes (about 1.5 minutes)
    .venv/bin/python benchmarks/bench_sdk.py --quick    # reduced sizes, a smoke check

Every measurement runs in a fresh child process (this script with ``--child``) on a fresh
``CHAINTRACK_HOME`` in a temporary folder, with the SDK's defaults (console capture on, the
background writer running, the default queue size). The child imports chaintrack before it
starts its clock; chaintrack opens its store (and imports SQLAlchemy) in the first Task.init,
so that import is part of Task.init, and one row shows Task.init with it done beforehand. The
parent prints one table, ``metric | goal | measured | pass/fail``, headed by the machine and
the versions; benchmarks/README.md says what each row measures.

Exit status: 0 when every measurement ran and every event count in the database is right
(a missed goal is reported in the table, not in the exit status); 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Sizes:
    latency_calls: int  # calls timed one by one, per method
    scalars: int  # scalar events for the throughput run
    texts: int  # 1-KB text events for the throughput run
    text_bytes: int
    throughput_runs: int  # child processes per throughput measurement (the median is shown)
    lifecycle_runs: int  # child processes per Task.init / close() measurement
    events_before_close: int


FULL = Sizes(50_000, 500_000, 100_000, 1024, 3, 15, 1_000)
QUICK = Sizes(5_000, 20_000, 5_000, 1024, 1, 3, 1_000)


# -- the children: one measurement each, results as JSON in a file -------------------------


def _percentiles(ns: list[int], timer_ns: int) -> dict[str, float]:
    """Median, p90, p99 and max of per-call times, in microseconds."""
    ordered = sorted(ns)
    n = len(ordered)

    def at(q: float) -> float:
        return ordered[min(n - 1, int(q * n))] / 1000

    return {
        "calls": n,
        "median_us": statistics.median(ordered) / 1000,
        "p90_us": at(0.90),
        "p99_us": at(0.99),
        "max_us": ordered[-1] / 1000,
        "timer_overhead_us": timer_ns / 1000,
    }


def _timer_overhead_ns(n: int) -> int:
    """Median cost of the ``perf_counter_ns`` pair that brackets every timed call."""
    clock = time.perf_counter_ns
    samples = [0] * n
    for i in range(n):
        t0 = clock()
        samples[i] = clock() - t0
    return int(statistics.median(samples))


def child_latency(sizes: Sizes) -> dict[str, Any]:
    """Goal 1: time every report_scalar / report_text call on the caller's thread."""
    from chaintrack import Task

    n = sizes.latency_calls
    task = Task.init(project_name="bench", task_name="latency")
    logger = task.get_logger()
    for i in range(1_000):  # warm-up: start the writer, fill the interpreter's caches
        logger.report_scalar("warmup", "x", 0.0, i)
    logger.flush()
    clock = time.perf_counter_ns
    timer = _timer_overhead_ns(10_000)

    values = [i * 0.001 for i in range(n)]
    scalar_ns = [0] * n
    for i in range(n):
        value = values[i]
        t0 = clock()
        logger.report_scalar("loss", "train", value, i)
        scalar_ns[i] = clock() - t0
    logger.flush()

    line = "step done: prompt_tokens=812 completion_tokens=143 latency_ms=1234.5 ok"
    text_ns = [0] * n
    for i in range(n):
        t0 = clock()
        logger.report_text(line, print_console=False)
        text_ns[i] = clock() - t0
    logger.flush()
    writer = task._writer
    result = {
        "report_scalar": _percentiles(scalar_ns, timer),
        "report_text": _percentiles(text_ns, timer),
        "spilled": writer.spilled_total,
    }
    task.close()
    return result


def _count_events(home: Path, task_id: str, kind: str) -> int:
    with sqlite3.connect(home / "chaintrack.db") as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM events WHERE task_id = ? AND kind = ?", (task_id, kind)
        ).fetchone()
    return int(count)


def child_throughput(sizes: Sizes, kind: str) -> dict[str, Any]:
    """Goal 2: events/s from the first report until flush() returns (all committed)."""
    from chaintrack import Task

    task = Task.init(project_name="bench", task_name=f"throughput-{kind}")
    logger = task.get_logger()
    logger.flush()  # the task row is written and the writer thread is running
    clock = time.perf_counter
    if kind == "scalar":
        n = sizes.scalars
        values = [i * 0.001 for i in range(n)]
        t0 = clock()
        for i in range(n):
            logger.report_scalar("loss", "train", values[i], i)
    else:
        n = sizes.texts
        # Distinct 1-KB lines, made before the clock starts.
        base = "x" * (sizes.text_bytes - 8)
        lines = [f"{i:08d}{base}" for i in range(n)]
        t0 = clock()
        for i in range(n):
            logger.report_text(lines[i], print_console=False)
    t_reported = clock()
    flushed = logger.flush()
    t_done = clock()
    writer = task._writer
    stats = {"spilled": writer.spilled_total, "failed": writer.failed_total}
    task_id = task.id
    task.close()
    home = Path(os.environ["CHAINTRACK_HOME"])
    return {
        "events": n,
        "seconds": t_done - t0,
        "report_seconds": t_reported - t0,
        "flushed": flushed,
        "in_db": _count_events(home, task_id, "scalar" if kind == "scalar" else "log"),
        **stats,
    }


def child_anchor(sizes: Sizes) -> dict[str, Any]:
    """The physical anchor: the same scalar rows inserted with the stdlib ``sqlite3`` module
    (``executemany``, one transaction per writer batch) into a store that chaintrack's SqlStore
    created on a fresh file (identical schema and indexes) with chaintrack's pragmas."""
    from chaintrack.sdk.writer import BATCH_MAX
    from chaintrack.store.sql import SqlStore
    from chaintrack.store.sqlitebulk import EVENT_INSERT

    path = Path(os.environ["CHAINTRACK_HOME"]) / "anchor.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    SqlStore(f"sqlite:///{path}").close()
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "temp_store=MEMORY"):
        conn.execute(f"PRAGMA {pragma}")
    n, task_id, wid, now = sizes.scalars, "0" * 32, 1, time.time()
    rows = [
        # In the order of schema.EVENT_COLUMNS: (task_id, writer, seq, kind, ts, metric,
        # variant, iter, value, level, text, data_json), as the writer stores them.
        (task_id, wid, i, "scalar", now + i * 1e-6, "loss", "train", i, i * 0.001, None, None,
         None)
        for i in range(n)
    ]  # fmt: skip
    sql = EVENT_INSERT  # the statement the store runs with executemany
    t0 = time.perf_counter()
    for start in range(0, n, BATCH_MAX):
        conn.execute("BEGIN")
        conn.executemany(sql, rows[start : start + BATCH_MAX])
        conn.execute("COMMIT")
    seconds = time.perf_counter() - t0
    (count,) = conn.execute("SELECT count(*) FROM events").fetchone()
    conn.close()
    return {"events": n, "seconds": seconds, "in_db": int(count), "batch": BATCH_MAX}


def child_lifecycle(sizes: Sizes, preimport: bool) -> dict[str, Any]:
    """Goal 3: Task.init and close() wall time (chaintrack is imported before the clock).

    ``import chaintrack`` does not import SQLAlchemy: the first Task.init does, when it opens
    the store. With ``preimport`` the store's modules are imported before the clock too.
    """
    from chaintrack import Task

    if preimport:
        import chaintrack.store.sql  # noqa: F401
    clock = time.perf_counter
    t0 = clock()
    task = Task.init(project_name="bench", task_name="lifecycle")
    t1 = clock()
    logger = task.get_logger()
    for i in range(sizes.events_before_close):
        logger.report_scalar("loss", "train", i * 0.001, i)
    t2 = clock()
    task.close()
    t3 = clock()
    return {"init_ms": (t1 - t0) * 1000, "close_ms": (t3 - t2) * 1000}


# -- the parent: run the children, print the table ------------------------------------------


@dataclass
class Row:
    metric: str
    goal: str
    measured: str
    verdict: str  # "pass", "FAIL" or "info"


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ok: bool = True

    def add(self, metric: str, goal: str, measured: str, passed: bool | None) -> None:
        verdict = "info" if passed is None else ("pass" if passed else "FAIL")
        self.rows.append(Row(metric, goal, measured, verdict))


def run_child(
    name: str, home: Path, quick: bool, *args: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter with CHAINTRACK_HOME=home (and ``env``)."""
    child_env = dict(os.environ, CHAINTRACK_HOME=str(home))
    for key in (
        "CHAINTRACK_TRACKING_URI",
        "CHAINTRACK_QUEUE_SIZE",
        "CHAINTRACK_SPOOL_DIR",
        "CHAINTRACK_AUTO_CONNECT_STREAMS",
    ):
        child_env.pop(key, None)
    child_env.update(env or {})
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    try:
        command = [sys.executable, str(Path(__file__).resolve()), "--child", name]
        command += ["--out", str(out), *args, *(["--quick"] if quick else [])]
        done = subprocess.run(command, env=child_env, capture_output=True, text=True, check=False)
        if done.returncode != 0 or out.stat().st_size == 0:
            raise RuntimeError(
                f"benchmark child {name!r} failed with exit status {done.returncode}:\n"
                f"{done.stderr[-4000:]}"
            )
        return dict(json.loads(out.read_text(encoding="utf-8")))
    finally:
        out.unlink(missing_ok=True)


def bench_latency(report: Report, sizes: Sizes, root: Path, quick: bool) -> None:
    result = run_child("latency", root / "latency", quick)
    for method, label in (
        ("report_scalar", "report_scalar"),
        ("report_text", "report_text(print_console=False)"),
    ):
        r = result[method]
        median = r["median_us"]
        report.add(f"{label}: caller cost, median", "<= 5 µs", f"{median:.2f} µs", median <= 5)
        report.add(f"{label}: p90", "-", f"{r['p90_us']:.2f} µs", None)
        report.add(f"{label}: p99", "-", f"{r['p99_us']:.2f} µs", None)
    scalar, text = result["report_scalar"], result["report_text"]
    report.notes.append(
        f"caller cost: {scalar['calls']:,} calls per method in a loop, each timed alone with "
        f"perf_counter_ns (timer overhead {scalar['timer_overhead_us']:.2f} µs, not "
        f"subtracted); max {scalar['max_us']:,.0f} µs (scalar), {text['max_us']:,.0f} µs "
        f"(text); events spilled: {result['spilled']}"
    )


def bench_throughput(report: Report, sizes: Sizes, root: Path, quick: bool) -> None:
    anchors = [
        run_child("anchor", root / f"anchor-{i}", quick) for i in range(sizes.throughput_runs)
    ]
    report.ok = report.ok and all(a["in_db"] == a["events"] for a in anchors)
    anchor_rates = sorted(a["events"] / a["seconds"] for a in anchors)
    anchor = statistics.median(anchor_rates)
    report.add("raw sqlite3 executemany, same rows and schema, per s", "-", f"{anchor:,.0f}/s",
               None)  # fmt: skip
    report.notes.append(
        f"physical anchor: {anchors[0]['events']:,} scalar rows inserted with the stdlib sqlite3 "
        f"module (executemany, transactions of {anchors[0]['batch']:,} rows, the writer's "
        "largest batch; rows built before the clock) into a fresh store created by SqlStore "
        "(same schema, indexes and pragmas); median of "
        f"{len(anchors)} runs ({', '.join(f'{x:,.0f}' for x in anchor_rates)}/s)"
    )
    big_queue = str(2 * max(sizes.scalars, sizes.texts))
    for kind, label, goal, env in (
        ("scalar", "scalar events", 100_000, {}),
        ("text", f"{sizes.text_bytes // 1024}-KB text events", 20_000, {}),
        # Information: the same burst with a queue that holds it all, so nothing spills.
        ("scalar", "scalar events, queue never full", None, {"CHAINTRACK_QUEUE_SIZE": big_queue}),
    ):
        runs = [
            run_child(
                "throughput", root / f"tp-{kind}-{i}-{bool(env)}", quick, "--kind", kind, env=env
            )
            for i in range(sizes.throughput_runs)
        ]
        counted = all(r["in_db"] == r["events"] and r["flushed"] and r["failed"] == 0 for r in runs)
        report.ok = report.ok and counted
        rates = sorted(r["events"] / r["seconds"] for r in runs)
        rate = statistics.median(rates)
        r = min(runs, key=lambda r: abs(r["events"] / r["seconds"] - rate))  # the median run
        if kind == "scalar":
            report.add(
                f"{label}: x raw sqlite3 ({'steady' if env else 'burst'})",
                ">= 0.7x",
                f"{rate / anchor:.2f}x",
                rate / anchor >= 0.7,
            )
        report.add(
            f"{label}: committed to SQLite, per s",
            "-" if goal is None else f">= {goal:,}/s",
            f"{rate:,.0f}/s",
            None if goal is None else (rate >= goal and counted),
        )
        queue = f"CHAINTRACK_QUEUE_SIZE={env['CHAINTRACK_QUEUE_SIZE']}" if env else "default queue"
        report.notes.append(
            f"{label} ({queue}): median of {len(runs)} runs "
            f"({', '.join(f'{x:,.0f}' for x in rates)}/s). Median run: {r['events']:,} "
            f"reported in {r['report_seconds']:.2f} s "
            f"({r['report_seconds'] / r['events'] * 1e6:.1f} µs per call), all committed "
            f"after {r['seconds']:.2f} s, {r['spilled']:,} spilled to the spool file on the "
            f"way. Rows in the database: {'verified' if counted else 'COUNT WRONG'}"
        )


def bench_lifecycle(report: Report, sizes: Sizes, root: Path, quick: bool) -> None:
    n = sizes.lifecycle_runs
    existing = root / "lifecycle-existing"
    run_child("lifecycle", existing, quick)  # an earlier task creates the store
    runs = [run_child("lifecycle", existing, quick) for _ in range(n)]
    warm = [run_child("lifecycle", existing, quick, "--preimport") for _ in range(n)]
    fresh = [run_child("lifecycle", root / f"lifecycle-new-{i}", quick) for i in range(n)]

    def median(results: list[dict[str, Any]], key: str) -> float:
        return float(statistics.median(r[key] for r in results))

    for label, value, goal in (
        ("Task.init, existing store, median", median(runs, "init_ms"), 50),
        ("Task.init, existing store, SQLAlchemy imported first", median(warm, "init_ms"), 50),
        ("Task.init, new store, median", median(fresh, "init_ms"), None),
        (
            f"close() after {sizes.events_before_close:,} events, median",
            median(runs, "close_ms"),
            50,
        ),
    ):
        passed = None if goal is None else value <= goal
        report.add(label, "-" if goal is None else f"<= {goal} ms", f"{value:.1f} ms", passed)
    report.notes.append(
        f"Task.init/close(): median of {n} fresh processes each. `from chaintrack import Task` "
        "runs before the clock (it imports SQLAlchemy too); the 'SQLAlchemy imported first' row "
        "also imports chaintrack.store.sql explicitly, which guards the first row against a "
        "lazy import creeping back into Task.init. "
        f"Task.init on the existing store, ms: {[round(r['init_ms'], 1) for r in runs]}; "
        f"close(), ms: {[round(r['close_ms'], 1) for r in runs]}"
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                return value.strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_revision() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=HERE,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=HERE,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (with uncommitted changes)" if dirty.strip() else "")


def header(quick: bool) -> list[str]:
    import chaintrack

    return [
        f"chaintrack SDK benchmarks{' (--quick: reduced sizes)' if quick else ''}",
        f"date:        {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"machine:     {_cpu_model()}, {os.cpu_count()} cores, {platform.platform()}",
        f"python:      {platform.python_version()} ({platform.python_implementation()})",
        f"sqlite:      {sqlite3.sqlite_version}",
        f"sqlalchemy:  {metadata.version('sqlalchemy')}",
        f"chaintrack:  {chaintrack.__version__}, git {_git_revision()}",
        f"load avg:    {_load()} at the start (other processes share the cores)",
    ]


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def render(report: Report) -> str:
    rows = [Row("metric", "goal", "measured", "pass/fail"), *report.rows]
    widths = [max(len(getattr(r, f)) for r in rows) for f in ("metric", "goal", "measured")]
    lines = []
    for i, r in enumerate(rows):
        cells = [
            r.metric.ljust(widths[0]),
            r.goal.ljust(widths[1]),
            r.measured.rjust(widths[2]) if i else r.measured.ljust(widths[2]),
            r.verdict.ljust(9),
        ]
        lines.append("| " + " | ".join(cells) + " |")
        if i == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in [*widths, 9]) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes: a smoke check")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--kind", help=argparse.SUPPRESS)
    parser.add_argument("--preimport", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL

    if args.child:
        children = {
            "latency": lambda: child_latency(sizes),
            "throughput": lambda: child_throughput(sizes, args.kind),
            "lifecycle": lambda: child_lifecycle(sizes, args.preimport),
            "anchor": lambda: child_anchor(sizes),
        }
        result = children[args.child]()
        Path(args.out).write_text(json.dumps(result), encoding="utf-8")
        return 0

    print("\n".join(header(args.quick)), flush=True)
    report = Report()
    with tempfile.TemporaryDirectory(prefix="chaintrack-bench-") as tmp:
        root = Path(tmp)
        for step in (bench_latency, bench_throughput, bench_lifecycle):
            try:
                step(report, sizes, root, args.quick)
            except RuntimeError as exc:
                report.ok = False
                report.notes.append(f"{step.__name__}: {exc}")
    print()
    print(render(report))
    print()
    for note in report.notes:
        print(f"- {note}")
    print(f"- load average at the end: {_load()}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
