"""The process that talks to ClearML: ``python -m chaintrack.clearml.worker``.

The ``clearml`` SDK keeps process-wide state (its main task, offline mode, sessions, exit hooks,
stdout banners), and a session made offline cannot go online again in the same process. So every
push runs here, in a child process, never in the application's own: :mod:`chaintrack.clearml.push`
starts it, writes one JSON request to its stdin and reads JSON lines from its stdout:
``{"kind": "progress", "done", "total", "task_id"}``, ``{"kind": "result", ...}`` per task, or
``{"kind": "error", "message"}``. What the SDK prints goes to stderr.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from chaintrack.clearml import connection, mapping
from chaintrack.clearml.push import ended_task
from chaintrack.clearml.replay import Source, replay
from chaintrack.errors import ChainTrackError, MirrorError
from chaintrack.store import open_store
from chaintrack.store.base import Store
from chaintrack.store.records import TaskQuery, TaskRecord, WriteBatch

Emit = Callable[..., None]


def run(request: dict[str, Any], emit: Emit) -> None:
    """Push the tasks of ``request`` (or list the pending ones), reporting through ``emit``."""
    source_store = open_store(request.get("store"))
    clearml = connection.load()
    offline = request.get("offline")
    is_offline = connection.offline_from_environment() if offline is None else bool(offline)
    server = None
    if not is_offline or request.get("pending"):
        server = connection.server()
        connection.check_reachable(server.api_host)
    if request.get("pending"):
        assert server is not None
        emit("pending", task_ids=_pending(source_store, server.api_host))
        return
    # One mode for the whole process: a ClearML session made offline cannot go online again.
    clearml.Task.set_offline(server is None)
    records = [ended_task(source_store, task_id) for task_id in request["task_ids"]]
    for done, record in enumerate(records):
        emit("progress", done=done, total=len(records), task_id=record.id)
        previous = mapping.mirrors(record.system_tags).get(server.api_host) if server else None
        if server is not None and previous is not None and not request.get("force"):
            emit("result", **_skipped(record, previous, server))
            continue
        emit("result", **_push_one(clearml, source_store, record, request.get("project"), server))
    emit("progress", done=len(records), total=len(records), task_id="")


def _pending(store: Store, api_host: str) -> list[str]:
    tasks = store.find_tasks(TaskQuery(status=mapping.FINAL_STATUSES))
    return [t.id for t in reversed(tasks) if api_host not in mapping.mirrors(t.system_tags)]


def _skipped(record: TaskRecord, clearml_id: str, server: connection.Server) -> dict[str, Any]:
    return {
        "task_id": record.id,
        "outcome": "skipped",
        "clearml_id": clearml_id,
        "url": _web_page(server, clearml_id),
        "message": f"already in ClearML as {clearml_id} ({server.api_host}); use --force "
        "(force=True) to push a new copy",
    }


def _web_page(server: connection.Server, clearml_id: str) -> str:
    return f"{server.web_host}/projects/*/experiments/{clearml_id}/output/log"


def _push_one(
    clearml: Any,
    store: Store,
    record: TaskRecord,
    project: str | None,
    server: connection.Server | None,
) -> dict[str, Any]:
    offline = server is None
    scratch = Path(tempfile.mkdtemp(prefix="chaintrack-clearml-"))
    try:
        cm = (
            _open_offline(clearml.Task, record, project)
            if offline
            else _open_online(clearml.Task, record, project)
        )
        try:
            with _refusals() as refused:
                replay(Source(store, record), cm, offline, scratch)
                cm.flush(wait_for_uploads=True)
            if refused:
                raise MirrorError(
                    f"ClearML refused part of the task ({len(refused)} error(s)); the first: "
                    + refused[0]
                )
            if not offline:
                _end_status(cm, record)
            session = Path(f"{cm.get_offline_mode_folder()}.zip") if offline else None
            url = None if offline else cm.get_output_log_web_page()
        except Exception as error:
            _abandon(cm, error)
            raise MirrorError(
                f"pushing task {record.id} to ClearML failed: {error}. The ClearML task "
                f"{cm.id} was left failed; chaintrack's task is unchanged."
            ) from error
        cm.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result = {"task_id": record.id, "clearml_id": cm.id}
    if offline:
        return {**result, "outcome": "offline", "session": str(session),
                "message": f"offline session {session}"}  # fmt: skip
    assert server is not None
    _remember(store, record, cm.id, server.api_host)
    return {**result, "outcome": "pushed", "url": url, "message": f"ClearML task {cm.id}"}


def _open_offline(ClearMLTask: Any, record: TaskRecord, project: str | None) -> Any:
    # Offline sessions exist only for the process's main task (Task.init). An import always
    # ends completed, so a failed or stopped status travels as a tag (mapping.tags).
    return ClearMLTask.init(
        project_name=project or record.project,
        task_name=record.name,
        task_type=mapping.task_type(record.type),
        tags=mapping.tags(record, offline=True) or None,
        reuse_last_task_id=False,
        auto_connect_frameworks=dict.fromkeys(connection.FRAMEWORKS, False),
        auto_connect_arg_parser=False,
        auto_connect_streams=False,
        auto_resource_monitoring=False,
    )


def _open_online(ClearMLTask: Any, record: TaskRecord, project: str | None) -> Any:
    # Task.create, not Task.init: a main task's close() marks it completed whatever it was (a
    # stopped task would arrive completed), and installs hooks and a console banner. The task
    # is started by hand and ended with the chaintrack task's own status (_end_status).
    cm = ClearMLTask.create(
        project_name=project or record.project,
        task_name=record.name,
        task_type=mapping.task_type(record.type),
        add_task_init_call=False,
        detect_repository=False,
        packages=False,
    )
    if record.tags:
        cm.set_tags(mapping.tags(record, offline=False))
    cm.output_uri = True  # artifacts and models go to the server's file server
    cm.mark_started(force=True)
    return cm


def _end_status(cm: Any, record: TaskRecord) -> None:
    if record.status == "failed":
        cm.mark_failed(
            status_reason=record.status_reason or "failed",
            status_message="failed in chaintrack",
            force=True,
        )
    elif record.status == "stopped":
        cm.mark_stopped(force=True, status_message=record.status_reason or "stopped in chaintrack")
    else:  # completed (and published, closed)
        cm.mark_completed()


class _ErrorCollector(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.ERROR)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record.getMessage()[:2000])


@contextlib.contextmanager
def _refusals() -> Iterator[list[str]]:
    """Errors the clearml SDK logs instead of raising (a refused event batch, a failed upload):
    a push that met one must not look complete."""
    refused: list[str] = []
    handler = _ErrorCollector(refused)
    clearml_logger = logging.getLogger("clearml")
    clearml_logger.addHandler(handler)
    try:
        yield refused
    finally:
        clearml_logger.removeHandler(handler)


def _abandon(cm: Any, error: Exception) -> None:
    with contextlib.suppress(Exception):
        cm.mark_failed(status_reason=f"chaintrack push failed: {error}"[:255], force=True)
    with contextlib.suppress(Exception):
        cm.close()


def _remember(store: Store, record: TaskRecord, clearml_id: str, api_host: str) -> None:
    kept = [t for t in record.system_tags if api_host not in mapping.mirrors([t])]
    tags = [*kept, mapping.mirror_tag(clearml_id, api_host)]
    store.write(WriteBatch(task_updates=[(record.id, {"system_tags": json.dumps(tags)})]))


def main(stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    request = json.load(stdin)

    def emit(kind: str, **data: Any) -> None:
        stdout.write(json.dumps({"kind": kind, **data}) + "\n")
        stdout.flush()

    if request.get("quiet"):
        logging.getLogger("clearml").setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            run(request, emit)
    except ChainTrackError as error:
        emit("error", message=str(error))
        return 1
    except Exception as error:
        emit("error", message=f"{type(error).__name__}: {error}")
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
