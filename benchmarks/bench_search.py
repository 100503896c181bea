"""Span search, dashboards and export on a store of 1,000,000 spans, on SQLite and PostgreSQL.

    PYTHONPATH=src python benchmarks/bench_search.py               # 1,000,000 spans, both
    PYTHONPATH=src python benchmarks/bench_search.py --quick       # 50,000 spans, a smoke run
    PYTHONPATH=src python benchmarks/bench_search.py --spans 200000 --database sqlite

What it measures, per database:

- searches: the median ``Server-Timing`` of ``GET /api/v1/spans?q=…`` (first page of 50,
  newest first) over 5 requests after a warm-up, with the app in-process (httpx ASGI transport);
- the project dashboard over 30 days: ``GET /api/v1/stats?project=…&range=30d`` the same way;
- export of every span of the project to Parquet: ``chaintrack export --project … --output
  x.parquet`` as a child process, its wall time and its peak RSS (``ru_maxrss`` of the child);
- ingest slowdown of the full-text index and the totals: the same spans written through
  ``SqlStore.write`` in batches of 1,000 (what the SDK's writer and the server do) into a fresh
  store without the text queue and the totals, with the queue only, and with both; then the
  time the indexer (``store/textindex.py``) takes to index the queued text afterwards, and the
  writes and the indexing together (indexing is moved off the write path, not removed).

The 1,000,000 spans are loaded through the store's own span path (``SqlStore.write`` of batches
of 20,000 span events: events COPY/executemany, ``spans``, ``span_text_pending``, the totals;
the first text search indexes the queued text), and
kept between runs: the SQLite file and the PostgreSQL cluster's data folder live under
``--cache`` (default /tmp/chaintrack-bench-search). Delete it to start afresh.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from chaintrack.store import rollups, searchtext
from chaintrack.store.records import SPAN, TaskRecord, WriteBatch
from chaintrack.store.sql import SqlStore
from pgserver import PASSWORD, find_bin_dir

PROJECT = "bench"
TASKS = 200
DAY = 86400.0
#: Topic words and the share of outputs that mention each.
TOPICS = (
    ("refund", 0.05),
    ("password", 0.01),
    ("shipping", 0.2),
    ("invoice", 0.1),
    ("weather", 0.3),
)
FILLER = (
    "the",
    "your",
    "order",
    "is",
    "on",
    "its",
    "way",
    "we",
    "can",
    "help",
    "with",
    "that",
    "please",
    "wait",
    "thank",
    "you",
    "for",
    "asking",
    "about",
    "account",
)
SEARCH_GOAL_MS, TEXT_GOAL_MS, DASH_GOAL_MS, EXPORT_GOAL_S = 200.0, 500.0, 300.0, 30.0
OVERHEAD_GOAL = 25.0
REPEATS = 5


def now_hour() -> float:
    # A fixed "now" per day keeps the cached store's 30 days inside "the last 30 days".
    return float(int(time.time() // DAY) * DAY)


def text_of(rng: random.Random, words: int) -> str:
    out = [rng.choice(FILLER) for _ in range(words)]
    for topic, share in TOPICS:
        if rng.random() < share:
            out[rng.randrange(words)] = topic
    out.append(f"ORD-{rng.randrange(1_000_000):06d}")
    return " ".join(out)


def span_events(first: int, count: int, end: float, seed: int) -> list[tuple[Any, ...]]:
    """Span events ``first`` to ``first + count``: 30 days before ``end``, 200 tasks (each task a
    run of the app over 3.6 hours), four kinds, three models, latencies 10 ms to 10 s."""
    rng = random.Random(seed)
    out = []
    per_task = 30 * DAY / TASKS
    for i in range(first, first + count):
        task = i % TASKS
        start = end - 30 * DAY + task * per_task + rng.uniform(0, per_task)
        kind = rng.choice(("llm", "chat_model", "chat_model", "chain", "tool"))
        latency = 10 * 1000 ** rng.random()
        model = rng.choice(("gpt-4o", "gpt-4o-mini", "claude-sonnet")) if "l" in kind else None
        prompt = rng.randrange(50, 2000) if model else None
        completion = rng.randrange(10, 500) if model else None
        span = {
            "span_id": f"s{i}",
            "parent_id": None if kind == "chain" else f"p{i // 5}",
            "kind": kind,
            "name": f"{kind} step",
            "start_time": start,
            "end_time": start + latency / 1000,
            "latency_ms": latency,
            "status": "error" if rng.random() < 0.05 else "ok",
            "error": "RateLimitError: slow down" if rng.random() < 0.01 else None,
            "input": text_of(rng, 20),
            "output": text_of(rng, 30),
            "model_name": model,
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": None if prompt is None else prompt + (completion or 0),
            "cost_usd": None if prompt is None else prompt * 2.5e-6 + (completion or 0) * 1e-5,
        }
        out.append(
            (
                f"t{task:04d}",
                1,
                i + 1,
                SPAN,
                start,
                None,
                None,
                None,
                None,
                None,
                None,
                json.dumps(span),
            )
        )
    return out


def task_records(end: float) -> list[TaskRecord]:
    return [
        TaskRecord(
            id=f"t{t:04d}",
            project=PROJECT,
            name=f"run {t}",
            type="inference",
            status="completed",
            created=end - 30 * DAY,
            last_update=end,
            tags=["prod" if t % 3 else "staging"],
        )
        for t in range(TASKS)
    ]


def load(store: SqlStore, spans: int, end: float) -> float:
    """Write ``spans`` span events through the store's span path; the seconds it took."""
    began = time.perf_counter()
    store.write(WriteBatch(new_tasks=task_records(end)))
    chunk = 20_000
    for first in range(0, spans, chunk):
        store.write(WriteBatch(events=span_events(first, min(chunk, spans - first), end, first)))  # type: ignore[arg-type]
        print(f"\r  loaded {first + chunk:,} spans", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return time.perf_counter() - began


def ingest_seconds(uri: str, spans: int, queued: bool, totals: bool) -> tuple[float, float]:
    """``spans`` spans written in batches of 1,000 into a new store at ``uri``, with or without
    queuing them for the index and the totals: (seconds of the writes, seconds the indexer then
    took to index the queued text, and to total them unless ``totals`` is False)."""
    store = SqlStore(uri)
    end = now_hour()
    saved = (searchtext.queue_rows, rollups.add_spans)
    if not queued:
        searchtext.queue_rows = lambda *a, **k: None  # type: ignore[assignment]
    if not totals:
        rollups.add_spans = lambda *a, **k: None  # type: ignore[assignment]
    try:
        store.write(WriteBatch(new_tasks=task_records(end)))
        batches = [span_events(f, min(1000, spans - f), end, f) for f in range(0, spans, 1000)]
        began = time.perf_counter()
        for batch in batches:
            store.write(WriteBatch(events=batch))  # type: ignore[arg-type]
        written = time.perf_counter() - began
        began = time.perf_counter()
        indexed = store.index_text()
        catch_up = time.perf_counter() - began
        assert indexed == (spans if queued else 0), indexed
        return written, catch_up
    finally:
        searchtext.queue_rows, rollups.add_spans = saved
        store.close()


# -- PostgreSQL: a cluster whose data folder is kept under the cache ------------------------------


class Cluster:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.bin = find_bin_dir()
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            self.prefix = ["runuser", "-u", "postgres", "--"]
        root.mkdir(parents=True, exist_ok=True)
        if self.prefix:
            import pwd

            owner = pwd.getpwnam("postgres")
            os.chown(root, owner.pw_uid, owner.pw_gid)
        root.chmod(0o700)
        self.port = 0

    def run(self, *args: str) -> None:
        done = subprocess.run([*self.prefix, *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr or done.stdout}")

    def start(self) -> str:
        data = self.root / "data"
        if not data.exists():
            pw = self.root / "password"
            pw.write_text(PASSWORD + "\n")
            if self.prefix:
                import pwd

                owner = pwd.getpwnam("postgres")
                os.chown(pw, owner.pw_uid, owner.pw_gid)
            self.run(
                str(self.bin / "initdb"),
                "-D",
                str(data),
                "-U",
                "chaintrack",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={pw}",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            )
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(self.root / "log"),
            "-w",
            "-o",
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c shared_buffers=256MB -c work_mem=16MB",
            "start",
        )
        return f"postgresql://chaintrack:{PASSWORD}@127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.run(
            str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast", "-w", "stop"
        )

    def database(self, base: str, name: str, fresh: bool) -> str:
        import psycopg

        with psycopg.connect(base + "/postgres", autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if exists and fresh:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')  # bench's own names
            if not exists or fresh:
                conn.execute(f'CREATE DATABASE "{name}"')
        return f"{base}/{name}"


# -- measuring ------------------------------------------------------------------------------------


def span_count(store: SqlStore) -> int:
    with store._read_engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM spans").scalar_one())


def cached_store(uri: str, spans: int, end: float) -> tuple[SqlStore, str]:
    store = SqlStore(uri)
    found = span_count(store)
    if found == spans:
        note = f"{spans:,} spans from the cache"
        began = time.perf_counter()
        indexed = store.index_text()  # a store of revision 0008 queued its texts again
        if indexed:
            seconds = time.perf_counter() - began
            note += f"; {indexed:,} queued texts indexed in {seconds:.0f} s"
        return store, note
    if found:
        raise SystemExit(f"{uri} holds {found:,} spans, not {spans:,}: delete the cache")
    seconds = load(store, spans, end)
    began = time.perf_counter()
    indexed = store.index_text()
    catch_up = time.perf_counter() - began
    if store.dialect == "postgresql":
        with store._write_engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    else:
        with store._write_engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    return store, (
        f"{spans:,} spans loaded in {seconds:.0f} s ({spans / seconds:,.0f}/s), "
        f"their {indexed:,} texts then indexed in {catch_up:.0f} s"
    )


def server_times(store: SqlStore, paths: list[str]) -> list[tuple[float, float, int]]:
    """(median ms, max ms, rows) of each path's ``Server-Timing``."""
    from chaintrack.server.app import create_app

    app = create_app(store)
    out: list[tuple[float, float, int]] = []

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for path in paths:
                first = await client.get(path)
                assert first.status_code == 200, (path, first.status_code, first.text[:300])
                body = first.json()
                times = []
                for _ in range(REPEATS):
                    response = await client.get(path)
                    times.append(float(response.headers["server-timing"].split("dur=")[1]))
                rows = len(body["rows"]) if "rows" in body else body["totals"]["calls"]
                out.append((statistics.median(times), max(times), rows))

    try:
        asyncio.run(run())
    finally:
        app.state.ingest.close()
    return out


def export_run(uri: str, folder: Path) -> tuple[float, float, int]:
    """(seconds, peak RSS in MB, rows) of ``chaintrack export`` of the project to Parquet."""
    out = folder / "spans.parquet"
    env = {**os.environ, "CHAINTRACK_TRACKING_URI": uri, "CHAINTRACK_HOME": str(folder / "h")}
    code = (
        "import resource, sys, time\n"
        "from chaintrack.cli import main\n"
        "began = time.perf_counter()\n"
        "code = main(sys.argv[1:])\n"
        "print(time.perf_counter() - began, "
        "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "export",
            "--project",
            PROJECT,
            "--what",
            "spans",
            "--output",
            str(out),
            "--quiet",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, rss = (float(v) for v in done.stderr.strip().splitlines()[-1].split())
    import pyarrow.parquet as pq

    rows = pq.ParquetFile(out).metadata.num_rows
    out.unlink()
    return seconds, rss, rows


def through_server(uri: str, folder: Path) -> tuple[float, float, int, float]:
    """``export_run`` with CHAINTRACK_TRACKING_URI naming a ``chaintrack server`` over ``uri``
    (the rows streamed as NDJSON): the export's numbers and the server's peak RSS in MB."""
    import socket

    import psutil

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "CHAINTRACK_HOME": str(folder / "server")}
    env.pop("CHAINTRACK_AUTH_TOKEN", None)
    command = [sys.executable, "-m", "chaintrack.cli", "server", "--store", uri, "--port",
               str(port)]  # fmt: skip
    with (folder / "server.log").open("w") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit((folder / "server.log").read_text())
            time.sleep(0.2)
        watched = psutil.Process(server.pid)
        peak = [0.0]

        def watch() -> None:
            while server.poll() is None:
                try:
                    rss = sum(p.memory_info().rss for p in [watched, *watched.children(True)])
                except psutil.Error:
                    return
                peak[0] = max(peak[0], rss / 2**20)
                time.sleep(0.2)

        import threading

        threading.Thread(target=watch, name="bench-server-rss", daemon=True).start()
        seconds, rss, rows = export_run(url, folder)
        return seconds, rss, rows, peak[0]
    finally:
        server.terminate()
        server.wait(60)


QUERIES = (
    ("kind", 'kind = "chat_model"', SEARCH_GOAL_MS),
    ("model", 'model = "gpt-4o-mini"', SEARCH_GOAL_MS),
    ("status", "status = error", SEARCH_GOAL_MS),
    ("latency", "latency_ms > 9000", SEARCH_GOAL_MS),
    ("tokens", "total_tokens > 2400", SEARCH_GOAL_MS),
    ("time", "start_time > -2d and start_time < -1d", SEARCH_GOAL_MS),
    ("combined", 'kind = "chat_model" and latency_ms > 2000 and start_time > -7d', SEARCH_GOAL_MS),
    ("text, 5% of spans", 'output ~ "refund"', TEXT_GOAL_MS),
    ("text, 1% of spans", 'input ~ "password"', TEXT_GOAL_MS),
    ("text, one span", 'output ~ "ORD-424242"', TEXT_GOAL_MS),
    ("text, every span", 'output ~ "order"', TEXT_GOAL_MS),
    (
        "text and kind",
        'kind = "chat_model" and output ~ "refund" and start_time > -7d',
        TEXT_GOAL_MS,
    ),
)


def measure(
    name: str,
    store: SqlStore,
    uri: str,
    spans: int,
    overhead_uri: Any,
    overhead_spans: int,
    folder: Path,
) -> list[tuple[str, str, str, str]]:
    from urllib.parse import urlencode

    rows: list[tuple[str, str, str, str]] = []
    paths = [f"/api/v1/spans?{urlencode({'q': q, 'limit': 50})}" for _, q, _ in QUERIES]
    paths.append(f"/api/v1/stats?{urlencode({'project': PROJECT, 'range': '30d'})}")
    paths.append(f"/api/v1/stats?{urlencode({'range': '30d'})}")
    times = server_times(store, paths)
    for (label, query, goal), (median, worst, found) in zip(QUERIES, times, strict=False):
        verdict = "pass" if median <= goal else "FAIL"
        rows.append(
            (
                f"{name}: search {label}: `{query}` ({found} rows)",
                f"<= {goal:.0f} ms",
                f"{median:.0f} ms (max {worst:.0f})",
                verdict,
            )
        )
    for label, (median, worst, calls) in zip(("project", "all projects"), times[-2:], strict=True):
        verdict = "pass" if median <= DASH_GOAL_MS else "FAIL"
        rows.append(
            (
                f"{name}: dashboard, {label}, 30 days ({calls:,} calls)",
                f"<= {DASH_GOAL_MS:.0f} ms",
                f"{median:.0f} ms (max {worst:.0f})",
                verdict,
            )
        )
    seconds, rss, exported = export_run(uri, folder)
    verdict = "pass" if seconds <= EXPORT_GOAL_S and exported == spans else "FAIL"
    rows.append(
        (
            f"{name}: export {exported:,} spans to Parquet (peak RSS {rss:.0f} MB)",
            f"<= {EXPORT_GOAL_S:.0f} s",
            f"{seconds:.1f} s",
            verdict,
        )
    )
    seconds, rss, exported, server_rss = through_server(uri, folder)
    verdict = "pass" if seconds <= EXPORT_GOAL_S and exported == spans else "FAIL"
    rows.append(
        (
            f"{name}: export {exported:,} spans to Parquet through `chaintrack server` (peak RSS "
            f"client {rss:.0f} MB, server {server_rss:.0f} MB)",
            f"<= {EXPORT_GOAL_S:.0f} s",
            f"{seconds:.1f} s",
            verdict,
        )
    )
    if not overhead_spans:
        return rows
    plain, _ = ingest_seconds(overhead_uri("plain"), overhead_spans, False, False)
    _, text_only = ingest_seconds(overhead_uri("text"), overhead_spans, True, False)
    full, catch_up = ingest_seconds(overhead_uri("full"), overhead_spans, True, True)
    n = overhead_spans
    slower = 100 * (full / plain - 1)
    rows += [
        (f"{name}: ingest {n:,} spans (batches of 1,000), nothing queued for index and totals",
         "-", f"{plain:.1f} s ({n / plain:,.0f}/s)", "info"),
        (f"{name}: ingest slowdown, spans queued for index and totals (the write path)",
         f"<= {OVERHEAD_GOAL:.0f}%", f"{slower:+.0f}% ({full:.1f} s)",
         "pass" if slower <= OVERHEAD_GOAL else "FAIL"),
        (f"{name}: the indexer then indexing and totalling the {n:,} queued spans",
         "-", f"{catch_up:.1f} s ({1e6 * catch_up / n:.0f} µs a span)", "info"),
        (f"{name}: of which the full-text index alone (a run without the totals)",
         "-", f"{text_only:.1f} s ({1e6 * text_only / n:.0f} µs a span)", "info"),
        (f"{name}: writes and indexer together, against the plain writes (the cost moved)",
         "-", f"{100 * ((full + catch_up) / plain - 1):+.0f}% ({full + catch_up:.1f} s)", "info"),
    ]  # fmt: skip
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="50,000 spans (a smoke run)")
    parser.add_argument("--skip-ingest", action="store_true", help="no ingest-slowdown rows")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/chaintrack-bench-search"))
    parser.add_argument(
        "--overhead-spans",
        type=int,
        default=100_000,
        help="spans written to measure the ingest slowdown (default 100,000)",
    )
    args = parser.parse_args()
    spans = 50_000 if args.quick else args.spans
    overhead_spans = min(spans, 20_000 if args.quick else args.overhead_spans)
    if args.skip_ingest:
        overhead_spans = 0
    end = now_hour()
    args.cache.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str, str, str]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="chaintrack-bench-search-") as tmp:
        folder = Path(tmp)
        os.environ["CHAINTRACK_HOME"] = str(folder / "home")
        if args.database in ("sqlite", "both"):
            uri = f"sqlite:///{args.cache / f'spans-{spans}-{int(end)}.db'}"
            store, note = cached_store(uri, spans, end)
            notes.append(f"SQLite: {note}")

            def sqlite_uri(name: str) -> str:
                return f"sqlite:///{folder / f'ingest-{name}.db'}"

            rows += measure("SQLite", store, uri, spans, sqlite_uri, overhead_spans, folder)
            store.close()
        if args.database in ("postgresql", "both"):
            cluster = Cluster(args.cache / "pg")
            base = cluster.start()
            try:
                uri = cluster.database(base, f"spans_{spans}_{int(end)}", fresh=False)
                store, note = cached_store(uri, spans, end)
                with store._read_engine.connect() as conn:
                    version = conn.exec_driver_sql("SHOW server_version").scalar_one()
                notes.append(f"PostgreSQL {version}: {note}")

                def pg_uri(name: str) -> str:
                    return cluster.database(base, f"ingest_{name}", fresh=True)

                rows += measure("PostgreSQL", store, uri, spans, pg_uri, overhead_spans, folder)
                store.close()
            finally:
                cluster.stop()
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} cores, python "
        f"{platform.python_version()}, sqlite {sqlite3.sqlite_version}, sqlalchemy "
        f"{sqlalchemy.__version__}; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10} MB"
    )
    print()
    print("| measure | goal | result | pass/fail |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    for note in notes:
        print(f"- {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
