"""Which task an OpenTelemetry span lands in, decided by its resource's attributes.

1. ``chaintrack.task_id``: that task (it must exist; spans for an unknown task are refused).
2. ``chaintrack.project`` and/or ``chaintrack.task``: the task of that name in that project
   (``chaintrack.project`` alone: task name ``otel``; ``chaintrack.task`` alone: project
   ``service.name``), created by the first span that names it.
3. Otherwise ``service.name`` (``unknown_service`` when unset) is the project, and each UTC day
   of span start times is one task, named ``<service.name> <YYYY-MM-DD>``.

Tasks created this way have a stable id derived from project and name, so every server process
and every retry finds the same task, and its type is ``inference`` and tag ``opentelemetry``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, NamedTuple

from chaintrack.store.records import TaskRecord

NAMESPACE = uuid.UUID("6b1f4c1e-9a53-4c0e-8a8e-0c5a1f0e7d31")
TASK_ID = "chaintrack.task_id"
PROJECT = "chaintrack.project"
TASK = "chaintrack.task"
DEFAULT_SERVICE = "unknown_service"
TAG = "opentelemetry"


class Target(NamedTuple):
    task_id: str
    #: (project, name) of a task to create when absent; None for ``chaintrack.task_id``.
    created: tuple[str, str] | None


def task_id_for(project: str, name: str) -> str:
    """The id of the task named ``name`` in ``project`` that OpenTelemetry spans create."""
    return uuid.uuid5(NAMESPACE, f"{project}\n{name}").hex


def _name(value: Any, limit: int = 512) -> str | None:
    if value is None:
        return None
    text = str(value).strip().strip("/")[:limit]
    return text or None


def target(resource: dict[str, Any], start_unix_nano: int) -> Target:
    """Where a span of ``resource`` that started at ``start_unix_nano`` is stored."""
    given = _name(resource.get(TASK_ID), 32)
    if given:
        return Target(given, None)
    service = _name(resource.get("service.name")) or DEFAULT_SERVICE
    project = _name(resource.get(PROJECT))
    task = _name(resource.get(TASK))
    if project or task:
        project, task = project or service, task or "otel"
    else:
        day = dt.datetime.fromtimestamp(start_unix_nano / 1e9, dt.UTC).date().isoformat()
        project, task = service, f"{service} {day}"
    return Target(task_id_for(project, task), (project, task))


def new_task(task_id: str, project: str, name: str, now: float) -> TaskRecord:
    return TaskRecord(
        id=task_id,
        project=project,
        name=name,
        type="inference",
        status="in_progress",
        created=now,
        last_update=now,
        started=now,
        tags=[TAG],
    )
