"""Benchmarks of the web UI and the tracking server: server time of pages and API reads on large
stores, and ingestion over HTTP. Prints a table; not a test.

    .venv/bin/python benchmarks/bench_server.py           # full sizes, about 2 minutes
    .venv/bin/python benchmarks/bench_server.py --quick   # reduced sizes, a smoke check

Server time is the ``Server-Timing`` header of each response (the app's time until the response
starts: routing, store queries, rendering), with the app served in-process over
``httpx.ASGITransport``, so the network and the client are not counted. Ingestion runs a real
``chaintrack server`` process and a real SDK client process on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench_sdk import _cpu_model, _git_revision, _load

PAGE_GOAL_MS = 200.0
INGEST_GOAL = 20_000.0
REPEATS = 15


@dataclass
class Row:
    metric: str
    goal: str
    measured: str
    verdict: str


def server_ms(response: httpx.Response) -> float:
    timing = response.headers["server-timing"]
    return float(timing.split("dur=", 1)[1])


def time_requests(
    app: Any, paths: list[tuple[str, str]], rows: list[Row], notes: list[str]
) -> None:
    """Median and worst server time of each path over REPEATS requests (after one warm-up)."""

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for label, path in paths:
                first = await client.get(path)
                assert first.status_code == 200, (path, first.status_code, first.text[:300])
                times = []
                for _ in range(REPEATS):
                    response = await client.get(path)
                    times.append(server_ms(response))
                median = statistics.median(times)
                verdict = "pass" if median <= PAGE_GOAL_MS else "FAIL"
                rows.append(Row(label, f"<= {PAGE_GOAL_MS:.0f} ms", f"{median:.1f} ms", verdict))
                notes.append(
                    f"{label}: GET {path[:90]} -> median {median:.1f} ms, max "
                    f"{max(times):.1f} ms, {len(first.content):,} bytes"
                )

    asyncio.run(run())


def print_table(rows: list[Row], notes: list[str]) -> None:
    """The rows as a Markdown table, then the notes as a list."""
    widths = [max(len(getattr(r, f)) for r in rows) for f in ("metric", "goal", "measured")]
    widths = [max(w, len(h)) for w, h in zip(widths, ("metric", "goal", "measured"), strict=True)]
    print()
    print(
        f"| {'metric'.ljust(widths[0])} | {'goal'.ljust(widths[1])} | "
        f"{'measured'.ljust(widths[2])} | pass/fail |"
    )
    print(f"|{'-' * (widths[0] + 2)}|{'-' * (widths[1] + 2)}|{'-' * (widths[2] + 2)}|-----------|")
    for r in rows:
        print(
            f"| {r.metric.ljust(widths[0])} | {r.goal.ljust(widths[1])} | "
            f"{r.measured.rjust(widths[2])} | {r.verdict.ljust(9)} |"
        )
    print()
    for note in notes:
        print(f"- {note}")


# -- stores ----------------------------------------------------------------------------------


def span_payload(task: str, sid: str, parent: str | None, kind: str, start: float) -> str:
    return json.dumps(
        {
            "span_id": sid,
            "parent_id": parent,
            "kind": kind,
            "name": f"{kind} {sid}",
            "start_time": start,
            "end_time": start + 0.4,
            "latency_ms": 400.0,
            "status": "error" if sid.endswith("7") else "ok",
            "error": "Timeout" if sid.endswith("7") else None,
            "input": "Question: " + "what is in the context? " * 20,
            "output": "Answer " * 60,
            "prompt_tokens": 120 if kind == "llm" else None,
            "completion_tokens": 40 if kind == "llm" else None,
            "total_tokens": 160 if kind == "llm" else None,
            "model_name": "gpt-4o-mini" if kind == "llm" else None,
        }
    )


def many_tasks_store(root: Path, count: int, uri: str | None = None) -> Any:
    from chaintrack.store.records import SPAN, TaskRecord, WriteBatch
    from chaintrack.store.sql import SqlStore

    store = SqlStore(uri or f"sqlite:///{root / 'tasks.db'}")
    rng = random.Random(1)
    statuses = ["completed"] * 8 + ["failed", "in_progress"]
    tasks, events = [], []
    for i in range(count):
        tid = f"{i:032x}"
        created = 1.7e9 + i * 60
        tasks.append(
            TaskRecord(
                id=tid,
                project=f"team/project-{i % 20}",
                name=f"run {i} prompt-v{i % 7}",
                type="inference",
                status=rng.choice(statuses),
                created=created,
                last_update=created + rng.uniform(1, 600),
                started=created,
                completed=created + rng.uniform(1, 600),
                tags=[f"v{i % 5}", "nightly"][: 1 + i % 2],
            )
        )
        if i % 10 == 0:  # a tenth of the tasks ran LLM calls: a chain and four calls
            events.append(
                (
                    tid,
                    1,
                    1,
                    SPAN,
                    created,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    span_payload(tid, "r0", None, "chain", created),
                )
            )
            for n in range(1, 5):
                events.append(
                    (
                        tid,
                        1,
                        n + 1,
                        SPAN,
                        created,
                        None,
                        None,
                        None,
                        None,
                        None,
                        None,
                        span_payload(tid, f"c{n}", "r0", "llm", created + n),
                    )
                )
    store.write(WriteBatch(new_tasks=tasks, events=events))  # type: ignore[arg-type]
    return store


def big_task_store(
    root: Path, records: int, uri: str | None = None, tid: str = "b" * 32
) -> tuple[Any, str]:
    """One task with ``records`` events: 60% console lines, 30% scalars, 10% spans."""
    from chaintrack.store.records import LOG, SCALAR, SPAN, TaskRecord, WriteBatch
    from chaintrack.store.sql import SqlStore

    store = SqlStore(uri or f"sqlite:///{root / 'big.db'}")
    task = TaskRecord(
        id=tid,
        project="big",
        name="100k records",
        type="inference",
        status="completed",
        created=1.7e9,
        last_update=1.7e9 + 3600,
        started=1.7e9,
        completed=1.7e9 + 3600,
    )
    store.write(WriteBatch(new_tasks=[task]))
    logs, scalars, spans = int(records * 0.6), int(records * 0.3), records // 10
    seq = 0
    batch: list[Any] = []

    def add(row: tuple[Any, ...]) -> None:
        batch.append(row)
        if len(batch) >= 20_000:
            store.write(WriteBatch(events=list(batch)))
            batch.clear()

    for i in range(logs):
        seq += 1
        text = f"step {i}: retrieved 4 documents, answer scored {i % 97 / 97:.3f}"
        if i % 1000 == 0:
            text += " needle"
        add(
            (
                tid,
                1,
                seq,
                LOG,
                1.7e9 + i * 0.01,
                None,
                None,
                None,
                None,
                40 if i % 500 == 0 else 20,
                text,
                None,
            )
        )
    series = [(f"title {t}", f"series {s}") for t in range(3) for s in range(2)]
    for i in range(scalars):
        seq += 1
        metric, variant = series[i % len(series)]
        add(
            (
                tid,
                1,
                seq,
                SCALAR,
                1.7e9 + i * 0.01,
                metric,
                variant,
                i // len(series),
                float(i % 1000) / 1000,
                None,
                None,
                None,
            )
        )
    for i in range(spans):
        seq += 1
        root = f"r{i // 10}"
        sid, parent, kind = (root, None, "chain") if i % 10 == 0 else (f"s{i}", root, "llm")
        add(
            (
                tid,
                1,
                seq,
                SPAN,
                1.7e9 + i,
                None,
                None,
                None,
                None,
                None,
                None,
                span_payload(tid, sid, parent, kind, 1.7e9 + i),
            )
        )
    if batch:
        store.write(WriteBatch(events=batch))
    return store, tid


# -- ingestion over HTTP ---------------------------------------------------------------------

CLIENT = """
import json, sys, time
from chaintrack import Task
events, kind = int(sys.argv[1]), sys.argv[2]
task = Task.init(project_name="ingest", task_name=kind)
logger = task.get_logger()
text = "x" * 1024
start = time.perf_counter()
if kind == "scalar":
    for i in range(events):
        logger.report_scalar("loss", "train", i * 0.5, iteration=i)
else:
    for i in range(events):
        logger.report_text(text + str(i), print_console=False)
reported = time.perf_counter() - start
assert logger.flush(), "not everything was committed"
done = time.perf_counter() - start
print(json.dumps({"task": task.id, "reported_s": reported, "done_s": done}))
task.close()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ingest(root: Path, events: int, kind: str, workers: int) -> dict[str, Any]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db = root / f"server-{kind}-{workers}.db"
    env = {**os.environ, "CHAINTRACK_HOME": str(root / f"server-home-{kind}")}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chaintrack.cli",
            "server",
            "--store",
            f"sqlite:///{db}",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        client_env = {
            **os.environ,
            "CHAINTRACK_TRACKING_URI": url,
            "CHAINTRACK_HOME": str(root / f"client-home-{kind}-{workers}"),
            "CHAINTRACK_AUTO_CONNECT_STREAMS": "0",
        }
        done = subprocess.run(
            [sys.executable, "-c", CLIENT, str(events), kind],
            env=client_env,
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        server.terminate()
        server.wait(60)
    with sqlite3.connect(db) as conn:
        stored = conn.execute(
            "SELECT count(*) FROM events WHERE task_id = ? AND kind = ?",
            (result["task"], "scalar" if kind == "scalar" else "log"),
        ).fetchone()[0]
    result["stored"] = stored
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced sizes (a smoke check)")
    args = parser.parse_args()
    n_tasks, n_records = (2_000, 20_000) if args.quick else (10_000, 100_000)
    n_scalars, n_texts = (50_000, 10_000) if args.quick else (200_000, 50_000)

    import chaintrack
    from chaintrack.server.app import create_app

    print(f"chaintrack server benchmarks{' (--quick: reduced sizes)' if args.quick else ''}")
    print(f"machine:     {_cpu_model()}, {os.cpu_count()} cores")
    print(f"python:      {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}")
    print(f"chaintrack:  {chaintrack.__version__}, git {_git_revision()}")
    print(f"load avg:    {_load()} at the start")
    rows: list[Row] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="chaintrack-bench-") as tmp:
        root = Path(tmp)
        os.environ["CHAINTRACK_HOME"] = str(root / "home")
        started = time.perf_counter()
        store = many_tasks_store(root, n_tasks)
        notes.append(f"{n_tasks:,} tasks written in {time.perf_counter() - started:.1f} s")
        app = create_app(store)
        time_requests(
            app,
            [
                (f"tasks table, {n_tasks:,} tasks, API, newest first", "/api/v1/tasks"),
                ("tasks table, API, sorted by tokens", "/api/v1/tasks?sort=tokens"),
                ("tasks table, API, text filter", "/api/v1/tasks?q=prompt-v3&sort=name&order=asc"),
                ("tasks table, API, status + tag filter", "/api/v1/tasks?status=failed&tag=v2"),
                ("tasks table, API, last page", f"/api/v1/tasks?offset={n_tasks - 50}&limit=50"),
                ("tasks table, HTML page", "/tasks"),
                (
                    "tasks table, HTML, one project by duration",
                    "/tasks?project=team/project-3&sort=duration",
                ),
                ("projects page", "/"),
            ],
            rows,
            notes,
        )
        app.state.ingest.close()
        store.close()

        started = time.perf_counter()
        big, tid = big_task_store(root, n_records)
        notes.append(
            f"a task of {n_records:,} records written in {time.perf_counter() - started:.1f} s"
        )
        app = create_app(big)
        last_console = (int(n_records * 0.6) + 199) // 200
        time_requests(
            app,
            [
                (f"task page, {n_records:,} records: Info", f"/tasks/{tid}"),
                ("task page: Console, first page", f"/tasks/{tid}?tab=console"),
                ("task page: Console, last page", f"/tasks/{tid}?tab=console&page={last_console}"),
                ("task page: Console, search", f"/tasks/{tid}?tab=console&q=needle"),
                ("task page: Console, errors only", f"/tasks/{tid}?tab=console&level=40"),
                ("task page: Scalars (6 series, thinned)", f"/tasks/{tid}?tab=scalars"),
                ("task page: Trace, first page", f"/tasks/{tid}?tab=trace"),
                (
                    "task page: Trace, last page",
                    f"/tasks/{tid}?tab=trace&page={(n_records // 100 + 19) // 20}",
                ),
                (
                    "API: console page deep in the task",
                    f"/api/v1/tasks/{tid}/events/page?kind=log&offset={int(n_records * 0.6) - 100}",
                ),
            ],
            rows,
            notes,
        )
        app.state.ingest.close()
        big.close()

        for kind, events in (("scalar", n_scalars), ("text", n_texts)):
            result = ingest(root, events, kind, workers=1)
            rate = events / result["done_s"]
            label = "scalar events" if kind == "scalar" else "1-KB text events"
            ok = result["stored"] == events
            goal = f">= {INGEST_GOAL:,.0f}/s" if kind == "scalar" else "-"
            verdict = ("pass" if rate >= INGEST_GOAL else "FAIL") if kind == "scalar" else "info"
            rows.append(
                Row(
                    f"ingestion over HTTP: {label}, per s",
                    goal,
                    f"{rate:,.0f}/s",
                    verdict if ok else "WRONG COUNT",
                )
            )
            notes.append(
                f"ingestion ({label}): {events:,} reported in "
                f"{result['reported_s']:.2f} s, all committed by the server after "
                f"{result['done_s']:.2f} s; rows in the server's database: "
                f"{result['stored']:,} ({'verified' if ok else 'WRONG'})"
            )

    print_table(rows, notes)
    print(f"- load average at the end: {_load()}")
    return 0 if all(r.verdict != "WRONG COUNT" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
