"""`chaintrack clearml push` (several tasks, progress, --pending) and CHAINTRACK_MIRROR=clearml."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fake_clearml_server import FakeClearMLServer

from chaintrack import Task, cli
from chaintrack.errors import ConfigurationError
from chaintrack.sdk import mirror
from chaintrack.store import open_store


def _wait_for(condition: Callable[[], bool], seconds: float = 90.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_push_several_tasks_with_a_progress_bar_then_pending_has_nothing(
    make_task: Callable[..., Task],
    fake_clearml: FakeClearMLServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, second = make_task(name="one"), make_task(name="two")
    assert cli.main(["clearml", "push", first.id, second.id, "--project", "team/rag"]) == 0
    out, err = capsys.readouterr()
    assert f"{first.id}: pushed as ClearML task" in out
    assert f"{second.id}: pushed as ClearML task" in out
    # a progress line per step when stderr is not a terminal
    assert f"1/2 pushing {second.id}" in err and "2/2 done" in err
    assert {t["name"] for t in fake_clearml.state.tasks.values()} == {"one", "two"}
    [project] = fake_clearml.state.projects.values()
    assert project["name"] == "team/rag"

    assert cli.main(["clearml", "push", "--pending"]) == 0
    out, _ = capsys.readouterr()
    assert "Nothing to push" in out
    assert len(fake_clearml.state.tasks) == 2
    # pushing one again is skipped, and says so
    assert cli.main(["clearml", "push", first.id]) == 0
    out, _ = capsys.readouterr()
    assert "skipped, already in ClearML" in out


def test_pending_pushes_what_was_missed(
    make_task: Callable[..., Task],
    fake_clearml: FakeClearMLServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    older, newer = make_task(name="older"), make_task(name="newer")
    running = Task.init(project_name="p", task_name="running")
    assert cli.main(["clearml", "push", "--pending"]) == 0
    out, _ = capsys.readouterr()
    assert out.index(older.id) < out.index(newer.id)  # oldest first
    assert running.id not in out  # only ended tasks
    running.close()


def test_cli_errors(capsys: pytest.CaptureFixture[str], make_task: Callable[..., Task]) -> None:
    assert cli.main(["clearml", "push"]) == 2
    assert "name the tasks to push" in capsys.readouterr().err
    task = make_task()
    assert cli.main(["clearml", "push", task.id]) == 1
    err = capsys.readouterr().err
    assert err.startswith("chaintrack: error: ClearML has no credentials")
    assert len(err.strip().splitlines()) == 1


def test_offline_cli_prints_the_import_command(
    make_task: Callable[..., Task], capsys: pytest.CaptureFixture[str], clearml_isolated: Path
) -> None:
    task = make_task()
    assert cli.main(["clearml", "push", "--offline", task.id]) == 0
    out = capsys.readouterr().out
    assert "clearml-task --import-offline-session" in out
    assert str(clearml_isolated / "offline") in out


def test_tasks_are_mirrored_in_the_background_when_they_end(
    fake_clearml: FakeClearMLServer, monkeypatch: pytest.MonkeyPatch, chaintrack_home: Path
) -> None:
    monkeypatch.setenv("CHAINTRACK_MIRROR", "clearml")
    task = Task.init(project_name="auto", task_name="mirrored on close")
    task.get_logger().report_scalar("loss", "train", 0.5, 0)
    task.connect({"lr": 0.1})
    task.close()  # starts a detached `chaintrack clearml push`, does not wait for it

    def pushed() -> bool:
        return any(t["status"] == "completed" for t in fake_clearml.state.tasks.values())

    assert _wait_for(pushed), Path(mirror.log_path()).read_text()
    [clearml_task] = fake_clearml.state.tasks.values()
    assert clearml_task["name"] == "mirrored on close"
    assert clearml_task["hyperparams"]["General"]["lr"]["value"] == "0.1"
    log = Path(mirror.log_path())
    assert _wait_for(lambda: "pushed as ClearML task" in log.read_text()), log.read_text()
    assert f"pushing {task.id}" in log.read_text()
    tags = open_store().get_task(task.id).system_tags
    assert f"clearml={clearml_task['id']}@{fake_clearml.api_url}" in tags


def test_a_failing_background_mirror_is_logged_and_loses_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHAINTRACK_MIRROR", "clearml")  # and no ClearML credentials
    task = Task.init(project_name="auto", task_name="no credentials")
    task.get_logger().report_scalar("loss", "train", 0.5, 0)
    task.close()
    log = Path(mirror.log_path())
    assert _wait_for(lambda: log.exists() and "no credentials" in log.read_text())
    again = Task.get_task(task.id)
    assert again.get_status() == "completed"
    assert again.get_reported_scalars()["loss"]["train"]["y"] == [0.5]


def test_a_bad_mirror_setting_is_an_error_at_init(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINTRACK_MIRROR", "mlflow")
    with pytest.raises(ConfigurationError, match="CHAINTRACK_MIRROR='mlflow'"):
        Task.init(project_name="p", task_name="t")


def test_a_process_that_ends_right_away_still_mirrors_its_tasks(
    fake_clearml: FakeClearMLServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CHAINTRACK_MIRROR", "clearml")
    script = tmp_path / "app.py"
    script.write_text(
        "from chaintrack import Task\n"
        "closed = Task.init(project_name='auto', task_name='closed, then exit')\n"
        "closed.close()\n"  # the push starts from a thread: the exit must not lose it
        "Task.init(project_name='auto', task_name='never closed')\n"  # closed by the exit
        "print('bye')\n",
        encoding="utf-8",
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr

    def both() -> bool:
        names = {t["name"] for t in fake_clearml.state.tasks.values() if t["status"] == "completed"}
        return names == {"closed, then exit", "never closed"}

    assert _wait_for(both), Path(mirror.log_path()).read_text()
