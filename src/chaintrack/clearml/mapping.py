"""How a chaintrack task maps onto ClearML's task model (pure functions, no ``clearml`` import).

chaintrack's model follows ClearML's (task types, hyperparameter sections, configuration
objects, scalars, single values, tables, debug samples, console, artifacts, models), so most
fields carry over as they are. What ClearML has no place for is kept visible:

- the run tree (spans) becomes a table plot ``Trace / run tree``, one row per run, indented by
  depth, with latency and tokens;
- where the task came from (its chaintrack id, status, times and store) becomes user
  properties named ``chaintrack.*``;
- the final status cannot be set in an offline session (an import always ends ``completed``),
  so a failed or stopped task also gets the tag ``status:failed`` / ``status:stopped``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from chaintrack.store.records import TaskRecord

#: ClearML's task types; a chaintrack task of another type arrives as ``custom``.
TASK_TYPES = (
    "training", "testing", "inference", "data_processing", "application", "monitor",
    "controller", "optimizer", "service", "qc", "custom",
)  # fmt: skip
#: Statuses that end a task in ClearML as they do in chaintrack.
FINAL_STATUSES = ("completed", "failed", "stopped", "published", "closed")
#: The system tag that remembers a push: ``clearml=<ClearML task id>@<API server>``.
MIRROR_TAG_PREFIX = "clearml="
SPAN_TABLE_TITLE = "Trace"
SPAN_TABLE_SERIES = "run tree"
SPAN_TABLE_COLUMNS = (
    "run", "kind", "status", "start", "latency_ms", "prompt_tokens", "completion_tokens",
    "total_tokens", "model_name", "error", "span_id", "parent_id",
)  # fmt: skip


def task_type(value: str) -> str:
    return value if value in TASK_TYPES else "custom"


def iso(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def script(record: TaskRecord) -> dict[str, str]:
    """The fields of ClearML's ``script`` section (requirements are set separately)."""
    s = record.script
    return {
        "repository": str(s.get("repository") or ""),
        "branch": str(s.get("branch") or ""),
        "version_num": str(s.get("version_num") or ""),
        "diff": str(s.get("diff") or ""),
        "entry_point": str(s.get("entry_point") or ""),
        "working_dir": str(s.get("working_dir") or ""),
        "binary": str(s.get("binary") or ""),
    }


def provenance(record: TaskRecord, store_uri: str) -> dict[str, str]:
    """User properties that say where a mirrored task came from."""
    return {
        "chaintrack.id": record.id,
        "chaintrack.status": record.status,
        "chaintrack.status_reason": record.status_reason,
        "chaintrack.started": iso(record.started),
        "chaintrack.completed": iso(record.completed),
        "chaintrack.user": record.user,
        "chaintrack.store": store_uri,
    }


def tags(record: TaskRecord, offline: bool) -> list[str]:
    """The task's tags; offline, a failed or stopped status travels as a ``status:`` tag."""
    result = list(record.tags)
    if offline and record.status in ("failed", "stopped"):
        result.append(f"status:{record.status}")
    return result


def mirror_tag(clearml_id: str, api_host: str) -> str:
    return f"{MIRROR_TAG_PREFIX}{clearml_id}@{api_host}"


def mirrors(system_tags: Iterable[str]) -> dict[str, str]:
    """``{API server: ClearML task id}`` of the pushes recorded in a task's system tags."""
    found: dict[str, str] = {}
    for tag in system_tags:
        if tag.startswith(MIRROR_TAG_PREFIX):
            clearml_id, _, host = tag[len(MIRROR_TAG_PREFIX) :].partition("@")
            if clearml_id and host:
                found[host] = clearml_id
    return found


def span_rows(spans: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The run tree as table rows: parents before children, names indented by depth."""
    spans = sorted(spans, key=lambda s: s.get("start_time") or 0.0)
    by_id = {s.get("span_id"): s for s in spans}
    children: dict[Any, list[Mapping[str, Any]]] = {}
    roots = []
    for s in spans:
        parent = s.get("parent_id")
        if parent is not None and parent in by_id and parent != s.get("span_id"):
            children.setdefault(parent, []).append(s)
        else:
            roots.append(s)
    rows: list[dict[str, Any]] = []
    stack = [(root, 0) for root in reversed(roots)]
    seen: set[Any] = set()
    while stack:
        span, depth = stack.pop()
        if span.get("span_id") in seen:  # a cycle in bad data must not loop forever
            continue
        seen.add(span.get("span_id"))
        rows.append(_span_row(span, depth))
        below = children.get(span.get("span_id"), [])
        stack.extend((child, depth + 1) for child in reversed(below))
    return rows


def _span_row(span: Mapping[str, Any], depth: int) -> dict[str, Any]:
    row = {
        "run": "    " * depth + str(span.get("name") or ""),
        "kind": span.get("kind") or "",
        "status": span.get("status") or "",
        "start": iso(span.get("start_time")),
        "span_id": span.get("span_id") or "",
        "parent_id": span.get("parent_id") or "",
        "error": span.get("error") or "",
        "model_name": span.get("model_name") or "",
    }
    for column in ("latency_ms", "prompt_tokens", "completion_tokens", "total_tokens"):
        value = span.get(column)
        row[column] = "" if value is None else value
    return {column: row[column] for column in SPAN_TABLE_COLUMNS}
