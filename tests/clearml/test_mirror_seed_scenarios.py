"""The seed's two scenarios (the demo) mirrored: what ClearML's own handler put in a ClearML task,
chaintrack's mirror puts there too: the tables, the spaCy debug samples, the LangChain assets as
models, plus the run tree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_clearml_server import FakeClearMLServer
from session_files import read_session, schema_errors

from chaintrack import Task, cli
from chaintrack.clearml import push


@pytest.fixture
def demo_task(capsys: pytest.CaptureFixture[str]) -> Task:
    assert cli.main(["demo"]) == 0
    capsys.readouterr()
    [task] = Task.get_tasks(project_name="langchain_callback_demo")
    return task


def test_the_demo_mirrored_offline(demo_task: Task, tmp_path: Path) -> None:
    result = push(demo_task, offline=True)
    assert result.session is not None
    session = read_session(result.session, tmp_path / "session")
    assert schema_errors(session.metrics + session.logs) == []
    plots = {(e["metric"], e["variant"]): json.loads(e["plot_str"]) for e in session.events("plot")}
    assert ("Action Records", "simple_sequential") in plots
    assert ("Session Analysis", "Agent with Tools") in plots
    header = [h[0] for h in plots[("Action Records", "simple_sequential")]["data"][0]["header"][
        "values"]]  # fmt: skip
    assert {"action", "prompts", "token_usage_total_tokens", "run_id", "latency_ms"} <= set(header)
    # the run tree, parents before children
    tree = plots[("Trace", "run tree")]["data"][0]
    names = tree["cells"]["values"][0]
    assert any(name.startswith("    ") for name in names)  # nested runs are indented
    # spaCy visualizations as HTML debug samples
    samples = session.events("training_debug_image")
    assert {e["metric"] for e in samples} == {"Dependencies Plot", "Entities Plot"}
    assert all(session.data_file(e["url"]).read_text().lstrip().startswith("<") for e in samples)
    # both LangChain assets (models offline travel as artifacts)
    artifacts = {a["key"] for a in session.task["execution"]["artifacts"]}
    assert {"model simple_sequential", "model Agent with Tools"} <= artifacts
    assert "scripted-stand-in-llm" in session.task["tags"]


def test_the_demo_pushed_to_a_server(demo_task: Task, fake_clearml: FakeClearMLServer) -> None:
    result = push(demo_task)
    assert result.outcome == "pushed"
    [task] = fake_clearml.state.tasks.values()
    assert task["status"] == "completed"
    models = {m["name"] for m in fake_clearml.state.models.values()}
    assert models == {"simple_sequential", "Agent with Tools"}
    plots = {(e["metric"], e["variant"]) for e in fake_clearml.task_events(task["id"], "plot")}
    assert ("Session Analysis", "Agent with Tools") in plots
    images = fake_clearml.task_events(task["id"], "training_debug_image")
    assert len(images) == len(demo_task.get_debug_samples())
    for image in images:  # every debug sample's file was uploaded
        assert fake_clearml.file_at(image["url"]).lstrip().startswith(b"<")
