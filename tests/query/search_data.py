"""A reproducible set of tasks and spans for the search tests, and a brute-force filter in
plain Python that states what each query must return."""

from __future__ import annotations

import json
import random
from typing import Any

from chaintrack.store.records import SPAN, TaskRecord, WriteBatch
from chaintrack.store.sql import SqlStore

NOW = 1_790_000_000.0
KINDS = ("llm", "chat_model", "chain", "tool", "retriever")
MODELS = ("gpt-4o", "claude", None)
WORDS = ("refund", "Refunds", "order", "ship", "hello", "WORLD", "delay", "café", "100%", "a_b")


def make_spans(seed: int = 7, count: int = 300) -> tuple[list[TaskRecord], list[dict[str, Any]]]:
    rng = random.Random(seed)
    tasks = [
        TaskRecord(
            id=f"task{i}",
            project=("alpha", "beta", "alpha/sub")[i % 3],
            name=f"run {i}",
            type="inference",
            status="completed",
            created=NOW - 40 * 86400,
            last_update=NOW,
            tags=[["prod"], ["dev", "prod"], [], ['x"y']][i % 4],
        )
        for i in range(6)
    ]
    spans = []
    for n in range(count):
        task = tasks[n % len(tasks)]
        start = NOW - rng.uniform(0, 30 * 86400)
        latency = rng.choice([None, rng.uniform(0.5, 9000)])
        prompt = rng.choice([None, rng.randint(0, 900)])
        completion = rng.choice([None, rng.randint(0, 900)])
        spans.append({
            "task_id": task.id,
            "span_id": f"span{n}",
            "parent_id": None,
            "kind": rng.choice(KINDS),
            "name": f"step {rng.choice(WORDS)}",
            "start_time": start,
            "end_time": start + (latency or 0) / 1000,
            "latency_ms": latency,
            "status": rng.choice(["ok", "ok", "error"]),
            "error": rng.choice([None, "boom " + rng.choice(WORDS)]),
            "input": " ".join(rng.choice(WORDS) for _ in range(3)),
            "output": rng.choice([None, " ".join(rng.choice(WORDS) for _ in range(4))]),
            "model_name": rng.choice(MODELS),
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": None if prompt is None and completion is None
            else (prompt or 0) + (completion or 0),
            "cost_usd": rng.choice([None, round(rng.uniform(0, 0.1), 6)]),
            "thread_id": rng.choice([None, "th1", "th2"]),
            "attributes": {"user.id": rng.randint(0, 9), "env": rng.choice(["dev", "prod"])},
        })  # fmt: skip
    return tasks, spans


def load(store: SqlStore, tasks: list[TaskRecord], spans: list[dict[str, Any]]) -> None:
    events = [(s["task_id"], 3, seq, SPAN, s["end_time"], None, None, None, None, None, None,
               json.dumps(s)) for seq, s in enumerate(spans, start=1)]  # fmt: skip
    store.write(WriteBatch(new_tasks=tasks, events=events))  # type: ignore[arg-type]


def field_value(span: dict[str, Any], task: TaskRecord, field: str) -> Any:
    return {
        "model": span["model_name"], "task": task.name, "project": task.project,
    }.get(field, span.get(field))  # fmt: skip


def brute(spans: list[dict[str, Any]], tasks: list[TaskRecord], predicate: Any) -> set[str]:
    by_id = {t.id: t for t in tasks}
    return {s["span_id"] for s in spans if predicate(s, by_id[s["task_id"]])}


def contains(value: Any, needle: str) -> bool:
    return value is not None and needle.lower() in str(value).lower()
