"""Tasks logged to a tracking server are pushed from it: the mirror reads the server's store
over HTTP (events, and the files of artifacts, models and debug samples)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from session_files import read_session

from chaintrack import Task
from chaintrack.clearml import push
from loopback import free_port, wait_until_serving


def test_push_a_task_from_a_tracking_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_task: Callable[..., Task]
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("CHAINTRACK_AUTH_TOKEN", "mirror-token")
    command = [sys.executable, "-m", "chaintrack.cli", "server", "--port", str(port),
               "--store", f"sqlite:///{tmp_path / 'server.db'}"]  # fmt: skip
    with (tmp_path / "server.log").open("w") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(url, server, tmp_path / "server.log")
        monkeypatch.setenv("CHAINTRACK_TRACKING_URI", url)
        task = make_task()
        result = push(task, offline=True)
        assert result.session is not None
        session = read_session(result.session, tmp_path / "session")
        assert session.task["hyperparams"]["properties"]["chaintrack.store"]["value"] == url
        artifacts = {a["key"]: a for a in session.task["execution"]["artifacts"]}
        weights = session.data_file(artifacts["model adapter"]["uri"]).read_bytes()
        assert weights == b"weights of the adapter"
        [html] = [e for e in session.events("training_debug_image") if e["metric"] ==
                  "Dependencies Plot"]  # fmt: skip
        assert "dependency" in session.data_file(html["url"]).read_text()
        assert len(session.events("training_stats_scalar")) == 11
    finally:
        server.terminate()
        server.wait(60)
