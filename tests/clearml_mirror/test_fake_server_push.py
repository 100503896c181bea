"""End to end against the FAKE ClearML server on 127.0.0.1 (see fake_clearml_server.py): the real
``clearml`` SDK imports an offline session, or pushes online, and the calls, payloads and
uploaded files are checked."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fake_clearml_server import ACCESS_KEY, SECRET_KEY, FakeClearMLServer
from mirror_data import SCRIPT

from chaintrack import Task
from chaintrack.clearml import push
from chaintrack.store import open_store


def _only_task(fake: FakeClearMLServer) -> dict[str, Any]:
    [task] = fake.state.tasks.values()
    return task


def _file(fake: FakeClearMLServer, url: str) -> bytes:
    return fake.file_at(url)


def test_the_sdk_imports_an_offline_session(
    make_task: Callable[..., Task], fake_clearml: FakeClearMLServer
) -> None:
    task = make_task()
    session = push(task, offline=True).session
    assert session is not None
    # the user's command, run as they would: clearml-task --import-offline-session
    clearml_task = Path(sys.executable).with_name("clearml-task")
    command = [str(clearml_task), "--import-offline-session", str(session)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    endpoints = fake_clearml.endpoints()
    for call in ("auth.login", "tasks.create", "tasks.edit", "tasks.started", "files.upload",
                 "events.add_batch", "tasks.completed"):  # fmt: skip
        assert call in endpoints, call
    imported = _only_task(fake_clearml)
    assert imported["status"] == "completed"
    assert imported["name"] == "rich"
    assert imported["script"]["diff"] == SCRIPT["diff"]
    assert imported["hyperparams"]["Retriever"]["chunk_size"]["value"] == "512"
    artifacts = {a["key"]: a for a in imported["execution"]["artifacts"]}
    assert _file(fake_clearml, artifacts["model adapter"]["uri"]) == b"weights of the adapter"
    assert _file(fake_clearml, artifacts["notes"]["uri"]) == b"free text notes"
    images = fake_clearml.task_events(imported["id"], "training_debug_image")
    assert len(images) == 2
    assert b"dependency" in _file(fake_clearml, images[0]["url"]) + _file(
        fake_clearml, images[1]["url"]
    )
    assert len(fake_clearml.task_events(imported["id"], "training_stats_scalar")) == 11


def test_online_push_sends_everything_and_registers_models_first(
    make_task: Callable[..., Task], fake_clearml: FakeClearMLServer
) -> None:
    task = make_task()
    result = push(task)
    assert result.outcome == "pushed"
    pushed = _only_task(fake_clearml)
    assert result.clearml_id == pushed["id"]
    assert result.url is not None and pushed["id"] in result.url
    assert pushed["status"] == "completed"
    assert (pushed["name"], pushed["type"]) == ("rich", "inference")
    assert sorted(pushed["tags"]) == ["nightly", "rag"]
    assert pushed["comment"] == "a task with everything"
    [project] = fake_clearml.state.projects.values()
    assert project["name"] == "mirror/tests" and pushed["project"] == project["id"]
    for field, value in SCRIPT.items():
        assert pushed["script"][field] == value, field
    assert "clearml==" in pushed["script"]["requirements"]["pip"]
    hyper = pushed["hyperparams"]
    assert hyper["General"]["top_k"]["value"] == "4" and hyper["General"]["top_k"]["type"] == "int"
    assert hyper["properties"]["owner"]["value"] == "ana"
    assert hyper["properties"]["chaintrack.id"]["value"] == task.id
    assert "prompting" in pushed["configuration"]
    assert pushed["runtime"]["python_version"]

    # models: registered with their files uploaded, before the task was completed
    endpoints = fake_clearml.endpoints()
    assert endpoints.count("tasks.add_or_update_model") == 2
    assert max(i for i, e in enumerate(endpoints) if e == "tasks.add_or_update_model") < (
        endpoints.index("tasks.completed")
    )
    models = {m["name"]: m for m in fake_clearml.state.models.values()}
    assert _file(fake_clearml, models["adapter"]["uri"]) == b"weights of the adapter"
    assert models["adapter"]["framework"] == "LangChain"
    assert json.loads(_file(fake_clearml, models["chain asset"]["uri"])) == {"_type": "llm_chain"}
    assert {m["model"] for m in pushed["models"]["output"]} == set(fake_clearml.state.models)

    # artifacts, with their bytes
    artifacts = {a["key"]: a for a in pushed["execution"]["artifacts"]}
    assert json.loads(_file(fake_clearml, artifacts["answers"]["uri"])) == {"q1": "yes", "q2": "no"}
    assert _file(fake_clearml, artifacts["notes"]["uri"]) == b"free text notes"
    # events: every one passed the SDK's schemas in the fake server
    events = fake_clearml.task_events(pushed["id"])
    kinds = {e["type"] for e in events}
    assert kinds == {"training_stats_scalar", "plot", "training_debug_image", "log"}
    single = [e for e in events if e.get("metric") == "Summary"]
    assert [(e["variant"], e["iter"], e["value"]) for e in single] == [
        ("accuracy", -(2**31), 0.875)
    ]
    # the chaintrack task remembers where it went
    record = open_store().get_task(task.id)
    assert f"clearml={pushed['id']}@{fake_clearml.api_url}" in record.system_tags


def test_failed_and_stopped_tasks_keep_their_status(
    make_task: Callable[..., Task], fake_clearml: FakeClearMLServer
) -> None:
    failed = push(make_task(status="failed", name="failed one"))
    stopped = push(make_task(status="stopped", name="stopped one"))
    tasks = fake_clearml.state.tasks
    assert tasks[failed.clearml_id]["status"] == "failed"
    assert "retriever returned nothing" in tasks[failed.clearml_id]["status_reason"]
    assert tasks[stopped.clearml_id]["status"] == "stopped"
    assert "tasks.completed" not in fake_clearml.endpoints()


def test_pushing_twice_skips_and_force_pushes_a_copy(
    make_task: Callable[..., Task], fake_clearml: FakeClearMLServer
) -> None:
    task = make_task()
    first = push(task)
    again = push(task.id)
    assert again.outcome == "skipped"
    assert again.clearml_id == first.clearml_id
    assert first.clearml_id in again.message and "--force" in again.message
    assert len(fake_clearml.state.tasks) == 1
    copy = push(task.id, force=True)
    assert copy.outcome == "pushed" and copy.clearml_id != first.clearml_id
    assert len(fake_clearml.state.tasks) == 2
    # the newest push is the one remembered
    tags = open_store().get_task(task.id).system_tags
    assert [t for t in tags if t.startswith("clearml=")] == [
        f"clearml={copy.clearml_id}@{fake_clearml.api_url}"
    ]


def test_credentials_from_clearml_conf(
    make_task: Callable[..., Task],
    fake_clearml: FakeClearMLServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # the file `clearml-init` writes, instead of the environment variables
    for name in fake_clearml.client_env():
        monkeypatch.delenv(name)
    conf = tmp_path / "clearml.conf"
    conf.write_text(
        "api {\n"
        f'  api_server: "{fake_clearml.api_url}"\n'
        f'  web_server: "{fake_clearml.api_url}"\n'
        f'  files_server: "{fake_clearml.files_url}"\n'
        "  credentials {\n"
        f'    access_key: "{ACCESS_KEY}"\n'
        f'    secret_key: "{SECRET_KEY}"\n'
        "  }\n"
        "}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("CLEARML_CONFIG_FILE", str(conf))
    result = push(make_task())
    assert result.outcome == "pushed"
    assert fake_clearml.state.tasks[result.clearml_id]["status"] == "completed"
