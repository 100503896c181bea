"""The run tree: every LangChain run (LLM, chat model, chain, tool, retriever) as a span.

A span is stored when its run ends (or fails), as an event of kind ``span`` whose data is the
dict :func:`finish_span` returns; ``task.get_spans()`` reads them back as a DataFrame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chaintrack.langchain import values as v


@dataclass
class Run:
    """What is known about a run between its start and its end."""

    kind: str
    name: str | None
    parent: Any
    start: float
    input: str | None = None
    model: str | None = None
    #: (step of the start record, prompt) of each prompt of an LLM run.
    prompts: list[tuple[int, str]] = field(default_factory=list)
    first_token: float | None = None
    tokens: int = 0


def _sum(records: list[dict[str, Any]], key: str) -> int | None:
    found = [r[key] for r in records if isinstance(r.get(key), int)]
    return sum(found) if found else None


def finish_span(
    run_id: Any,
    run: Run,
    end: float,
    output: str | None,
    error: str | None = None,
    records: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The stored form of a finished run (times in seconds since the epoch, UTC)."""
    records = records or []
    models = [r["model_name"] for r in records if r.get("model_name")]
    return {
        "span_id": str(run_id),
        "parent_id": str(run.parent) if run.parent is not None else None,
        "kind": run.kind,
        "name": run.name,
        "start_time": run.start,
        "end_time": end,
        "latency_ms": round((end - run.start) * 1000, 3),
        "status": "error" if error is not None else "ok",
        "error": error,
        "input": v.clip(run.input) if run.input is not None else None,
        "output": output,
        "prompt_tokens": _sum(records, "token_usage_prompt_tokens"),
        "completion_tokens": _sum(records, "token_usage_completion_tokens"),
        "total_tokens": _sum(records, "token_usage_total_tokens"),
        "model_name": models[0] if models else run.model,
    }
