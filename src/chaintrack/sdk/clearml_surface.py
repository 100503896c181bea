"""ClearML's public ``Task`` and ``Logger`` names, and what chaintrack does with each.

Three statuses: ``works`` (same name, arguments and result), ``works differently`` (the note
says how), ``refused`` (calling it raises :class:`~chaintrack.errors.NotSupportedError` with the
note as the reason). The table in docs/sdk.md is rendered from here (``render_markdown``) and a
test checks it against the installed clearml SDK's classes, so it stays true.
"""

from __future__ import annotations

from typing import Any

from chaintrack.errors import NotSupportedError

WORKS = "works"
DIFFERENT = "works differently"
REFUSED = "refused"

_LOCAL = (
    "chaintrack runs tasks locally, in the process that starts them: there are no agents, "
    "queues or remote execution. Run the script where it should run"
)
_SERVER = (
    "chaintrack has no ClearML server session or raw API; CHAINTRACK_TRACKING_URI picks "
    "the store, and `chaintrack clearml push` mirrors tasks to ClearML"
)
_EDIT = (
    "chaintrack records runs as they happen and does not create, copy, reset or delete "
    "tasks by API; run the script again (reuse_last_task_id=True reuses a task)"
)
_CAPTURED = (
    "the script, git state and installed packages are captured when the task starts "
    "and are not set by hand"
)
_REGISTRY = (
    "labels, model design and dataviews belong to ClearML's model registry; chaintrack "
    "stores models with OutputModel and task.models"
)
_STORAGE = (
    "files go to the store's folder or to the bucket CHAINTRACK_ARTIFACTS_URI names; "
    "no per-task storage setup"
)
_INTERNAL = "a ClearML internal (its backend objects); chaintrack has no such object"
_ENDPOINT = "external endpoints and the HTTP router need a ClearML agent; " + _LOCAL

#: ClearML ``Task`` name -> (status, note).
TASK: dict[str, tuple[str, str]] = {
    "TaskTypes": (WORKS, ""),
    "add_tags": (WORKS, ""),
    "artifacts": (WORKS, ""),
    "close": (WORKS, ""),
    "comment": (WORKS, ""),
    "completed": (WORKS, ""),
    "connect": (
        DIFFERENT,
        "dicts and objects' attributes; no ignore_remote_overrides (nothing overrides "
        "parameters remotely)",
    ),
    "connect_configuration": (
        DIFFERENT,
        "no ignore_remote_overrides (nothing overrides a configuration remotely)",
    ),
    "current_task": (WORKS, ""),
    "delete_parameter": (DIFFERENT, "the parameter is marked deleted and left out of every read"),
    "delete_user_properties": (WORKS, ""),
    "flush": (WORKS, ""),
    "get_all": (
        DIFFERENT,
        "filters id, name (a regular expression), project_name, status and "
        "tags; returns Task objects",
    ),
    "get_all_reported_scalars": (WORKS, ""),
    "get_archived": (WORKS, ""),
    "get_by_name": (WORKS, ""),
    "get_configuration_object": (WORKS, ""),
    "get_configuration_object_as_dict": (
        DIFFERENT,
        "parses JSON (HOCON too when pyhocon is installed)",
    ),
    "get_configuration_objects": (WORKS, ""),
    "get_debug_samples": (
        DIFFERENT,
        "every sample as DebugSample objects (no title, series or n_last_iterations filters)",
    ),
    "get_initial_iteration": (DIFFERENT, "always 0: iterations are stored as reported"),
    "get_last_iteration": (WORKS, ""),
    "get_last_scalar_metrics": (WORKS, ""),
    "get_logger": (WORKS, ""),
    "get_models": (WORKS, ""),
    "get_output_log_web_page": (
        DIFFERENT,
        "the task's page in chaintrack's UI: the tracking server's address, else CHAINTRACK_UI_URL",
    ),
    "get_parameter": (WORKS, ""),
    "get_parameters": (DIFFERENT, "values keep their types unless cast=False"),
    "get_parameters_as_dict": (DIFFERENT, "values keep their types (no cast argument)"),
    "get_progress": (WORKS, ""),
    "get_project_name": (WORKS, ""),
    "get_reported_console_output": (WORKS, ""),
    "get_reported_plots": (WORKS, ""),
    "get_reported_scalars": (DIFFERENT, "every point (no max_samples or x_axis)"),
    "get_reported_single_value": (WORKS, ""),
    "get_reported_single_values": (WORKS, ""),
    "get_status": (WORKS, ""),
    "get_status_message": (DIFFERENT, "one text, returned as both reason and message"),
    "get_system_tags": (WORKS, ""),
    "get_tags": (WORKS, ""),
    "get_task": (
        DIFFERENT,
        "by task_id, or the newest of project_name and task_name (no tags, allow_archived or "
        "task_filter)",
    ),
    "get_tasks": (
        DIFFERENT,
        "filters project_name, task_name (exact), tags, status and limit (no task_ids, "
        "allow_archived or task_filter)",
    ),
    "get_user_properties": (DIFFERENT, "the values only (no value_only argument)"),
    "id": (WORKS, ""),
    "init": (
        DIFFERENT,
        "arguments for ClearML-only features (output_uri, auto_connect_frameworks"
        "…) are accepted and ignored",
    ),
    "is_current_task": (WORKS, ""),
    "is_main_task": (WORKS, ""),
    "is_offline": (DIFFERENT, "always False: tasks are stored as they run"),
    "logger": (WORKS, ""),
    "parent": (WORKS, ""),
    "project": (DIFFERENT, "the project's name (projects have no ids)"),
    "status": (WORKS, ""),
    "mark_completed": (WORKS, ""),
    "mark_failed": (WORKS, ""),
    "mark_started": (WORKS, ""),
    "mark_stopped": (WORKS, ""),
    "models": (WORKS, ""),
    "move_to_project": (DIFFERENT, "projects are names: new_project_id is taken as a name"),
    "name": (WORKS, ""),
    "publish": (DIFFERENT, "returns True, or False for a task that has not ended"),
    "query_tasks": (DIFFERENT, "task_filter takes status and id lists"),
    "reload": (WORKS, ""),
    "remove_tags": (WORKS, ""),
    "rename": (WORKS, ""),
    "running_locally": (WORKS, "always True"),
    "set_archived": (WORKS, ""),
    "set_comment": (WORKS, ""),
    "set_configuration_object": (DIFFERENT, "config_dict is kept as JSON text"),
    "set_name": (WORKS, ""),
    "set_parameter": (DIFFERENT, "the value keeps its type (ClearML stores text)"),
    "set_parameters": (WORKS, "replaces every parameter, as ClearML does"),
    "set_parameters_as_dict": (WORKS, ""),
    "set_progress": (WORKS, ""),
    "set_system_tags": (WORKS, ""),
    "set_tags": (WORKS, ""),
    "set_task_type": (WORKS, ""),
    "set_user_properties": (WORKS, ""),
    "started": (WORKS, ""),
    "stopped": (WORKS, ""),
    "task_id": (WORKS, ""),
    "task_type": (WORKS, ""),
    "update_parameters": (WORKS, ""),
    "upload_artifact": (WORKS, ""),
}
for _name in (
    "create_function_task",
    "dequeue",
    "enqueue",
    "execute_remotely",
    "get_executed_queue",
    "get_num_enqueued_tasks",
    "launch_multi_node",
    "mark_stop_request",
    "stop_request",
    "register_abort_callback",
    "set_base_docker",
    "get_base_docker",
    "debug_simulate_remote_task",
    "last_worker",
    "publish_on_completion",
    "wait_for_status",
    "resource_monitor",
    "set_resource_monitor_iteration_timeout",
):
    TASK[_name] = (REFUSED, _LOCAL)
for _name in (
    "list_external_endpoints",
    "request_external_endpoint",
    "wait_for_external_endpoint",
    "get_http_router",
):
    TASK[_name] = (REFUSED, _ENDPOINT)
for _name in (
    "set_credentials",
    "set_offline",
    "import_offline_session",
    "get_offline_mode_folder",
    "send",
    "session",
    "default_session",
    "get_project_id",
    "get_project_object",
    "get_projects",
    "data",
    "metrics_manager",
    "update_task",
    "normalize_id",
    "resolve_id",
    "DeleteError",
    "NotSet",
    "TaskStatusEnum",
    "archived_tag",
    "log",
    "report_subprocess_enabled",
    "cache_dir",
):
    TASK[_name] = (
        REFUSED,
        _SERVER
        if _name
        not in (
            "DeleteError",
            "NotSet",
            "TaskStatusEnum",
            "archived_tag",
            "data",
            "metrics_manager",
            "log",
            "logger",
            "parent",
            "cache_dir",
            "report_subprocess_enabled",
            "status",
            "project",
        )
        else _INTERNAL,
    )
for _name in (
    "clone",
    "create",
    "delete",
    "delete_artifacts",
    "export_task",
    "import_task",
    "reset",
    "set_parent",
    "set_project",
    "unregister_artifact",
    "register_artifact",
    "set_artifacts",
    "get_registered_artifacts",
    "remove_input_models",
    "set_input_model",
    "update_output_model",
    "input_models_id",
    "output_models_id",
    "set_initial_iteration",
    "set_random_seed",
    "get_random_seed",
):
    TASK[_name] = (REFUSED, _EDIT)
for _name in (
    "add_requirements",
    "ignore_requirements",
    "force_requirements_env_freeze",
    "force_store_standalone_script",
    "get_requirements",
    "get_script",
    "set_packages",
    "set_repo",
    "set_script",
):
    TASK[_name] = (REFUSED, _CAPTURED)
for _name in (
    "connect_label_enumeration",
    "get_label_num_description",
    "get_labels_enumeration",
    "get_model_config_dict",
    "get_model_config_text",
    "get_model_design",
    "get_num_of_classes",
    "labels_stats",
    "save_exec_model_design_file",
    "set_model_config",
    "set_model_label_enumeration",
    "update_model_desc",
    "get_dataviews",
    "set_dataview",
):
    TASK[_name] = (REFUSED, _REGISTRY)
for _name in (
    "setup_aws_upload",
    "setup_azure_upload",
    "setup_gcp_upload",
    "setup_upload",
    "output_uri",
    "storage_uri",
    "get_output_destination",
):
    TASK[_name] = (REFUSED, _STORAGE)
TASK["get_task_output_log_web_page"] = (REFUSED, "use task.get_output_log_web_page()")

#: ClearML ``Logger`` name -> (status, note).
LOGGER: dict[str, tuple[str, str]] = dict.fromkeys(
    (
        "SeriesInfo",
        "current_logger",
        "flush",
        "report_confusion_matrix",
        "report_histogram",
        "report_line_plot",
        "report_matrix",
        "report_plotly",
        "report_scalar",
        "report_scatter2d",
        "report_scatter3d",
        "report_single_value",
        "report_surface",
        "report_text",
        "report_vector",
        "report_image_and_upload",
        "matplotlib_force_report_non_interactive",
        "get_default_debug_sample_history",
        "set_default_debug_sample_history",
    ),
    (WORKS, ""),
)
LOGGER.update(
    {
        "report_image": (
            DIFFERENT,
            "a URL is kept as a link, never downloaded; arrays and PIL images are stored as PNG",
        ),
        "report_media": (
            DIFFERENT,
            "a URL is kept as a link; every sample is kept (max_history is accepted and ignored)",
        ),
        "report_matplotlib_figure": (
            DIFFERENT,
            "converted to Plotly like ClearML; a figure that "
            "does not convert is a PNG debug sample",
        ),
        "report_table": (DIFFERENT, "url= is refused (pass the CSV file as csv=); no extra_data"),
        "capture_logging": (
            DIFFERENT,
            "a context manager that changes nothing: the console capture "
            "already records logging output",
        ),
        "get_flush_period": (DIFFERENT, "None: reports are stored as they come"),
        "set_flush_period": (DIFFERENT, "accepted and ignored (deprecated in ClearML)"),
        "get_default_upload_destination": (REFUSED, _STORAGE),
        "set_default_upload_destination": (REFUSED, _STORAGE),
        "set_reporting_nan_value": (REFUSED, "NaN is stored as NaN and drawn as a gap"),
        "set_reporting_inf_value": (REFUSED, "inf is stored as inf and drawn as a gap"),
        "tensorboard_auto_group_scalars": (REFUSED, "chaintrack does not read TensorBoard"),
        "tensorboard_single_series_per_graph": (REFUSED, "chaintrack does not read TensorBoard"),
    }
)


def _refusal(owner: str, name: str, reason: str) -> Any:
    message = f"{owner}.{name} is not available in chaintrack: {reason}."

    def refused(*_: Any, **__: Any) -> Any:
        raise NotSupportedError(message)

    refused.__name__ = name
    refused.__doc__ = f"Refused: {reason}."
    return refused


def install_refusals(
    cls: type,
    owner: str,
    table: dict[str, tuple[str, str]],
    properties: frozenset[str] = frozenset(),
) -> None:
    """Give ``cls`` every refused name of ``table``: calling it (or, for ClearML properties in
    ``properties``, reading it) raises NotSupportedError with the reason."""
    for name, (status, reason) in table.items():
        if status != REFUSED or name in vars(cls):
            continue
        function = _refusal(owner, name, reason)
        setattr(cls, name, property(function) if name in properties else staticmethod(function))


#: ClearML ``Task`` names that are properties (read, not called).
TASK_PROPERTIES = frozenset(
    {
        "cache_dir",
        "data",
        "input_models_id",
        "labels_stats",
        "last_worker",
        "log",
        "logger",
        "metrics_manager",
        "output_models_id",
        "output_uri",
        "parent",
        "project",
        "report_subprocess_enabled",
        "resource_monitor",
        "session",
        "default_session",
        "status",
        "storage_uri",
    }
)


def render_markdown() -> str:
    """The table of docs/sdk.md (between its ``clearml-surface`` markers)."""
    lines: list[str] = []
    for title, table in (("Task", TASK), ("Logger", LOGGER)):
        lines += [
            f"#### `{title}`",
            "",
            "| ClearML | chaintrack | how, or why not |",
            "|---|---|---|",
        ]
        for name in sorted(table):
            status, note = table[name]
            lines.append(f"| `{title}.{name}` | {status} | {note} |")
        lines.append("")
    return "\n".join(lines)
