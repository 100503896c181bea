"""Where a `chaintrack server`'s CPU goes while it ingests OTLP/HTTP protobuf, on every thread.

    .venv/bin/python benchmarks/profile_otel.py                      # SQLite, 1 client
    .venv/bin/python benchmarks/profile_otel.py --clients 4 --top 30
    .venv/bin/python benchmarks/profile_otel.py --store postgresql://…
    .venv/bin/python benchmarks/profile_otel.py --stages             # no server: the stages

Runs the server's app in this process (uvicorn, as ``chaintrack server`` does) under yappi with
its CPU clock and every thread profiled, and sends it the benchmark's requests (bench_otel.py:
512 spans each, traces of 1 root + 4 children with OpenInference attributes) from client
processes. Prints each thread's CPU per span and its top functions by own CPU.

``--stages`` times the ingest path's stages without a server or a profiler (process CPU time
per span): protobuf decode, spans to Python, mapping to chaintrack spans, the store's write,
and the full-text index and dashboards' totals, which the server's indexer adds after the write
(``store/textindex.py``), timed once all requests are written. Three rounds; the median of
each stage is printed beside the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_otel  # noqa: E402
from bench_server import free_port  # noqa: E402


def bodies(count: int) -> list[bytes]:
    """``count`` request bodies as the benchmark's clients send them (new ids every call)."""
    source = bench_otel.CLIENT.split("bodies =")[0]
    source = source.replace(
        "port, requests, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])",
        "seed = time.time_ns()",
    )
    scope: dict[str, Any] = {}
    exec(source, scope)  # the benchmark's own client code
    return [scope["body"](bench_otel.BATCH) for _ in range(count)]


def stages(store_uri: str, requests: int) -> None:
    from chaintrack.otel.batch import convert
    from chaintrack.otel.decode import parse, spans_of
    from chaintrack.store.sql import SqlStore

    def run(store: SqlStore, sent: list[bytes]) -> dict[str, float]:
        cpu = dict.fromkeys(("decode", "to Python", "mapping", "store write", "index (after)"), 0.0)
        spans = 0
        for body in sent:
            t0 = time.process_time()
            message = parse(body, "application/x-protobuf")
            t1 = time.process_time()
            decoded = spans_of(message)
            t2 = time.process_time()
            converted = convert(decoded.spans, lambda _task_id: True)
            t3 = time.process_time()
            store.write(converted.batch)
            t4 = time.process_time()
            for name, took in zip(cpu, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=False):
                cpu[name] += took
            spans += len(decoded.spans)
        t0 = time.process_time()
        store.index_text()
        cpu["index (after)"] = time.process_time() - t0
        return {name: took / spans * 1e6 for name, took in cpu.items()}

    folder = Path(tempfile.mkdtemp(prefix="chaintrack-profile-otel-"))
    rounds = []
    for number in range(3):
        store = SqlStore(store_uri or f"sqlite:///{folder / f'round-{number}.db'}")
        try:
            run(store, bodies(2))  # warm-up: the task exists, caches are filled
            rounds.append(run(store, bodies(requests)))
        finally:
            store.close()
    print(f"CPU per span (µs), {requests} requests of {bench_otel.BATCH} spans, "
          f"{store_uri or 'SQLite'}, three rounds and their median")  # fmt: skip
    print(
        f"{'stage':<14}" + "".join(f"{f'round {i + 1}':>10}" for i in range(3)) + f"{'median':>10}"
    )
    for name in rounds[0]:
        values = [r[name] for r in rounds]
        print(f"{name:<14}" + "".join(f"{v:>10.1f}" for v in values)
              + f"{sorted(values)[1]:>10.1f}")  # fmt: skip
    totals = [sum(r.values()) for r in rounds]
    print(f"{'total':<14}" + "".join(f"{t:>10.1f}" for t in totals) + f"{sorted(totals)[1]:>10.1f}")


def serve(store_uri: str, clients: int, requests: int, top: int) -> None:
    import uvicorn
    import yappi

    from chaintrack.server.app import create_app, open_server_store

    os.environ.setdefault("CHAINTRACK_HOME", tempfile.mkdtemp(prefix="profile-otel-home-"))
    uri = store_uri or f"sqlite:///{tempfile.mkdtemp(prefix='profile-otel-')}/otel.db"
    app = create_app(open_server_store(uri), close_store=True)
    port = free_port()
    yappi.set_clock_type("cpu")
    yappi.start(builtins=True, profile_threads=True)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))  # fmt: skip
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    warm = subprocess.run([sys.executable, "-c", bench_otel.CLIENT_OF(5), str(port), "1", "0"],
                          input="\n", capture_output=True, text=True, check=True)  # fmt: skip
    assert warm.returncode == 0
    procs = [
        subprocess.Popen([sys.executable, "-c", bench_otel.CLIENT, str(port), str(requests),
                          str(i)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for i in range(clients)
    ]  # fmt: skip
    spans = sum(json.loads(p.stdout.readline())["spans"] for p in procs)  # type: ignore[union-attr]
    yappi.clear_stats()
    start = time.perf_counter()
    for p in procs:
        p.stdin.write("\n")  # type: ignore[union-attr]
        p.stdin.flush()  # type: ignore[union-attr]
    for p in procs:
        p.stdout.readline()  # type: ignore[union-attr]
        p.wait()
    elapsed = time.perf_counter() - start
    yappi.stop()
    server.should_exit = True
    thread.join(30)
    print(f"{spans:,} spans from {clients} client(s) in {elapsed:.2f} s: "
          f"{spans / elapsed:,.0f} spans/s under the profiler ({uri.split(':')[0]})")  # fmt: skip
    threads = sorted(yappi.get_thread_stats(), key=lambda t: -t.ttot)
    total = sum(t.ttot for t in threads)
    print(f"server CPU: {total / spans * 1e6:.1f} µs a span (all threads, profiled)")
    for t in threads:
        if t.ttot / spans * 1e6 < 1:
            continue
        print(f"\n== thread {t.name} (id {t.id}): {t.ttot / spans * 1e6:.1f} µs CPU a span")
        stats = yappi.get_func_stats(ctx_id=t.id).sort("tsub", "desc")
        for s in list(stats)[:top]:
            module = s.module.split("site-packages/")[-1].split("src/")[-1]
            print(f"  {s.tsub / spans * 1e6:7.2f} own {s.ttot / spans * 1e6:7.2f} incl µs  "
                  f"{s.name} ({module}:{s.lineno})")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default="", help="store URI (default: a new SQLite file)")
    parser.add_argument("--clients", type=int, default=1, help="client processes (1)")
    parser.add_argument("--requests", type=int, default=40, help="requests per client (40)")
    parser.add_argument("--top", type=int, default=20, help="functions per thread (20)")
    parser.add_argument("--stages", action="store_true", help="time the stages, no server")
    args = parser.parse_args(argv)
    if args.stages:
        stages(args.store, args.requests)
    else:
        serve(args.store, args.clients, args.requests, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
