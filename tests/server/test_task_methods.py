"""ClearML's everyday Task methods, each read back by its getter: on the embedded store and
through a tracking server (uvicorn on a free port), by this process's task and by a task
loaded again with ``Task.get_task``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_rest_store import LiveServer

from chaintrack import OutputModel, Task
from chaintrack.errors import InvalidArgumentError, NotSupportedError


@pytest.fixture(params=["embedded", "server"])
def backend(request: pytest.FixtureRequest, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:  # fmt: skip
    if request.param == "embedded":
        yield "embedded"
        return
    server = LiveServer(tmp_path)
    monkeypatch.setenv("CHAINTRACK_TRACKING_URI", server.url)
    yield server.url
    server.stop()


def test_parameters_set_get_replace_and_delete(backend: str) -> None:
    task = Task.init(project_name="methods", task_name="params")
    task.connect({"lr": 0.1, "layers": 2})
    task.set_parameter("Args/batch", 16, description="per device")
    task.set_parameter("seed", 7)  # no section: General
    assert task.get_parameter("Args/batch") == "16"  # text, ClearML's default
    assert task.get_parameter("Args/batch", cast=True) == 16
    assert task.get_parameter("Args/missing", default="none") == "none"
    task.set_parameters_as_dict({"Model": {"name": "small", "dims": {"hidden": 64}}})
    assert task.get_parameter("Model/dims/hidden", cast=True) == 64
    assert task.delete_parameter("General/layers") is True
    task.set_user_properties(owner="ana")
    task.close()

    again = Task.get_task(task_id=task.id)
    assert again.get_parameters() == {
        "Args/batch": 16, "General/lr": 0.1, "General/seed": 7, "Model/dims/hidden": 64,
        "Model/name": "small", "properties/owner": "ana",
    }  # fmt: skip
    if backend != "embedded":  # a deleted parameter is gone from the REST API too
        rows = httpx.get(f"{backend}/api/v1/tasks/{task.id}/parameters").json()
        assert {f"{p['section']}/{p['name']}" for p in rows} == set(again.get_parameters())
    again.set_parameters({"Args/batch": 32}, lr=0.5)  # replaces every parameter
    assert again.get_parameters() == {"Args/batch": 32, "General/lr": 0.5,
                                      "properties/owner": "ana"}  # fmt: skip
    again.update_parameters({"Args/extra": True})
    assert again.get_parameter("Args/extra", cast=True) is True
    again.delete_user_properties("owner")
    assert again.get_user_properties() == {}


def test_fields_status_progress_and_links(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINTRACK_UI_URL", "http://ui.example:9000/")
    task = Task.init(project_name="methods", task_name="fields", tags=["a", "b", "c"])
    task.set_progress(40)
    assert task.get_progress() == 40
    assert task.rename("renamed") is True
    task.remove_tags(["a", "c"])
    assert task.move_to_project(new_project_name="methods/moved") is True
    task.set_task_type(Task.TaskTypes.inference)
    task.set_archived(True)
    log = task.get_logger()
    log.report_scalar("loss", "train", 0.5, iteration=7)
    log.report_histogram("h", "s", [1, 2], iteration=12)
    log.report_single_value("accuracy", 0.9)
    assert task.get_last_iteration() == 12
    base = backend if backend != "embedded" else "http://ui.example:9000"
    assert task.get_output_log_web_page() == f"{base}/tasks/{task.id}"
    task.set_configuration_object("prompt", config_dict={"system": "be brief", "k": [1, 2]})
    task.set_configuration_object("notes", config_text="not json", description="free text")
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        task.set_configuration_object("both", config_text="x", config_dict={})
    OutputModel(task=task, name="chain")
    task.close()

    again = Task.get_task(task_id=task.id)
    assert (again.name, again.get_project_name(), again.task_type) == (
        "renamed", "methods/moved", "inference")  # fmt: skip
    assert again.get_tags() == ["b"] and again.get_archived() is True
    assert again.get_progress() == 40
    assert again.get_last_iteration() == 12
    assert again.get_reported_single_value("accuracy") == 0.9
    assert again.get_reported_single_value("absent") is None
    assert again.get_configuration_object_as_dict("prompt") == {"system": "be brief", "k": [1, 2]}
    assert again.get_configuration_object_as_dict("notes") is None
    assert again.get_configuration_object("notes") == "not json"
    assert [m.name for m in again.get_models()["output"]] == ["chain"]
    [plot] = again.get_reported_plots()
    assert (plot["metric"], plot["variant"], plot["iter"]) == ("h", "s", 12)
    assert json.loads(plot["plot_str"])["data"][0]["y"] == [1.0, 2.0]
    if backend != "embedded":  # the server's REST API holds the same, for any HTTP client
        base = f"{backend}/api/v1/tasks/{task.id}"
        [event] = httpx.get(f"{base}/events", params={"kind": "plot"}).json()
        assert (event["metric"], event["iter"]) == ("h", 12)
        assert event["data"]["data"][0]["type"] == "bar"
        task_fields = httpx.get(base).json()
        assert task_fields["name"] == "renamed" and task_fields["runtime"]["progress"] == 40


def test_status_changes_and_publish(backend: str) -> None:
    task = Task.init(project_name="methods", task_name="status")
    assert task.publish() is False  # still running: not publishable
    with pytest.raises(InvalidArgumentError, match="completed or stopped"):
        task.publish(ignore_errors=False)
    task.stopped(status_reason="paused by hand")
    again = Task.get_task(task_id=task.id)
    assert again.get_status() == "stopped"
    assert again.get_status_message() == ("paused by hand", "paused by hand")
    again.mark_started()
    assert Task.get_task(task_id=task.id).get_status() == "in_progress"
    again.started()
    again.completed()
    assert Task.get_task(task_id=task.id).get_status() == "completed"
    assert again.publish() is True
    assert Task.get_task(task_id=task.id).status == "published"


def test_query_tasks_and_get_all(backend: str) -> None:
    ids = {}
    for name, tags in (("sweep-1", ["x"]), ("sweep-2", ["x", "y"]), ("other", [])):
        task = Task.init(project_name="methods/q", task_name=name, tags=tags)
        ids[name] = task.id
        task.close()
    assert Task.query_tasks(project_name="methods/q", task_name="^sweep") == [
        ids["sweep-2"], ids["sweep-1"]]  # fmt: skip
    assert Task.query_tasks(project_name=["methods/q"], tags=["y"]) == [ids["sweep-2"]]
    rows = Task.query_tasks(task_name="other", additional_return_fields=["name", "status"])
    assert rows == [{"id": ids["other"], "name": "other", "status": "completed"}]
    assert Task.query_tasks(project_name="methods/q",
                            task_filter={"status": ["in_progress"]}) == []  # fmt: skip
    found = Task.get_all(name="sweep", project_name="methods/q", tags=["x"])
    assert [t.id for t in found] == [ids["sweep-2"], ids["sweep-1"]]
    assert Task.get_all(id=[ids["other"]])[0].name == "other"


def test_remote_execution_is_refused_with_the_reason() -> None:
    task = Task.init(project_name="methods", task_name="remote")
    with pytest.raises(NotSupportedError, match="runs tasks locally"):
        task.execute_remotely(queue_name="default")
    with pytest.raises(NotSupportedError, match="runs tasks locally"):
        Task.enqueue(task, queue_name="default")
    with pytest.raises(NotSupportedError, match="runs tasks locally"):
        task.create_function_task(lambda: None)
    with pytest.raises(NotImplementedError):
        task.set_base_docker("python:3.11")
    task.close()
