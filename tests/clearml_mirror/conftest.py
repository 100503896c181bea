"""Fixtures of the ClearML mirror's tests: ClearML isolated from this machine, a fake server, and
chaintrack tasks that hold every kind of data a mirror must carry."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fake_clearml_server import FakeClearMLServer
from mirror_data import PNG, SCRIPT

from chaintrack import OutputModel, Task
from chaintrack.sdk import mirror
from chaintrack.store import open_store
from chaintrack.store.records import WriteBatch


@pytest.fixture(autouse=True)
def clearml_isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No ClearML configuration of this machine is read; sessions go to a temporary cache."""
    for name in ("CLEARML_API_HOST", "CLEARML_WEB_HOST", "CLEARML_FILES_HOST",
                 "CLEARML_API_ACCESS_KEY", "CLEARML_API_SECRET_KEY", "CLEARML_OFFLINE_MODE",
                 "CLEARML_AUTH_TOKEN", "CHAINTRACK_MIRROR"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLEARML_CONFIG_FILE", str(tmp_path / "no-clearml.conf"))
    cache = tmp_path / "clearml-cache"
    monkeypatch.setenv("CLEARML_CACHE_DIR", str(cache))
    return cache


@pytest.fixture(autouse=True)
def background_pushes_end() -> Iterator[None]:
    """Background pushes (CHAINTRACK_MIRROR) of a test end before the next test starts."""
    yield
    mirror.wait(120)
    mirror._children.clear()


@pytest.fixture
def fake_clearml(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClearMLServer]:
    """A fake ClearML API and file server on 127.0.0.1, configured for the clearml SDK."""
    server = FakeClearMLServer()
    for name, value in server.client_env().items():
        monkeypatch.setenv(name, value)
    yield server
    server.close()


@pytest.fixture
def make_task(tmp_path: Path) -> Callable[..., Task]:
    """``make_task(status="completed", name="rich")``: an ended task with every kind of data."""

    def make(status: str = "completed", name: str = "rich") -> Task:
        return _rich_task(tmp_path, status, name)

    return make


def _rich_task(tmp_path: Path, status: str, name: str) -> Task:
    task = Task.init(project_name="mirror/tests", task_name=name, task_type="inference",
                     tags=["rag", "nightly"])  # fmt: skip
    task.set_comment("a task with everything")
    task.connect({"temperature": 0.2, "model": "gpt-x", "top_k": 4, "stream": True})
    task.connect({"chunk_size": 512}, name="Retriever")
    task.set_user_properties(dataset="faq-v2", owner={"value": "ana", "description": "who"})
    task.connect_configuration({"prompt": "Answer briefly.", "stop": ["\n"]}, name="prompting")
    logger = task.get_logger()
    for i in range(5):
        logger.report_scalar("loss", "train", 1.0 / (i + 1), i)
        logger.report_scalar("latency", "p50 ms", 100.0 + i, i)
    logger.report_single_value("accuracy", 0.875)
    logger.report_table("Action Records", "session", 0,
                        table_plot=[["action", "tokens"], ["on_llm_start", 12],
                                    ["on_llm_end", 30]])  # fmt: skip
    logger.report_text("retrieval done", print_console=False)
    logger.report_text("tool call failed: timeout", level=40, print_console=False)
    html = tmp_path / "dep.html"
    html.write_text("<svg><text>dependency</text></svg>", encoding="utf-8")
    logger.report_media("Dependencies Plot", "prompt 1", 0, local_path=html)
    image = tmp_path / "chart.png"
    image.write_bytes(PNG)
    logger.report_media("Charts", "latency", 2, local_path=image)
    weights = tmp_path / "adapter.bin"
    weights.write_bytes(b"weights of the adapter")
    notes = tmp_path / "notes.txt"
    notes.write_text("free text notes", encoding="utf-8")
    task.upload_artifact("answers", {"q1": "yes", "q2": "no"}, metadata={"split": "dev"})
    task.upload_artifact("notes", notes)
    model = OutputModel(task=task, name="adapter", framework="LangChain",
                        config_text='{"rank": 8}')  # fmt: skip
    model.update_weights(weights)
    OutputModel(task=task, name="chain asset", framework="LangChain",
                config_text='{"_type": "llm_chain"}')  # fmt: skip
    if status == "failed":
        task.mark_failed(status_reason="ValueError: the retriever returned nothing")
    elif status == "stopped":
        task.mark_stopped(status_message="SIGTERM")
    task.close()
    store = open_store()
    store.write(WriteBatch(task_updates=[(task.id, {"script": json.dumps(SCRIPT)})]))
    return task
