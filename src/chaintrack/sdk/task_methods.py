"""The everyday methods of ClearML's ``Task``: single parameters, progress, renaming and moving,
status changes, plots and values read back, configuration objects, task queries.

Mixed into :class:`~chaintrack.sdk.task.Task`; each method keeps ClearML's name, arguments and
defaults, and what it sets is read back by the matching getter on this process's task, on a task
loaded with ``Task.get_task`` and through a tracking server.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from chaintrack import config
from chaintrack.errors import InvalidArgumentError, invalid
from chaintrack.sdk import items
from chaintrack.sdk.reading import TaskReads
from chaintrack.store import params
from chaintrack.store.records import (
    DELETED_PARAMETER,
    MEDIA,
    PLOT,
    SCALAR,
    SINGLE_VALUE_ITER,
    TABLE,
    ConfigurationRecord,
    ParameterRecord,
    TaskQuery,
    TaskRecord,
)

if TYPE_CHECKING:
    import threading

    from chaintrack.sdk.logger import Logger
    from chaintrack.sdk.models import ModelList
    from chaintrack.sdk.task import Task
    from chaintrack.sdk.writer import Writer
    from chaintrack.store.base import Store

log = logging.getLogger("chaintrack")

#: Publishing needs a task that ended, as on a ClearML server.
PUBLISHABLE = ("completed", "stopped")


def _split(name: str) -> tuple[str, str]:
    """``"Args/lr"`` -> ("Args", "lr"); a name without a section is in ``General``."""
    section, _, rest = str(name).partition("/")
    return ("General", section) if not rest else (section, rest)


def _flat_values(args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """ClearML's ``set_parameters(*args, **kwargs)``: dicts or (key, value) pairs, then keywords."""
    values: dict[str, Any] = {}
    for item in args:
        if isinstance(item, Mapping):
            values.update({str(k): v for k, v in item.items()})
        elif isinstance(item, Iterable) and not isinstance(item, (str, bytes)):
            try:
                values.update({str(k): v for k, v in item})
            except (TypeError, ValueError):
                raise invalid("args", item, "dicts or (name, value) pairs") from None
        else:
            raise invalid("args", item, "dicts or (name, value) pairs")
    values.update(kwargs)
    return values


class TaskEveryday(TaskReads):
    """ClearML's everyday ``Task`` methods (see the module docstring)."""

    if TYPE_CHECKING:  # provided by Task
        _writer: Writer
        _record: TaskRecord
        _live: bool
        _store: Store
        _info_thread: threading.Thread | None
        _info_put: threading.Event

        def _update(self, **fields: Any) -> None: ...
        def get_logger(self) -> Logger: ...
        def get_project_name(self) -> str: ...
        def get_status(self) -> str: ...
        def set_name(self, name: str) -> None: ...
        def mark_completed(self, status_message: str | None = None, **_: Any) -> None: ...
        def mark_stopped(self, status_message: str | None = None, **_: Any) -> None: ...
        @property
        def models(self) -> dict[str, ModelList]: ...
        @classmethod
        def current_task(cls) -> Task | None: ...

    # -- parameters ------------------------------------------------------------------------

    def _put_parameter(
        self, name: str, value: Any, description: str = "", value_type: Any = None
    ) -> None:
        section, key = _split(name)
        text, type_name = params.encode(value, name)
        if value_type is not None:
            type_name = getattr(value_type, "__name__", None) or str(value_type)
        record = ParameterRecord(self.id, section, key, text, type_name, description or "")
        self._writer.put(items.record(record))

    def set_parameter(
        self, name: str, value: Any, description: str | None = None, value_type: Any = None
    ) -> None:
        """Set one parameter, ``"Section/name"`` (no section: ``General``), replacing its value."""
        self._put_parameter(name, value, description or "", value_type)

    def get_parameter(self, name: str, default: Any = None, cast: bool = False) -> Any:
        """The value of ``"Section/name"`` (``default`` when absent): text as ClearML gives it,
        or the value with its type when ``cast=True``."""
        section, key = _split(name)
        return self.get_parameters(cast=cast).get(f"{section}/{key}", default)

    def update_parameters(self, *args: Any, **kwargs: Any) -> None:
        """Set flat ``"Section/name"`` parameters, keeping the others."""
        for name, value in _flat_values(args, kwargs).items():
            self._put_parameter(name, value)

    def set_parameters(self, *args: Any, **kwargs: Any) -> None:
        """Replace every parameter with these flat ``"Section/name"`` ones (dicts, pairs or
        keywords), as ClearML does; ``update_parameters`` keeps the others. User properties
        (section ``properties``) are not parameters and stay."""
        values = _flat_values(args, kwargs)
        keep = {"/".join(_split(k)) for k in values}
        for p in self._read_store().get_parameters(self.id):
            if p.section != "properties" and f"{p.section}/{p.name}" not in keep:
                self.delete_parameter(f"{p.section}/{p.name}")
        for name, value in values.items():
            self._put_parameter(name, value)

    def set_parameters_as_dict(self, dictionary: Mapping[str, Any]) -> None:
        """Set parameters from a nested dict: ``{"Args": {"lr": 0.1}}`` is ``Args/lr``."""
        if not isinstance(dictionary, Mapping):
            raise invalid("dictionary", dictionary, "a dict of sections, each a dict of values")
        for name, value in params.flatten({str(k): v for k, v in dictionary.items()}).items():
            self._put_parameter(name, value)

    def delete_parameter(self, name: str, force: bool = False) -> bool:
        """Delete ``"Section/name"``; True (deleting an absent parameter changes nothing)."""
        section, key = _split(name)
        record = ParameterRecord(self.id, section, key, "null", DELETED_PARAMETER)
        self._writer.put(items.record(record))
        return True

    # -- configuration objects ---------------------------------------------------------------

    def set_configuration_object(
        self,
        name: str,
        config_text: str | None = None,
        description: str | None = None,
        config_type: str | None = None,
        config_dict: Mapping[str, Any] | list[Any] | None = None,
    ) -> None:
        """Store a configuration object from text or from a dict/list (kept as JSON)."""
        if (config_text is None) == (config_dict is None):
            raise InvalidArgumentError(
                "set_configuration_object needs exactly one of config_text= or config_dict="
            )
        if config_dict is not None:
            try:
                text = json.dumps(config_dict, indent=2)
            except (TypeError, ValueError) as exc:
                raise invalid("config_dict", config_dict, f"JSON-serializable ({exc})") from None
            kind = config_type or "dictionary"
        else:
            text, kind = str(config_text), config_type or "text"
        record = ConfigurationRecord(self.id, str(name), kind, text, description or "")
        self._writer.put(items.record(record))

    def get_configuration_object_as_dict(self, name: str) -> dict[str, Any] | list[Any] | None:
        """The configuration object parsed from JSON (or HOCON when ``pyhocon`` is installed);
        None when there is none of that name or its text is neither."""
        text = self.get_configuration_object(name)
        if text is None:
            return None
        try:
            value = json.loads(text)
        except ValueError:
            try:
                from pyhocon import ConfigFactory  # type: ignore[import-not-found]
            except ImportError:
                return None
            try:
                return dict(ConfigFactory.parse_string(text).as_plain_ordered_dict())
            except Exception:  # not HOCON either
                return None
        return value if isinstance(value, (dict, list)) else None

    # -- the task's own fields --------------------------------------------------------------

    def _fresh(self) -> TaskRecord:
        """The task's fields: this process's copy for a live task, else read from the store."""
        if not self._live:
            self._record = self._read_store().get_task(self.id)
        return self._record

    def rename(self, new_name: str) -> bool:
        self.set_name(new_name)
        return True

    def remove_tags(self, tags: Sequence[str] | str) -> None:
        gone = {tags} if isinstance(tags, str) else set(tags)
        self._update(tags=[t for t in self._fresh().tags if t not in gone])

    def set_task_type(self, task_type: Any) -> None:
        from chaintrack.sdk.task import _task_type

        self._update(type=_task_type(task_type))

    def move_to_project(
        self,
        new_project_id: str | None = None,
        new_project_name: str | None = None,
        system_tags: Sequence[str] | None = None,
    ) -> bool:
        """Move the task to another project. chaintrack's projects are their names, so
        ``new_project_id`` is a name too."""
        project = new_project_name or new_project_id
        if not isinstance(project, str) or not project.strip("/") or "//" in project:
            raise invalid("new_project_name", project, "a project name (parts separated by '/')")
        self._update(project=project.strip("/"))
        return True

    def set_progress(self, progress: int) -> None:
        """Progress in percent (0 to 100), shown on the task's page."""
        if isinstance(progress, bool) or not isinstance(progress, (int, float)):
            raise invalid("progress", progress, "a number from 0 to 100")
        if self._info_thread is not None:
            # The environment capture writes the runtime fields too: let it finish first.
            self._info_put.wait(10.0)
        runtime = {**self._fresh().runtime, "progress": int(progress)}
        self._update(runtime=runtime)

    def get_progress(self) -> int | None:
        value = self._fresh().runtime.get("progress")
        return int(value) if isinstance(value, (int, float)) else None

    def get_output_log_web_page(self) -> str:
        """The task's page in chaintrack's web UI: on the tracking server when tasks go to one,
        else at CHAINTRACK_UI_URL (where ``chaintrack ui`` serves by default)."""
        uri = self._store.uri
        if uri.startswith(("http://", "https://")):
            base = re.sub(r"//[^/@]*@", "//", uri).rstrip("/")  # never a token in a link
        else:
            base = config.ui_url()
        return f"{base}/tasks/{self.id}"

    # -- status ------------------------------------------------------------------------------

    def mark_started(self, force: bool = False) -> None:
        """Set the task in progress again (ClearML's ``started``)."""
        self._update(status="in_progress", status_reason="", started=time.time(), completed=None)

    def started(self, ignore_errors: bool = True, force: bool = False) -> None:
        self.mark_started(force=force)

    def stopped(
        self,
        ignore_errors: bool = True,
        force: bool = False,
        status_reason: str | None = None,
        status_message: str | None = None,
    ) -> None:
        self.mark_stopped(status_message=status_reason or status_message)

    def completed(self, ignore_errors: bool = True) -> None:
        self.mark_completed()

    def publish(self, ignore_errors: bool = True) -> bool:
        """Publish a completed or stopped task (status ``published``). A task still running
        cannot be published: False (or an error when ``ignore_errors=False``)."""
        status = self._fresh().status
        if status not in PUBLISHABLE:
            message = (
                f"task {self.id} is {status}: only a completed or stopped task can be "
                "published; close it (task.close()) or mark it completed first"
            )
            if not ignore_errors:
                raise InvalidArgumentError(message)
            log.warning("chaintrack: %s", message)
            return False
        self._update(status="published")
        self._writer.flush(config.drain_timeout())
        return True

    # -- reading what was reported -------------------------------------------------------------

    def get_last_iteration(self) -> int:
        """The highest iteration of any scalar, plot, table or debug sample reported (0: none)."""
        store = self._read_store()
        last = 0
        for kind in (SCALAR, PLOT, TABLE, MEDIA):
            for s in store.event_series(self.id, kind):
                if s.last_iter is not None and s.last_iter != SINGLE_VALUE_ITER:
                    last = max(last, s.last_iter)
        return last

    def get_reported_plots(self, max_iterations: int | None = None) -> list[dict[str, Any]]:
        """Every plot as ClearML returns it: ``{"timestamp" (ms), "type": "plot", "task", "iter",
        "metric", "variant", "plot_str"}`` (Plotly JSON), oldest first; with ``max_iterations``,
        only the plots of the last that many iterations."""
        events = self._read_store().get_events(self.id, PLOT)
        if max_iterations:
            kept = sorted({e.iter or 0 for e in events})[-int(max_iterations) :]
            events = [e for e in events if (e.iter or 0) in kept]
        return [
            {
                "timestamp": int(e.ts * 1000),
                "type": "plot",
                "task": self.id,
                "iter": e.iter or 0,
                "metric": e.metric or "",
                "variant": e.variant or "",
                "plot_str": json.dumps(e.data),
            }
            for e in events
        ]

    def get_reported_single_value(self, name: str) -> float | None:
        return self.get_reported_single_values().get(name)

    def get_models(self) -> dict[str, ModelList]:
        """``{"input": [...], "output": [...]}``: the task's models (``task.models``)."""
        return self.models

    # -- finding tasks --------------------------------------------------------------------------

    @classmethod
    def _matching(
        cls,
        project_name: Sequence[str] | str | None,
        task_name: str | None,
        tags: Sequence[str] | None,
        status: Sequence[str] | str | None,
        ids: Sequence[str] | None,
    ) -> tuple[Store, list[TaskRecord]]:
        from chaintrack.sdk.task import _tags
        from chaintrack.sdk.writers import writer_for
        from chaintrack.store import open_store

        store = open_store()
        writer_for(store).flush(config.drain_timeout())
        projects: list[str | None] = [project_name] if isinstance(project_name, str) else []
        projects = projects or [str(p) for p in project_name or ()] or [None]
        found: list[TaskRecord] = []
        for project in projects:
            found += store.find_tasks(
                TaskQuery(
                    project=project, tags=tuple(_tags(tags)), status=tuple(_tags(status, "status"))
                )
            )
        if task_name:
            try:
                pattern = re.compile(task_name)
            except re.error as exc:
                raise invalid("task_name", task_name, f"a regular expression ({exc})") from None
            found = [t for t in found if pattern.search(t.name)]
        if ids:
            found = [t for t in found if t.id in set(ids)]
        found.sort(key=lambda t: t.created, reverse=True)
        return store, list({t.id: t for t in found}.values())

    @classmethod
    def query_tasks(
        cls,
        project_name: Sequence[str] | str | None = None,
        task_name: str | None = None,
        tags: Sequence[str] | None = None,
        additional_return_fields: Sequence[str] | None = None,
        task_filter: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        """Ids of the matching tasks, newest first (``task_name`` is a regular expression, as in
        ClearML); with ``additional_return_fields``, dicts of ``id`` and those fields.
        ``task_filter`` may hold ``status`` and ``id`` lists."""
        flt = dict(task_filter or {})
        _, records = cls._matching(project_name, task_name, tags, flt.get("status"), flt.get("id"))
        if not additional_return_fields:
            return [r.id for r in records]
        fields = list(additional_return_fields)
        for f in fields:
            if f not in TaskRecord.__dataclass_fields__:
                raise invalid(
                    "additional_return_fields",
                    f,
                    f"task fields: {', '.join(TaskRecord.__dataclass_fields__)}",
                )
        return [{"id": r.id, **{f: getattr(r, f) for f in fields}} for r in records]

    @classmethod
    def get_all(cls, session: Any = None, log: Any = None, **kwargs: Any) -> list[Task]:
        """Tasks matching ClearML's ``tasks.get_all`` filters ``id``, ``name`` (a regular
        expression), ``project_name``, ``status`` and ``tags``, newest first, as Task objects."""
        from chaintrack.sdk.task import Task

        known = {
            "id",
            "name",
            "project_name",
            "status",
            "tags",
            "only_fields",
            "order_by",
            "page",
            "page_size",
            "system_tags",
            "type",
            "search_hidden",
        }
        unknown = set(kwargs) - known
        if unknown:
            raise InvalidArgumentError(
                f"Task.get_all got filter(s) {', '.join(sorted(unknown))}; chaintrack filters "
                "by id, name, project_name, status and tags"
            )
        ids = kwargs.get("id")
        store, records = cls._matching(
            kwargs.get("project_name"),
            kwargs.get("name"),
            kwargs.get("tags"),
            kwargs.get("status"),
            [ids] if isinstance(ids, str) else ids,
        )
        return [Task(store, r) for r in records]

    # -- small accessors ClearML programs use ------------------------------------------------------

    @property
    def task_id(self) -> str:
        return self.id

    def get_system_tags(self) -> list[str]:
        return list(self._fresh().system_tags)

    def set_archived(self, archive: bool) -> None:
        """Archive (or restore) the task: ClearML's ``archived`` system tag."""
        tags = [t for t in self._fresh().system_tags if t != "archived"]
        self._update(system_tags=[*tags, "archived"] if archive else tags)

    def get_archived(self) -> bool:
        return "archived" in self._fresh().system_tags

    def get_status_message(self) -> tuple[str | None, str | None]:
        """(status reason, status message): chaintrack keeps one text, returned in both."""
        reason = self._fresh().status_reason or None
        return reason, reason

    def reload(self) -> None:
        """Read the task's fields again from the store."""
        self._record = self._read_store().get_task(self.id)

    def is_current_task(self) -> bool:
        return type(self).current_task() is self

    def is_main_task(self) -> bool:
        return type(self).current_task() is self

    @staticmethod
    def running_locally() -> bool:
        """Always True: chaintrack runs tasks in the process that started them."""
        return True

    @classmethod
    def is_offline(cls) -> bool:
        """Always False: chaintrack stores tasks as they run (locally or on a tracking server)."""
        return False

    def get_initial_iteration(self) -> int:
        """0: iterations are stored as reported (no offset of a continued task)."""
        return 0

    def get_all_reported_scalars(self, x_axis: str = "iter") -> dict[str, Any]:
        """Every scalar point (``get_reported_scalars`` thins nothing either)."""
        return self.get_reported_scalars()

    @classmethod
    def get_by_name(cls, task_name: str) -> Task:
        """The newest task of this name in any project."""
        from chaintrack.sdk.task import Task

        return Task.get_task(task_name=task_name)

    def delete_user_properties(self, *iterables: Any) -> bool:
        """Delete user properties by name (strings, or dicts/pairs whose name is taken)."""
        for item in iterables:
            names = [item] if isinstance(item, str) else list(item)
            for name in names:
                key = name.get("name") if isinstance(name, Mapping) else name
                self.delete_parameter(f"properties/{key}")
        return True

    @property
    def logger(self) -> Logger:
        return self.get_logger()

    @property
    def status(self) -> str:
        return self.get_status()

    @property
    def project(self) -> str:
        """The project's name (ClearML gives its id; chaintrack's projects are their names)."""
        return self.get_project_name()

    @property
    def parent(self) -> str | None:
        return self._fresh().parent
