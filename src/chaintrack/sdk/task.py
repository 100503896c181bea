"""``Task``: one run of an application, in ClearML's dialect."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from chaintrack import config
from chaintrack.errors import InvalidArgumentError, TaskNotFoundError, invalid
from chaintrack.sdk import clearml_surface, heartbeat, items, mirror
from chaintrack.sdk.artifacts import Artifact, prepare_artifact
from chaintrack.sdk.configuring import TaskConfiguring
from chaintrack.sdk.console import ConsoleCapture
from chaintrack.sdk.environment import (
    capture_packages,
    capture_runtime,
    capture_script,
    current_user,
)
from chaintrack.sdk.feedback import TaskFeedback
from chaintrack.sdk.logger import Logger
from chaintrack.sdk.models import Model, ModelList
from chaintrack.sdk.reading import TaskReads
from chaintrack.sdk.source import Convert, Source
from chaintrack.sdk.task_methods import TaskEveryday
from chaintrack.sdk.threads import TaskThreads
from chaintrack.sdk.writer import Writer
from chaintrack.sdk.writers import writer_for
from chaintrack.store import liveness, open_store
from chaintrack.store.base import Store
from chaintrack.store.records import (
    LOG,
    ModelRecord,
    TaskQuery,
    TaskRecord,
)
from chaintrack.store.vocabulary import STATUSES, TASK_TYPES

log = logging.getLogger("chaintrack")

#: Task.init arguments of ClearML that chaintrack accepts and ignores (they configure ClearML
#: features chaintrack does not have, such as framework auto-logging or remote execution).
IGNORED_INIT_ARGUMENTS = frozenset({
    "continue_last_task", "output_uri", "auto_connect_arg_parser", "auto_connect_frameworks",
    "auto_resource_monitoring", "deferred_init", "auto_connect_streams_level",
})  # fmt: skip
_INFO_JOIN_TIMEOUT = 10.0


class TaskTypes:
    """ClearML's ``Task.TaskTypes``: ``Task.TaskTypes.inference == "inference"``."""

    training = "training"
    testing = "testing"
    inference = "inference"
    data_processing = "data_processing"
    application = "application"
    monitor = "monitor"
    controller = "controller"
    optimizer = "optimizer"
    service = "service"
    qc = "qc"
    custom = "custom"


def _task_type(value: Any) -> str:
    name = getattr(value, "value", value)
    if not isinstance(name, str) or name not in TASK_TYPES:
        raise invalid("task_type", value, f"one of {', '.join(TASK_TYPES)}")
    return name


def _tags(value: Any, argument: str = "tags") -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable) and all(isinstance(t, str) for t in value):
        return list(dict.fromkeys(value))
    raise invalid(argument, value, "a string or a list of strings")


def _default_task_name() -> str:
    script = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return script if script and script != "-c" else "untitled"


class Task(TaskEveryday, TaskConfiguring, TaskReads, TaskFeedback, TaskThreads):
    """A run: its parameters, what it reported, its artifacts and models, its status."""

    TaskTypes = TaskTypes
    _current: ClassVar[Task | None] = None
    _open_tasks: ClassVar[list[Task]] = []
    _class_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, store: Store, record: TaskRecord, *, live: bool = False) -> None:
        self._store = store
        self._blobs = store.blobs
        self._record = record
        self._writer: Writer = writer_for(store)
        self._live = live
        self._closed = not live
        self._lock = threading.Lock()
        self._logger: Logger | None = None
        self._console: ConsoleCapture | None = None
        self._info_thread: threading.Thread | None = None
        self._info_put = threading.Event()
        self._owner_pid = os.getpid()

    # -- creating ------------------------------------------------------------------------

    @classmethod
    def init(
        cls,
        project_name: str | None = None,
        task_name: str | None = None,
        task_type: str = "training",
        tags: Sequence[str] | str | None = None,
        reuse_last_task_id: bool | str = False,
        auto_connect_streams: bool = True,
        **clearml_arguments: Any,
    ) -> Task:
        """Start a task and make it the process's current task (ClearML's ``Task.init``).

        When a task started by ``Task.init`` is still open in this process, it is returned
        instead, as ClearML does.
        """
        unknown = set(clearml_arguments) - IGNORED_INIT_ARGUMENTS
        if unknown:
            raise InvalidArgumentError(
                f"Task.init got unknown argument(s) {', '.join(sorted(unknown))}; it takes "
                "project_name, task_name, task_type, tags, reuse_last_task_id, "
                "auto_connect_streams (and ignores ClearML's "
                f"{', '.join(sorted(IGNORED_INIT_ARGUMENTS))})"
            )
        current = cls._current
        if current is not None and not current._closed and current._owner_pid == os.getpid():
            if (project_name, task_name) not in ((None, None), (current.get_project_name(),
                                                                current.name)):  # fmt: skip
                log.warning(
                    "chaintrack: Task.init called while task %r (%s) is open; returning it. "
                    "Call task.close() first to start another task.",
                    current.name,
                    current.id,
                )
            return current
        task = cls.start(
            project_name, task_name, task_type, tags, reuse_last_task_id=reuse_last_task_id
        )
        cls._current = task
        if config.auto_connect_streams(auto_connect_streams):
            task._console = ConsoleCapture(task._console_line)
            task._console.install()
        from chaintrack.sdk import lifecycle

        lifecycle.install()
        return task

    @classmethod
    def start(
        cls,
        project_name: str | None,
        task_name: str | None,
        task_type: Any = "training",
        tags: Sequence[str] | str | None = None,
        *,
        reuse_last_task_id: bool | str = False,
        store: Store | None = None,
    ) -> Task:
        """Create a live task without making it the current one: for integrations that record
        into a task of their own (the LangChain handler, ``chaintrack.otel.register``)."""
        kind = _task_type(task_type)
        tag_list = _tags(tags)
        config.mirror()  # a bad CHAINTRACK_MIRROR is an error here, not when the task ends
        project = str(project_name) if project_name else "default"
        name = str(task_name) if task_name else _default_task_name()
        if project.startswith("/") or project.endswith("/") or "//" in project:
            raise invalid("project_name", project_name, "names separated by single '/'")
        store = store or open_store()
        now = time.time()
        record = TaskRecord(
            id=uuid.uuid4().hex,
            project=project,
            name=name,
            type=kind,
            status="in_progress",
            created=now,
            last_update=now,
            started=now,
            tags=tag_list,
            user=current_user(),
            # Who runs it: the next process that finds it in_progress with this process gone
            # marks it stopped (see liveness.py).
            runtime={"process": liveness.identity()},
        )
        previous = cls._reusable(store, project, name, reuse_last_task_id)
        task = cls(store, record, live=True)
        if previous is not None:
            store.reset_task(previous.id)
            record.id, record.created = previous.id, previous.created
            fields = record.to_row()
            del fields["id"]
            task._writer.put(items.task_update(record.id, fields))
        else:
            task._writer.put(items.new_task(record))
        task._info_thread = threading.Thread(
            target=task._capture_info, name="chaintrack-task-info", daemon=True
        )
        task._info_thread.start()
        with cls._class_lock:
            cls._open_tasks.append(task)
        heartbeat.start()
        return task

    @staticmethod
    def _reusable(store: Store, project: str, name: str, reuse: bool | str) -> TaskRecord | None:
        if isinstance(reuse, str):
            return store.get_task(reuse)
        if not reuse:
            return None
        found = store.find_tasks(TaskQuery(project=project, name=name, limit=1))
        if found and found[0].status not in ("published", "in_progress"):
            return found[0]
        return None

    def _capture_info(self) -> None:
        try:
            script, packages = capture_script(), capture_packages()
            runtime: dict[str, Any] = dict(capture_runtime())
            runtime["process"] = self._record.runtime.get("process")
            self._record.script, self._record.packages = script, packages
            self._record.runtime = runtime
            self._writer.put(items.task_update(
                self.id,
                {"script": json.dumps(script), "packages": json.dumps(packages),
                 "runtime": json.dumps(runtime)},
            ))  # fmt: skip
        except Exception as exc:  # never let environment capture break a run
            log.warning("chaintrack: could not record the script and environment: %s", exc)
        finally:
            self._info_put.set()
        # After the writer has replayed what dead processes left in the spool (their final
        # statuses among it): only a task still running then lost its process unannounced.
        # With the store unreachable there is nothing to look at (the next process will).
        if self._writer.flush(config.drain_timeout()):
            liveness.stop_dead_tasks_quietly(self._store)

    def _console_line(self, line: str, level: int) -> None:
        self.get_logger()._event(LOG, None, None, None, level=level, text=line)

    # -- identity ------------------------------------------------------------------------

    @property
    def id(self) -> str:  # type: ignore[override]
        return self._record.id

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def task_type(self) -> str:
        return self._record.type

    @property
    def comment(self) -> str:
        return self._record.comment

    @property
    def record(self) -> TaskRecord:
        """The task's fields as stored (a copy is not made: do not modify it)."""
        return self._record

    def get_project_name(self) -> str:
        return self._record.project

    def get_status(self) -> str:
        if not self._live:
            self._record = self._read_store().get_task(self.id)
        return self._record.status

    def get_tags(self) -> list[str]:
        return list(self._record.tags)

    def __repr__(self) -> str:
        return (
            f"Task(id={self.id!r}, project={self.get_project_name()!r}, name={self.name!r}, "
            f"status={self._record.status!r})"
        )

    # -- editing -------------------------------------------------------------------------

    def _update(self, **fields: Any) -> None:
        for key, value in fields.items():
            setattr(self._record, key, value)
        row = {k: json.dumps(v) if k in TaskRecord.JSON_FIELDS else v for k, v in fields.items()}
        row["last_update"] = time.time()
        self._writer.put(items.task_update(self.id, row))

    def add_tags(self, tags: Sequence[str] | str) -> None:
        self._update(tags=list(dict.fromkeys([*self._record.tags, *_tags(tags)])))

    def set_tags(self, tags: Sequence[str] | str) -> None:
        self._update(tags=_tags(tags))

    def set_comment(self, comment: str) -> None:
        self._update(comment=str(comment))

    def set_name(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise invalid("name", name, "a non-empty string")
        self._update(name=name)

    def set_system_tags(self, tags: Sequence[str]) -> None:
        self._update(system_tags=_tags(tags))

    # -- reporting -----------------------------------------------------------------------

    def event_source(self, convert: Convert) -> Source:
        """The seam for a producer of events (see ``sdk/source.py``): ``source.put(captured)``
        on the producer's thread; ``convert(list_of_captured)`` on the writer's thread returns
        the items to write (built with ``chaintrack.sdk.items``)."""
        return self._writer.source(convert)

    def get_logger(self) -> Logger:
        if self._logger is None:
            self._logger = Logger(self)
        return self._logger

    def upload_artifact(
        self,
        name: str,
        artifact_object: Any,
        metadata: Mapping[str, Any] | None = None,
        wait_on_upload: bool = False,
        **_: Any,
    ) -> bool:
        """Store an object or a file with the task; see ``task.artifacts[name]``."""
        upload = prepare_artifact(
            self._blobs, self.id, name, artifact_object, dict(metadata) if metadata else None
        )
        self._writer.put(upload)
        if wait_on_upload:
            self._writer.flush(config.drain_timeout())
        return True

    def _put_model(self, record: ModelRecord) -> None:
        self._writer.put(items.record(record))

    @property
    def artifacts(self) -> dict[str, Artifact]:
        store = self._read_store()
        return {a.name: Artifact(a, store.blobs) for a in store.get_artifacts(self.id)}

    @property
    def models(self) -> dict[str, ModelList]:
        store = self._read_store()
        found: dict[str, ModelList] = {"input": ModelList(), "output": ModelList()}
        for record in store.get_models(self.id):
            found.setdefault(record.mode, ModelList()).append(Model(record, store.blobs))
        return found

    # -- lifecycle -----------------------------------------------------------------------

    def flush(self, wait_for_uploads: bool = False) -> bool:
        """Hand everything reported so far to the store (and wait for it when asked)."""
        if wait_for_uploads:
            return self._writer.flush(config.drain_timeout())
        return True

    def close(self) -> None:
        """Mark the task completed (unless already failed or stopped) and flush. Idempotent."""
        self._finish("completed")

    def mark_completed(self, status_message: str | None = None, **_: Any) -> None:
        self._finish("completed", status_message or "", force=True)

    def mark_failed(self, status_reason: str | None = None, status_message: str | None = None,
                    **_: Any) -> None:  # fmt: skip
        self._finish("failed", status_reason or status_message or "", force=True)

    def mark_stopped(self, status_message: str | None = None, **_: Any) -> None:
        self._finish("stopped", status_message or "", force=True)

    def _finish(self, status: str, reason: str = "", force: bool = False) -> None:
        with self._lock:
            if self._closed and not force:
                return
            was_live = not self._closed
            self._closed = True
        if self._console is not None:
            self._console.uninstall()
        if was_live and self._info_thread is not None and self._owner_pid == os.getpid():
            # The script and environment go in before the final status. The look for dead
            # tasks that follows them is waited for too, unless the store is unreachable
            # (then that thread gives up on its own; close() must not wait for it).
            self._info_put.wait(_INFO_JOIN_TIMEOUT)
            if not self._writer.offline:
                self._info_thread.join(_INFO_JOIN_TIMEOUT)
        now = time.time()
        self._update(status=status, status_reason=reason, completed=now)
        with Task._class_lock:
            if self in Task._open_tasks:
                Task._open_tasks.remove(self)
            if Task._current is self:
                Task._current = None
        self._writer.flush(config.drain_timeout())
        if was_live and self._owner_pid == os.getpid():
            mirror.after_close(self.id, self._store.uri)

    @classmethod
    def current_task(cls) -> Task | None:
        """The task started by ``Task.init`` in this process, while it is open."""
        current = cls._current
        return current if current is not None and not current._closed else None

    # -- reading -------------------------------------------------------------------------

    def _read_store(self) -> Store:
        self._writer.flush(config.drain_timeout())
        return self._store

    @classmethod
    def get_task(
        cls,
        task_id: str | None = None,
        project_name: str | None = None,
        task_name: str | None = None,
    ) -> Task:
        """A task by id, or the newest with this project and name."""
        store = open_store()
        for writer in (writer_for(store),):
            writer.flush(config.drain_timeout())
        if task_id is not None:
            return cls(store, store.get_task(task_id))
        if project_name is None and task_name is None:
            raise InvalidArgumentError("Task.get_task needs task_id= or project_name=/task_name=")
        found = store.find_tasks(TaskQuery(project=project_name, name=task_name, limit=1))
        if not found:
            raise TaskNotFoundError(
                f"no task with project_name={project_name!r} and task_name={task_name!r} in "
                f"{store.uri}"
            )
        return cls(store, found[0])

    @classmethod
    def get_tasks(
        cls,
        project_name: str | None = None,
        task_name: str | None = None,
        tags: Sequence[str] | None = None,
        status: Sequence[str] | str | None = None,
        limit: int | None = None,
    ) -> list[Task]:
        """Tasks matching every filter given, newest first."""
        statuses = _tags(status, "status")
        for s in statuses:
            if s not in STATUSES:
                raise invalid("status", s, f"one of {', '.join(STATUSES)}")
        store = open_store()
        writer_for(store).flush(config.drain_timeout())
        query = TaskQuery(
            project=project_name,
            name=task_name,
            tags=tuple(_tags(tags)),
            status=tuple(statuses),
            limit=limit,
        )
        return [cls(store, record) for record in store.find_tasks(query)]

    @classmethod
    def open_tasks(cls) -> list[Task]:
        with cls._class_lock:
            return list(cls._open_tasks)


clearml_surface.install_refusals(Task, "Task", clearml_surface.TASK,
                                 clearml_surface.TASK_PROPERTIES)  # fmt: skip
