"""Where the LangChain handler's CPU goes, on every thread, until its records are stored.

    .venv/bin/python benchmarks/profile_langchain.py                   # 2,000 chain invocations
    .venv/bin/python benchmarks/profile_langchain.py --complexity      # complexity_metrics=True
    .venv/bin/python benchmarks/profile_langchain.py -n 500 --top 25
    .venv/bin/python benchmarks/profile_langchain.py --stages          # no profiler: the stages

Runs the 3-step LCEL chain ``prompt | FakeListChatModel | StrOutputParser`` (the benchmark's
~200-B question) ``n`` times back to back with chaintrack's handler, then ``handler.flush()``
(everything stored), under yappi with its CPU clock and every thread profiled. A warm-up of 50
invocations (imports, the store opened, caches) runs before the profiler starts, on a fresh
CHAINTRACK_HOME. Prints, for each thread: its CPU time, then the top functions by cumulative
CPU (inclusive), by own CPU (exclusive) and chaintrack's own functions by cumulative CPU, with
each one's share of that thread's CPU.

``--stages`` times the stages of the handler's path one after the other on this thread, with no
profiler and no writer thread (CPU per invocation), once the invocations have run with their
events kept rather than queued: converting the events into records, storing them in one
batch, and the full-text index and dashboards' totals that follow a write
(``store/textindex.py``). The caller's share is ``bench_langchain.py``'s to measure (here every
event stays alive until the end, which makes the garbage collector's passes longer).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

QUESTION = (
    "Which city is the capital of France, since when has it been the capital, and which "
    "other cities were the seat of the French government at some point in its history? "
    "Answer in one short sentence."
)
TEXT = "Paris is the capital of France. It has been for a very long time, as everyone knows."


def where(stat: Any) -> str:
    module = stat.module
    for marker in ("site-packages/", "src/", "lib/python3"):
        if marker in module:
            module = module.split(marker, 1)[1]
            break
    return f"{stat.name} ({module}:{stat.lineno})"


def stages(n: int, complexity: bool) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from langchain_core.language_models import FakeListChatModel
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    from bench_langchain import distinct
    from chaintrack.langchain import ClearMLCallbackHandler

    handler = ClearMLCallbackHandler(task_name="stages", complexity_metrics=complexity)
    prompt = ChatPromptTemplate.from_messages([("system", "Be brief."), ("human", "{q}")])
    chain = prompt | distinct(FakeListChatModel)() | StrOutputParser()
    config: Any = {"callbacks": [handler]}
    for _ in range(50):  # warm-up: imports, the store opened, caches
        chain.invoke({"q": QUESTION}, config=config)
    handler.flush()
    writer, store = handler.task._writer, handler.task._writer.store
    kept: list[Any] = []
    handler._push = kept.append  # type: ignore[method-assign]  # events kept, not queued
    took: dict[str, float] = {}
    clock = time.thread_time
    for _ in range(n):
        chain.invoke({"q": QUESTION}, config=config)
    t1 = clock()
    items = handler._convert(kept)
    t2 = clock()
    store.write(writer._build(items))
    t3 = clock()
    store.index_text()
    t4 = clock()
    took["convert into records"] = t2 - t1
    took["store (one batch)"] = t3 - t2
    took["index and totals (after)"] = t4 - t3
    print(f"CPU per chain invocation (µs), {n:,} invocations, complexity_metrics={complexity}, "
          "one thread, no profiler")  # fmt: skip
    for name, seconds in took.items():
        print(f"| {name:<26} | {seconds / n * 1e6:>8.1f} |")
    del handler._push
    handler.flush_tracker(finish=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="chain invocations (2,000)")
    parser.add_argument("--top", type=int, default=15, help="functions per list (15)")
    parser.add_argument("--complexity", action="store_true", help="complexity_metrics=True")
    parser.add_argument("--stages", action="store_true", help="time the stages, no profiler")
    args = parser.parse_args(argv)
    os.environ["CHAINTRACK_HOME"] = tempfile.mkdtemp(prefix="profile-langchain-")
    if args.stages:
        return stages(args.n, args.complexity)

    import yappi

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from langchain_core.language_models import FakeListChatModel
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    from bench_langchain import distinct
    from chaintrack.langchain import ClearMLCallbackHandler

    # Started before the handler, so that the threads it starts are profiled as their own.
    yappi.set_clock_type("cpu")
    yappi.start(builtins=True, profile_threads=True)
    handler = ClearMLCallbackHandler(task_name="profile", complexity_metrics=args.complexity)
    prompt = ChatPromptTemplate.from_messages([("system", "Be brief."), ("human", "{q}")])
    # Distinct answers (textstat caches its results by text), one short response in the
    # model's fields (LangChain passes the model's repr to on_chat_model_start).
    chain = prompt | distinct(FakeListChatModel)() | StrOutputParser()
    config: Any = {"callbacks": [handler]}
    for _ in range(50):
        chain.invoke({"q": QUESTION}, config=config)
    handler.flush()

    yappi.clear_stats()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(args.n):
        chain.invoke({"q": QUESTION}, config=config)
    while not handler.flush():  # False: CHAINTRACK_DRAIN_TIMEOUT ran out first (a slow machine)
        pass
    yappi.stop()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0

    print(f"{args.n:,} chain invocations, complexity_metrics={args.complexity}, until stored: "
          f"{cpu:.2f} s process CPU ({cpu / args.n * 1000:.3f} ms per invocation, profiler "
          f"overhead included), {wall:.2f} s wall")  # fmt: skip
    names = {t.ident: t.name for t in threading.enumerate()}
    threads = sorted(yappi.get_thread_stats(), key=lambda t: -t.ttot)
    for thread in threads:
        if thread.ttot < 0.01:
            continue
        stats = yappi.get_func_stats(filter={"ctx_id": thread.id})
        print(f"\n## thread {names.get(thread.tid, thread.name)!r}: {thread.ttot:.2f} s CPU "
              f"({thread.ttot / args.n * 1000:.3f} ms per invocation)")  # fmt: skip
        ours = [s for s in stats if "chaintrack" in s.module]
        for key, title, rows in (
            ("ttot", "cumulative", stats),
            ("tsub", "own", stats),
            ("ttot", "cumulative (chaintrack's functions)", ours),
        ):
            print(f"\ntop {args.top} by {title} CPU:")
            print(f"| {'function':<90} | {'calls':>9} | {title + ' s':>12} | share |")
            print(f"|{'-' * 92}|{'-' * 11}|{'-' * 14}|-------|")
            for stat in sorted(rows, key=lambda s: -getattr(s, key))[: args.top]:
                value = getattr(stat, key)
                print(f"| {where(stat)[:90]:<90} | {stat.ncall:>9,} | {value:>12.3f} | "
                      f"{value / thread.ttot:>5.0%} |")  # fmt: skip
    handler.flush_tracker(finish=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
