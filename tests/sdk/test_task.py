"""The public ``Task`` API: starting, editing, lifecycle, console capture and reading back."""

from __future__ import annotations

import argparse
import getpass
import importlib.metadata
import logging
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import chaintrack
from chaintrack import Task
from chaintrack.errors import InvalidArgumentError, TaskNotFoundError
from chaintrack.sdk.task import TASK_TYPES

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _task(project: str = "proj", name: str = "run", **kwargs: object) -> Task:
    return Task.init(project_name=project, task_name=name, **kwargs)  # type: ignore[arg-type]


# -- Task.init ----------------------------------------------------------------------------


def test_init_starts_an_in_progress_current_task() -> None:
    before = time.time()
    task = _task("proj", "first", task_type="inference", tags=["a", "b"])

    assert re.fullmatch(r"[0-9a-f]{32}", task.id)
    assert task.name == "first"
    assert task.get_project_name() == "proj"
    assert task.task_type == "inference"
    assert task.get_tags() == ["a", "b"]
    assert task.get_status() == "in_progress"
    assert Task.current_task() is task
    assert task.record.started is not None
    assert before <= task.record.started <= time.time()


def test_every_clearml_task_type_is_accepted() -> None:
    assert set(TASK_TYPES) == {
        "training", "testing", "inference", "data_processing", "application", "monitor",
        "controller", "optimizer", "service", "qc", "custom",
    }  # fmt: skip
    for kind in TASK_TYPES:
        task = _task("types", kind, task_type=getattr(Task.TaskTypes, kind))
        task.close()
        assert Task.get_task(task_id=task.id).task_type == kind


def test_default_task_type_is_training() -> None:
    assert _task().task_type == "training"


def test_unknown_task_type_names_the_argument_and_the_allowed_values() -> None:
    with pytest.raises(InvalidArgumentError) as info:
        _task(task_type="fine-tuning")
    message = str(info.value)
    assert "task_type='fine-tuning'" in message
    assert "training" in message
    assert "data_processing" in message
    assert Task.current_task() is None


def test_bad_tags_are_rejected() -> None:
    with pytest.raises(InvalidArgumentError, match=r"tags=\[1, 2\].*list of strings"):
        _task(tags=[1, 2])


def test_a_single_string_tag_is_one_tag() -> None:
    assert _task(tags="nightly").get_tags() == ["nightly"]


def test_project_names_nest_with_slashes() -> None:
    task = _task("rag/eval/nightly", "nested")
    task.close()
    assert Task.get_task(task_id=task.id).get_project_name() == "rag/eval/nightly"
    # Decision (as in ClearML, where "rag/eval" is its own project): filters match the full
    # project name, a parent project does not list its sub-projects' tasks.
    assert [t.id for t in Task.get_tasks(project_name="rag/eval/nightly")] == [task.id]
    assert Task.get_tasks(project_name="rag/eval") == []


@pytest.mark.parametrize("project", ["/rag", "rag/", "rag//eval"])
def test_malformed_project_names_are_rejected(project: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        _task(project)
    assert f"project_name={project!r}" in str(info.value)
    assert "single '/'" in str(info.value)


def test_clearml_only_arguments_are_accepted_and_ignored() -> None:
    task = Task.init(
        "proj", "clearml args", output_uri="s3://bucket", auto_connect_frameworks=False
    )
    assert task.get_status() == "in_progress"


def test_an_unknown_init_argument_is_an_error_that_names_it() -> None:
    with pytest.raises(InvalidArgumentError, match=r"unknown argument.*auto_conect_streams"):
        Task.init("proj", "typo", auto_conect_streams=False)


def test_init_while_a_task_is_open_returns_it(caplog: pytest.LogCaptureFixture) -> None:
    first = _task("proj", "one")
    with caplog.at_level(logging.WARNING, logger="chaintrack"):
        again = _task("proj", "two")
    assert again is first
    assert "'one'" in caplog.text
    assert "task.close()" in caplog.text

    first.close()
    second = _task("proj", "two")
    assert second.id != first.id
    assert Task.current_task() is second


def test_init_records_script_packages_runtime_user_and_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "train.py"  # tmp_path is not inside a git checkout
    script.write_text("print('training')\n", encoding="utf-8")
    monkeypatch.setattr(sys, "argv", [str(script)])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))

    task = _task()
    task.close()
    record = Task.get_task(task_id=task.id).record  # what the store kept

    assert record.script == task.record.script
    assert record.script["entry_point"] == "train.py"
    assert record.script["working_dir"] == str(tmp_path.resolve())
    assert record.script["script_text"] == "print('training')\n"
    assert record.script["repository"] == ""
    version = importlib.metadata.version("pandas")
    assert f"pandas=={version}" in record.packages
    assert f"chaintrack=={importlib.metadata.version('chaintrack')}" in record.packages
    assert record.runtime["python_version"] == platform.python_version()
    assert record.user == getpass.getuser()
    assert record.started is not None and record.completed is not None
    assert record.started <= record.completed


@needs_git
def test_init_records_git_repository_branch_commit_and_diff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "train.py").write_text("print('v1')\n", encoding="utf-8")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("HOME", str(tmp_path))

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-c", "user.name=T", "-c", "user.email=t@example.com",
             "-c", "commit.gpgsign=false", *args],
            cwd=repo, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return done.stdout.strip()

    git("init", "-q", "-b", "experiments")
    git("remote", "add", "origin", "https://user:token@example.com/org/repo.git")
    git("add", "train.py")
    git("commit", "-q", "-m", "first")
    (repo / "train.py").write_text("print('v2')\n", encoding="utf-8")
    monkeypatch.setattr(sys, "argv", [str(repo / "train.py")])
    monkeypatch.chdir(repo)

    task = _task()
    task.close()
    script = task.record.script

    assert script["repository"] == "https://example.com/org/repo.git"
    assert script["branch"] == "experiments"
    assert script["version_num"] == git("rev-parse", "HEAD")
    assert "+print('v2')" in script["diff"]
    assert script["entry_point"] == "train.py"
    assert script["working_dir"] == "."
    assert script["script_text"] == ""  # in git, the commit and diff stand for the script


# -- parameters, configuration, properties, tags, comment ---------------------------------


def test_connect_flattens_nested_dicts_and_keeps_types() -> None:
    task = _task()
    config = {
        "lr": 0.001,
        "epochs": 3,
        "use_cache": True,
        "stop": None,
        "model": {"name": "gpt", "layers": [1, 2, 3], "opts": {"top_k": 4}},
        "shape": (2, 3),
        "empty": {},
    }
    returned = task.connect(config)
    task.connect({"k": 8}, name="Retriever")

    assert returned is config
    assert task.get_parameters() == {
        "General/lr": 0.001,
        "General/epochs": 3,
        "General/use_cache": True,
        "General/stop": None,
        "General/model/name": "gpt",
        "General/model/layers": [1, 2, 3],
        "General/model/opts/top_k": 4,
        "General/shape": (2, 3),  # a tuple stays a tuple, not a JSON list
        "General/empty": {},
        "Retriever/k": 8,
    }
    assert task.get_parameters_as_dict()["General"]["model"]["opts"] == {"top_k": 4}


def test_get_parameters_cast_false_gives_clearml_text() -> None:
    task = _task()
    task.connect({"flag": True, "n": 3, "name": "x", "none": None, "items": [1, "a"]})
    # ClearML stores str(value): these are the strings a ClearML user reads back.
    assert task.get_parameters(cast=False) == {
        "General/flag": "True",
        "General/n": "3",
        "General/name": "x",
        "General/none": "None",
        "General/items": "[1, 'a']",
    }


def test_connect_an_object_records_its_public_attributes() -> None:
    class Settings:
        def __init__(self) -> None:
            self.temperature = 0.2
            self.model = "small"
            self._secret = "hidden"

        def method(self) -> None:  # not a parameter
            pass

    task = _task()
    task.connect(Settings(), name="Model")
    task.connect(argparse.Namespace(batch=16, verbose=False), name="Args")

    assert task.get_parameters() == {
        "Model/temperature": 0.2,
        "Model/model": "small",
        "Args/batch": 16,
        "Args/verbose": False,
    }


def test_connect_rejects_a_scalar() -> None:
    with pytest.raises(InvalidArgumentError) as info:
        _task().connect(42)
    assert "mutable=42" in str(info.value)
    assert "a dict" in str(info.value)


def test_an_unserializable_parameter_is_stored_as_repr_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Tokenizer:
        def __repr__(self) -> str:
            return "Tokenizer(vocab=32000)"

    task = _task()
    with caplog.at_level(logging.WARNING, logger="chaintrack"):
        task.connect({"tokenizer": Tokenizer(), "ok": 1})

    assert task.get_parameters() == {"General/tokenizer": "Tokenizer(vocab=32000)", "General/ok": 1}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "'General/tokenizer'" in message
    assert "Tokenizer" in message
    assert "repr()" in message


def test_connect_configuration_dict_file_and_text(tmp_path: Path) -> None:
    task = _task()
    settings = {"prompt": "Answer briefly.", "k": 4}
    yaml_file = tmp_path / "chain.yaml"
    yaml_file.write_text("retriever:\n  k: 4\n", encoding="utf-8")

    assert task.connect_configuration(settings, name="prompt") is settings
    assert task.connect_configuration(yaml_file, name="chain") == yaml_file
    task.connect_configuration("plain text settings", name="notes", description="free text")

    import json

    objects = task.get_configuration_objects()
    assert json.loads(objects["prompt"]) == settings
    assert objects["chain"] == "retriever:\n  k: 4\n"
    assert task.get_configuration_object("notes") == "plain text settings"
    assert task.get_configuration_object("missing") is None


def test_connect_configuration_errors_name_the_value(tmp_path: Path) -> None:
    task = _task()
    missing = tmp_path / "nope" / "chain.yaml"
    with pytest.raises(InvalidArgumentError) as info:
        task.connect_configuration(missing, name="chain")
    assert f"configuration={str(missing)!r}" in str(info.value)
    assert "existing file" in str(info.value)
    with pytest.raises(InvalidArgumentError, match=r"configuration=3\.5 is not valid"):
        task.connect_configuration(3.5)


def test_set_user_properties_in_every_form() -> None:
    task = _task()
    task.set_user_properties(
        {"name": "dataset", "value": "faq-2026", "description": "eval set"},
        ("owner", "alice"),
        {"region": "eu"},
        max_tokens=256,
        stage={"value": "dev", "description": "pipeline stage"},
    )
    expected = {
        "dataset": "faq-2026", "owner": "alice", "region": "eu", "max_tokens": 256,
        "stage": "dev",
    }  # fmt: skip
    assert task.get_user_properties() == expected
    # ClearML keeps user properties in the hyperparameter section "properties".
    assert task.get_parameters()["properties/max_tokens"] == 256

    with pytest.raises(InvalidArgumentError, match="set_user_properties=42"):
        task.set_user_properties(42)


def test_tags_and_comment_are_stored() -> None:
    task = _task(tags=["a"])
    task.add_tags(["b", "a"])
    task.add_tags("c")
    task.set_comment("first try")
    assert task.get_tags() == ["a", "b", "c"]
    assert task.comment == "first try"
    task.close()

    loaded = Task.get_task(task_id=task.id)
    assert loaded.get_tags() == ["a", "b", "c"]
    assert loaded.comment == "first try"
    with pytest.raises(InvalidArgumentError, match="tags"):
        task.add_tags([None])


def test_set_tags_set_name_and_repr() -> None:
    task = _task("proj", "old name", tags=["a", "b"])
    task.set_tags(["c"])
    task.set_name("new name")
    assert repr(task) == (
        f"Task(id={task.id!r}, project='proj', name='new name', status='in_progress')"
    )
    with pytest.raises(InvalidArgumentError, match=r"name='' is not valid: a non-empty string"):
        task.set_name("")
    task.close()
    loaded = Task.get_task(task_id=task.id)
    assert (loaded.name, loaded.get_tags()) == ("new name", ["c"])


def test_set_parameters_takes_flat_section_keys() -> None:
    task = _task()
    task.set_parameters({"Args/batch": 8, "lr": 0.1, "Args/model/name": "small"})
    assert task.get_parameters() == {
        "Args/batch": 8,
        "General/lr": 0.1,  # no section means General, as in ClearML
        "Args/model/name": "small",
    }
    assert task.get_parameters_as_dict() == {
        "Args": {"batch": 8, "model": {"name": "small"}},
        "General": {"lr": 0.1},
    }


# -- lifecycle ----------------------------------------------------------------------------


def test_lifecycle_in_progress_then_completed_and_close_is_idempotent() -> None:
    task = _task()
    task.get_logger().report_scalar("loss", "train", 1.0, 0)
    assert task.flush(wait_for_uploads=True) is True
    assert Task.get_task(task_id=task.id).get_status() == "in_progress"

    task.close()
    assert task.get_status() == "completed"
    assert Task.current_task() is None
    completed = task.record.completed
    assert completed is not None

    task.close()  # a second close changes nothing
    loaded = Task.get_task(task_id=task.id)
    assert loaded.get_status() == "completed"
    assert loaded.record.completed == completed


def test_flush_makes_reports_visible_to_another_reader(chaintrack_home: Path) -> None:
    task = _task()
    task.get_logger().report_scalar("loss", "train", 0.5, 7)
    task.connect({"lr": 0.1})
    task.flush(wait_for_uploads=True)

    # A separate SQLite connection, as another process or the web UI would read.
    with sqlite3.connect(chaintrack_home / "chaintrack.db") as db:
        events = db.execute(
            "SELECT metric, variant, iter, value FROM events WHERE task_id = ?", (task.id,)
        ).fetchall()
        params = db.execute(
            "SELECT section, name, value FROM parameters WHERE task_id = ?", (task.id,)
        ).fetchall()
    assert events == [("loss", "train", 7, 0.5)]
    assert params == [("General", "lr", "0.1")]


def test_mark_failed_and_stopped_keep_their_status_after_close() -> None:
    failed = _task("proj", "failing")
    failed.mark_failed(status_reason="ValueError: bad prompt")
    failed.close()
    loaded = Task.get_task(task_id=failed.id)
    assert loaded.get_status() == "failed"
    assert loaded.record.status_reason == "ValueError: bad prompt"

    stopped = _task("proj", "stopping")
    stopped.mark_stopped()
    stopped.close()
    assert Task.get_task(task_id=stopped.id).get_status() == "stopped"


def test_mark_completed_ends_a_task() -> None:
    task = _task()
    task.mark_completed()
    assert Task.current_task() is None
    assert Task.get_task(task_id=task.id).get_status() == "completed"


# -- console capture ----------------------------------------------------------------------


def test_console_lines_go_to_the_task_and_still_reach_the_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHAINTRACK_AUTO_CONNECT_STREAMS", "1")
    task = _task()
    print("loading the index")
    print("3 documents", flush=True)
    print("rate limited, retrying", file=sys.stderr)
    task.get_logger().report_text("from report_text")  # printed, and reported once only
    task.close()
    print("after close")  # no longer captured

    terminal = capsys.readouterr()
    assert terminal.out == "loading the index\n3 documents\nfrom report_text\nafter close\n"
    assert terminal.err == "rate limited, retrying\n"
    assert task.get_reported_console_output() == [
        "loading the index",
        "3 documents",
        "rate limited, retrying",
        "from report_text",
    ]
    levels = {text: level for _, level, text in task.get_reported_console_events()}
    assert levels["loading the index"] == logging.INFO
    assert levels["rate limited, retrying"] == logging.ERROR


def test_logging_configured_before_init_is_captured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINTRACK_AUTO_CONNECT_STREAMS", "1")
    handler = logging.StreamHandler(sys.stderr)  # as logging.basicConfig() at program start
    app_log = logging.getLogger("test_task.app")
    app_log.addHandler(handler)
    try:
        task = _task()
        app_log.warning("retrieval took 3 s")
        task.close()
    finally:
        app_log.removeHandler(handler)
    assert "retrieval took 3 s" in task.get_reported_console_output()
    assert handler.stream is sys.stderr  # given back at close


def test_auto_connect_streams_false_captures_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHAINTRACK_AUTO_CONNECT_STREAMS")
    task = _task(auto_connect_streams=False)
    print("not captured")
    task.close()
    assert task.get_reported_console_output() == []


def test_the_environment_variable_overrides_auto_connect_streams(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHAINTRACK_AUTO_CONNECT_STREAMS", "0")
    task = _task(auto_connect_streams=True)
    print("not captured either")
    task.close()
    assert task.get_reported_console_output() == []


# -- reading back -------------------------------------------------------------------------


def test_get_task_by_id_and_by_project_and_name() -> None:
    old = _task("proj", "same name")
    old.close()
    new = _task("proj", "same name")
    new.close()

    by_id = Task.get_task(task_id=old.id)
    assert (by_id.id, by_id.name, by_id.get_project_name()) == (old.id, "same name", "proj")
    assert Task.get_task(project_name="proj", task_name="same name").id == new.id  # the newest


def test_get_task_errors() -> None:
    with pytest.raises(TaskNotFoundError, match="no task with id 'f00'"):
        Task.get_task(task_id="f00")
    with pytest.raises(TaskNotFoundError) as info:
        Task.get_task(project_name="proj", task_name="never ran")
    assert "'proj'" in str(info.value)
    assert "'never ran'" in str(info.value)
    with pytest.raises(InvalidArgumentError, match="task_id="):
        Task.get_task()


def test_get_tasks_filters_and_orders_newest_first() -> None:
    a = _task("proj", "a", tags=["nightly", "gpt"])
    a.close()
    b = _task("proj", "b", tags=["nightly"])
    b.mark_failed(status_reason="boom")
    c = _task("other", "a", tags=["gpt"])
    c.close()

    def ids(tasks: list[Task]) -> list[str]:
        return [t.id for t in tasks]

    assert ids(Task.get_tasks()) == [c.id, b.id, a.id]
    assert ids(Task.get_tasks(project_name="proj")) == [b.id, a.id]
    assert ids(Task.get_tasks(task_name="a")) == [c.id, a.id]
    assert ids(Task.get_tasks(tags=["nightly"])) == [b.id, a.id]
    assert ids(Task.get_tasks(tags=["nightly", "gpt"])) == [a.id]  # every tag must match
    assert ids(Task.get_tasks(status="failed")) == [b.id]
    assert ids(Task.get_tasks(status=["completed", "failed"], project_name="proj")) == [
        b.id,
        a.id,
    ]
    assert ids(Task.get_tasks(project_name="proj", task_name="a", tags="gpt")) == [a.id]
    assert Task.get_tasks(project_name="nothing here") == []

    with pytest.raises(InvalidArgumentError) as info:
        Task.get_tasks(status="running")
    assert "status='running'" in str(info.value)
    assert "in_progress" in str(info.value)


def test_a_loaded_task_reads_everything_back() -> None:
    task = _task("proj", "full", tags=["t"])
    task.connect({"k": 4})
    logger = task.get_logger()
    logger.report_scalar("loss", "train", 0.9, 0)
    logger.report_single_value("accuracy", 0.75)
    logger.report_text("done")
    task.upload_artifact("answers", {"q": "a"})
    chaintrack.OutputModel(task=task, name="chain", config_dict={"k": 4})
    task.close()

    loaded = Task.get_task(task_id=task.id)
    assert loaded.get_status() == "completed"
    assert loaded.get_tags() == ["t"]
    assert loaded.get_parameters() == {"General/k": 4}
    assert loaded.get_reported_scalars() == {"loss": {"train": {"x": [0], "y": [0.9]}}}
    assert loaded.get_reported_single_values() == {"accuracy": 0.75}
    assert loaded.get_reported_console_output() == ["done"]
    assert loaded.artifacts["answers"].get() == {"q": "a"}
    assert [m.name for m in loaded.models["output"]] == ["chain"]


def test_reuse_last_task_id_restarts_the_previous_task() -> None:
    first = _task("proj", "reused", tags=["old"])
    first.connect({"lr": 0.1})
    first.get_logger().report_scalar("loss", "train", 1.0, 0)
    first.close()
    created = Task.get_task(task_id=first.id).record.created

    again = _task("proj", "reused", tags=["new"], reuse_last_task_id=True)
    assert again.id == first.id
    assert again.get_status() == "in_progress"
    # ClearML deletes the earlier execution's outputs when it reuses a task.
    assert again.get_parameters() == {}
    assert again.get_reported_scalars() == {}
    again.close()
    loaded = Task.get_task(task_id=first.id)
    assert loaded.get_tags() == ["new"]
    assert loaded.record.created == created
    assert len(Task.get_tasks(project_name="proj", task_name="reused")) == 1


def test_without_reuse_a_new_task_is_created() -> None:
    first = _task("proj", "fresh")
    first.close()
    second = _task("proj", "fresh")
    second.close()
    assert second.id != first.id
    assert len(Task.get_tasks(project_name="proj", task_name="fresh")) == 2


def test_reuse_last_task_id_given_as_a_task_id() -> None:
    first = _task("proj", "by id")
    first.close()
    other = _task("proj", "another name", reuse_last_task_id=first.id)
    assert other.id == first.id
    other.close()
    assert Task.get_task(task_id=first.id).name == "another name"
