"""The run tree: every LangChain run (LLM, chat model, chain, tool, retriever) as a span.

A span is stored when its run ends (or fails), as an event of kind ``span`` whose data is the
dict :func:`finish_span` returns; ``task.get_spans()`` reads them back as a DataFrame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chaintrack.langchain import values as v
from chaintrack.langchain.ids import id_text


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
    #: How its tokens arrive: "tokens" (on_llm_new_token) or "events" (v3 on_stream_event).
    stream_source: str | None = None
    #: LangChain's own parent run when the handler never saw it start (see ``visible_parent``).
    langchain_parent: Any = None
    #: The conversation the run belongs to (its root's), and the root run's id.
    thread_id: str | None = None
    trace_id: str | None = None
    #: LangGraph's metadata of the run (node, step, triggers, checkpoint namespace).
    graph: dict[str, Any] = field(default_factory=dict)
    #: How many times each LangGraph task (by checkpoint namespace) ran under this run.
    attempts: dict[str, int] = field(default_factory=dict)


#: Runs that can hold other runs in LangChain's tree (an LLM or retriever run never does).
CONTAINERS = ("chain", "tool")


def visible_parent(parent: Any, runs: dict[Any, Run]) -> tuple[Any, Any]:
    """(the span's parent, LangChain's parent when it differs) for a run starting now.

    A handler given to some objects only (the LLM and the agent, as ClearML's page does) never
    sees the runs in between, such as the LLMChain an agent calls its LLM through: the LLM run's
    parent is a run this handler knows nothing of, and the run tree would show it as a root. Such
    a run is placed under the innermost chain or tool run still open (the one it runs inside),
    and LangChain's parent id is kept beside it. With no open chain or tool run it stays a root.
    """
    if parent is None or parent in runs:
        return parent, None
    open_containers = [(run.start, run_id) for run_id, run in runs.items()
                       if run.kind in CONTAINERS]  # fmt: skip
    if not open_containers:
        return parent, None
    return max(open_containers, key=lambda item: item[0])[1], parent


#: Metadata keys that name a conversation, in order of preference.
THREAD_KEYS = ("thread_id", "session_id", "conversation_id")
#: LangGraph's metadata kept on a span.
GRAPH_KEYS = ("langgraph_node", "langgraph_step", "langgraph_triggers", "langgraph_path")


def place(run: Run, run_id: Any, metadata: Any, runs: dict[Any, Run]) -> None:
    """Set the run's thread, trace and LangGraph fields from its metadata and its parent."""
    meta = metadata if isinstance(metadata, dict) else {}
    parent = runs.get(run.parent) if run.parent is not None else None
    run.trace_id = parent.trace_id if parent is not None else id_text(run_id)
    own = next((str(meta[k]) for k in THREAD_KEYS if meta.get(k) is not None), None)
    run.thread_id = (parent.thread_id if parent is not None else None) or own
    run.graph = {k: v.jsonable(meta[k]) for k in GRAPH_KEYS if k in meta}
    namespace = meta.get("langgraph_checkpoint_ns", meta.get("checkpoint_ns"))
    if namespace is not None:
        run.graph["checkpoint_ns"] = str(namespace)
        if parent is not None and parent.graph.get("checkpoint_ns") != run.graph["checkpoint_ns"]:
            # A node's own run (its children share its namespace): a RetryPolicy runs the same
            # task again, under the same parent and in the same namespace, as attempt 2, 3...
            attempt = parent.attempts[run.graph["checkpoint_ns"]] = (
                parent.attempts.get(run.graph["checkpoint_ns"], 0) + 1
            )
            run.graph["attempt"] = attempt


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
        "span_id": id_text(run_id),
        "parent_id": id_text(run.parent) if run.parent is not None else None,
        "langchain_parent_id": (
            id_text(run.langchain_parent) if run.langchain_parent is not None else None
        ),
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
        "thread_id": run.thread_id,
        "trace_id": run.trace_id,
        **run.graph,
    }
