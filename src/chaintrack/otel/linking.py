"""One tree with LangChain: an OpenTelemetry span started inside a LangChain or LangGraph run
that chaintrack's callback handler traces hangs under that run, in the handler's task.

LangChain passes the running callbacks to nested code in a context variable
(``langchain_core.runnables.config.var_child_runnable_config``): inside a run, its
``callbacks`` manager names the current run (``parent_run_id``) and the handlers that trace it.
When a span starts with no local OpenTelemetry parent and chaintrack's handler is among those
handlers, the span records the run as its parent (``chaintrack.parent_run_id``, the id the
handler stores that run under) and the handler's task (``chaintrack.task_id``); its children
inherit the task. Nothing is read when LangChain is not imported.
"""

from __future__ import annotations

import sys
from typing import Any

PARENT_RUN = "chaintrack.parent_run_id"
TASK_ID = "chaintrack.task_id"
#: Where LangChain keeps the running callbacks (not imported: no LangChain run to link to).
CONFIG_MODULE = "langchain_core.runnables.config"


def current_run() -> tuple[str, Any] | None:
    """(the current LangChain run's id, the chaintrack task tracing it), or None."""
    config_module = sys.modules.get(CONFIG_MODULE)
    if config_module is None:
        return None
    config = config_module.var_child_runnable_config.get()
    if not config:
        return None
    manager = config.get("callbacks")
    run_id = getattr(manager, "parent_run_id", None)
    if run_id is None:
        return None
    task = _handler_task(getattr(manager, "handlers", None) or [])
    if task is None:
        task = _handler_task(getattr(manager, "inheritable_handlers", None) or [])
    return (str(run_id), task) if task is not None else None


def _handler_task(handlers: list[Any]) -> Any:
    from chaintrack.sdk.task import Task

    for handler in handlers:
        task = getattr(handler, "task", None)
        if isinstance(task, Task):
            return task
    return None
