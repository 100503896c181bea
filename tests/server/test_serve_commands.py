"""`chaintrack ui` and `chaintrack server`: what they refuse to serve, and a server with several
worker processes. (The browser tests and the outage test start these commands too.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from chaintrack import Task, cli
from loopback import free_port, wait_until_serving


def test_ui_of_a_tracking_server_points_at_its_address(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHAINTRACK_TRACKING_URI", "http://tok@example.com:8600")
    assert cli.main(["ui"]) == 1
    err = capsys.readouterr().err
    assert "is a tracking server (http://***@example.com:8600)" in err
    assert "`chaintrack ui` serves a local store" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--store", "http://elsewhere:8600"], "a server serves a database"),
        (["--artifacts", "gs://bucket/files"], "has an unknown scheme 'gs'"),
    ],
)
def test_server_refuses_what_it_cannot_serve(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["server", *argv]) == 1
    assert message in capsys.readouterr().err


def test_serve_options_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["server", "--workers", "0"])
    assert exited.value.code == 2
    assert "--workers: 0 is too small" in capsys.readouterr().err


def test_a_server_with_two_workers_serves_the_sdk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "CHAINTRACK_HOME": str(tmp_path / "server-home"),
        "CHAINTRACK_AUTH_TOKEN": "w2",
    }
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chaintrack.cli",
            "server",
            "--store",
            f"sqlite:///{tmp_path / 'tasks.db'}",
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_serving(url, server, tmp_path / "server.log")
        monkeypatch.setenv("CHAINTRACK_TRACKING_URI", url)
        monkeypatch.setenv("CHAINTRACK_AUTH_TOKEN", "w2")
        task = Task.init(project_name="workers", task_name="two")
        for i in range(2_000):
            task.get_logger().report_scalar("m", "v", float(i), iteration=i)
        task.close()
        points = Task.get_task(task_id=task.id).get_reported_scalars()["m"]["v"]["x"]
        assert points == list(range(2_000))
        # The workers share the token that the command put in their environment.
        assert httpx.get(url + "/api/v1/projects").status_code == 401
    finally:
        server.terminate()
        server.wait(60)
        log.close()
