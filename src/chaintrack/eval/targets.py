"""Running an experiment's target on one example: a LangChain Runnable or LangGraph graph
(with chaintrack's handler attached, the example's run tree recorded under a root span whose id
is the row's ``trace_id``), or a plain function of the inputs dict (recorded as one span)."""

from __future__ import annotations

import contextvars
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from typing import Any

from chaintrack.eval.values import to_json
from chaintrack.sdk.task import Task

#: Tag of the runs and spans of an experiment's examples and of its judges.
EXAMPLE_TAG = "chaintrack-example"
JUDGE_TAG = "chaintrack-judge"


@dataclass
class Call:
    """What one run of the target gave."""

    output: Any
    error: str | None
    latency_ms: float
    trace_id: str
    total_tokens: int | None


@dataclass(frozen=True)
class ExampleContext:
    """The example being scored, for scorers that make calls of their own (LLM judges)."""

    example_id: str
    repetition: int
    trace_id: str
    callbacks: list[Any]


#: Set while an example's scorers run (each worker thread has its own).
current_example: contextvars.ContextVar[ExampleContext | None] = contextvars.ContextVar(
    "chaintrack_current_example", default=None
)


def is_runnable(target: Any) -> bool:
    try:
        from langchain_core.runnables import Runnable
    except ModuleNotFoundError:
        return False
    return isinstance(target, Runnable)


def handler_for(task: Task) -> Any:
    """chaintrack's LangChain handler recording into ``task``."""
    from chaintrack.langchain import ClearMLCallbackHandler

    return ClearMLCallbackHandler(task=task)


def _usage_counter() -> Any:
    from langchain_core.callbacks import BaseCallbackHandler

    class UsageCounter(BaseCallbackHandler):
        """Sums the token usage the model calls of one example report."""

        run_inline = True

        def __init__(self) -> None:
            self.total: int | None = None

        def on_llm_end(self, response: Any, **_: Any) -> None:
            found = _tokens(response)
            if found is not None:
                self.total = (self.total or 0) + found

    return UsageCounter()


def _tokens(response: Any) -> int | None:
    usage = (getattr(response, "llm_output", None) or {}).get("token_usage") or {}
    if isinstance(usage.get("total_tokens"), int):
        return int(usage["total_tokens"])
    total = None
    for generations in getattr(response, "generations", []) or []:
        for generation in generations:
            meta = getattr(getattr(generation, "message", None), "usage_metadata", None)
            if meta and isinstance(meta.get("total_tokens"), int):
                total = (total or 0) + int(meta["total_tokens"])
    return total


class Target:
    """The target of one experiment, ready to run on examples from several threads."""

    def __init__(self, target: Any, task: Task) -> None:
        if not (is_runnable(target) or callable(target)):
            from chaintrack.errors import invalid

            raise invalid("target", target,
                          "a LangChain Runnable, a LangGraph graph or a function of the inputs "
                          "dict")  # fmt: skip
        self.target = target
        self.task = task
        self.runnable = is_runnable(target)
        self.handler = handler_for(task) if self.runnable else None
        self._handler_lock = threading.Lock()
        self.name = str(getattr(target, "name", None) or getattr(target, "__name__", None)
                        or type(target).__name__)  # fmt: skip

    def callbacks(self) -> list[Any]:
        return [] if self.handler is None else [self.handler]

    def judge_callbacks(self) -> list[Any]:
        """Callbacks for a judge's own calls: the handler (made on first use for a function
        target), so judge runs are traced in the experiment as runs of their own."""
        with self._handler_lock:  # judges of several worker threads share one handler
            if self.handler is None:
                self.handler = handler_for(self.task)
            return [self.handler]

    def run(self, inputs: dict[str, Any], example_id: str, repetition: int) -> Call:
        run_id = uuid.uuid4()
        if self.runnable:
            return self._invoke(inputs, example_id, repetition, run_id)
        return self._call(inputs, example_id, repetition, run_id)

    def _invoke(self, inputs: dict[str, Any], example_id: str, repetition: int,
                run_id: uuid.UUID) -> Call:  # fmt: skip
        counter = _usage_counter()
        config = {
            "callbacks": [*self.callbacks(), counter],
            "run_id": run_id,
            "run_name": f"{self.name} · {example_id}",
            "tags": [EXAMPLE_TAG],
            "metadata": {"example_id": example_id, "repetition": repetition},
        }
        start = time.perf_counter()
        output, error = None, None
        try:
            output = self.target.invoke(inputs, config=config)
        except Exception as exc:
            error = _error(exc)
        latency = (time.perf_counter() - start) * 1000
        return Call(output, error, round(latency, 3), str(run_id), counter.total)

    def _call(self, inputs: dict[str, Any], example_id: str, repetition: int,
              run_id: uuid.UUID) -> Call:  # fmt: skip
        wall = time.time()
        start = time.perf_counter()
        output, error = None, None
        try:
            output = self.target(inputs)
        except Exception as exc:
            error = _error(exc)
        latency = round((time.perf_counter() - start) * 1000, 3)
        try:
            shown = to_json(output)
        except (TypeError, ValueError):
            shown = repr(output)
        self.task.get_logger()._report_span({
            "span_id": str(run_id), "parent_id": None, "trace_id": str(run_id),
            "kind": "chain", "name": f"{self.name} · {example_id}", "start_time": wall,
            "end_time": wall + latency / 1000, "latency_ms": latency,
            "status": "error" if error else "ok", "error": error, "input": to_json(inputs),
            "output": None if error else shown,
            "attributes": {"example_id": example_id, "repetition": repetition},
        })  # fmt: skip
        return Call(output, error, latency, str(run_id), None)


def _error(exc: BaseException) -> str:
    lines = traceback.format_exception_only(type(exc), exc)
    return "".join(lines).strip()[:4000]


def run_scorers(context: ExampleContext, scorer: Any, values: Any) -> Any:
    """``scorer.score(values)`` with ``context`` as the current example."""
    token = current_example.set(context)
    try:
        return scorer.score(values)
    finally:
        current_example.reset(token)
