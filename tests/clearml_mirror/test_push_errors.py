"""A push that cannot happen says why in one error, and changes nothing in chaintrack."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from fake_clearml_server import FakeClearMLServer

from chaintrack import Task
from chaintrack.clearml import push
from chaintrack.errors import MirrorError
from chaintrack.store import open_store


def _unchanged(task: Task) -> None:
    record = open_store().get_task(task.id)
    assert record.status == "completed"
    assert not [t for t in record.system_tags if t.startswith("clearml=")]
    assert Task.get_task(task.id).get_reported_scalars()["loss"]["train"]["y"][-1] == 0.2


def test_missing_credentials_give_one_clear_error(make_task: Callable[..., Task]) -> None:
    task = make_task()
    with pytest.raises(MirrorError) as error:
        push(task)
    message = str(error.value)
    assert "no credentials" in message
    assert "clearml-init" in message and "CLEARML_API_ACCESS_KEY" in message
    _unchanged(task)


def test_an_unreachable_server_gives_one_clear_error(
    make_task: Callable[..., Task], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a loopback port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("CLEARML_API_HOST", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("CLEARML_API_ACCESS_KEY", "key")
    monkeypatch.setenv("CLEARML_API_SECRET_KEY", "secret")
    task = make_task()
    with pytest.raises(MirrorError, match=f"127.0.0.1:{port} cannot be reached"):
        push(task)
    _unchanged(task)


def test_refused_events_fail_the_push(
    make_task: Callable[..., Task], fake_clearml: FakeClearMLServer
) -> None:
    fake_clearml.refuse_events = True
    task = make_task()
    with pytest.raises(MirrorError, match="ClearML refused part of the task"):
        push(task)
    # the half-made ClearML task is marked failed, and chaintrack does not count it as pushed
    [partial] = fake_clearml.state.tasks.values()
    assert partial["status"] == "failed"
    assert "push failed" in partial["status_reason"]
    _unchanged(task)


def test_a_running_task_is_not_pushed(fake_clearml: FakeClearMLServer) -> None:
    task = Task.init(project_name="p", task_name="still running")
    task.get_logger().report_scalar("loss", "train", 1.0, 0)
    with pytest.raises(MirrorError, match="still in_progress"):
        push(task)
    assert fake_clearml.state.tasks == {}
    task.close()


def test_unknown_task_and_bad_argument() -> None:
    with pytest.raises(MirrorError, match="takes a chaintrack Task or a task id"):
        push(42)
    with pytest.raises(Exception, match="no task with id 'nope'"):
        push("nope", offline=True)
