"""``Experiment``: the task of an ``evaluate`` run (type ``testing``) and its results."""

from __future__ import annotations

import time
from typing import Any

from chaintrack.errors import InvalidArgumentError
from chaintrack.eval import results as _results
from chaintrack.sdk import items
from chaintrack.sdk.task import Task
from chaintrack.store import open_store
from chaintrack.store.base import Store

#: The system tag of experiment tasks; parameters of the run are in this section.
EXPERIMENT_TAG = "experiment"
SECTION = "Evaluation"


class Experiment:
    """An experiment: ``.task`` (its chaintrack task), ``.results`` (a DataFrame: one row per
    example and repetition) and ``.summary`` (per score: mean, pass rate, count, errors)."""

    def __init__(self, task_id: str, store: Store | None = None) -> None:
        self._store = store or open_store()
        self._task_id = task_id
        self._task: Task | None = None

    @classmethod
    def get(cls, experiment_id: str) -> Experiment:
        experiment = cls(experiment_id)
        experiment.task  # noqa: B018 - raises TaskNotFoundError for an unknown id
        return experiment

    @property
    def id(self) -> str:
        return self._task_id

    @property
    def task(self) -> Task:
        if self._task is None or self._task._live is False:
            self._task = Task.get_task(task_id=self._task_id)
        return self._task

    @property
    def name(self) -> str:
        return self.task.name

    def _parameter(self, name: str) -> Any:
        return self.task.get_parameters().get(f"{SECTION}/{name}")

    @property
    def dataset_id(self) -> str | None:
        found = self._parameter("dataset_id")
        return None if found is None else str(found)

    @property
    def dataset_version(self) -> str | None:
        found = self._parameter("dataset_version")
        return None if found is None else str(found)

    def rows(self) -> list[_results.ResultRow]:
        return _results.load_rows(self._store, self._task_id)

    @property
    def results(self) -> Any:
        return _results.frame(self.rows())

    @property
    def summary(self) -> Any:
        return _results.summary(self.rows())

    def __repr__(self) -> str:
        return f"<Experiment {self._task_id}>"


def reopen(store: Store, experiment_id: str) -> Task:
    """The experiment's task, live again so that a resumed run reports into it."""
    record = store.get_task(experiment_id)
    if EXPERIMENT_TAG not in record.system_tags:
        raise InvalidArgumentError(
            f"resume={experiment_id!r} is not valid: task {record.name!r} is not an experiment "
            "(evaluate makes them); pass the id of an experiment, e.g. Experiment.id"
        )
    record.status, record.status_reason, record.completed = "in_progress", "", None
    task = Task(store, record, live=True)
    task._writer.put(items.task_update(record.id, {
        "status": "in_progress", "status_reason": "", "completed": None,
        "last_update": time.time()}))  # fmt: skip
    with Task._class_lock:
        Task._open_tasks.append(task)
    from chaintrack.sdk import lifecycle

    lifecycle.install()
    return task
