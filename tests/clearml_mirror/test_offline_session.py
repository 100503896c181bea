"""Offline golden tests: a push in ClearML's offline mode writes a session that holds every kind
of data, and whose events and task fields validate against the schemas bundled in the SDK."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

from mirror_data import SCRIPT
from session_files import read_session, schema_errors, task_schema_errors

from chaintrack import Task
from chaintrack.clearml import push


def _offline(task: Task, tmp_path: Path, **kwargs: object):  # type: ignore[no-untyped-def]
    result = push(task, offline=True, **kwargs)  # type: ignore[arg-type]
    assert result.outcome == "offline"
    assert result.session is not None and result.session.is_file()
    return result, read_session(result.session, tmp_path / "session")


def test_every_kind_of_data_is_in_the_offline_session(
    make_task: Callable[..., Task], tmp_path: Path
) -> None:
    task = make_task()
    result, session = _offline(task, tmp_path)
    t = session.task
    assert result.clearml_id == t["id"]
    assert schema_errors(session.metrics + session.logs) == []
    assert task_schema_errors(t) == []

    # project, name, type, tags, comment
    assert (t["project_name"], t["name"], t["type"]) == ("mirror/tests", "rich", "inference")
    assert sorted(t["tags"]) == ["nightly", "rag"]
    assert t["comment"] == "a task with everything"
    # script: repository, branch, commit, uncommitted diff, entry point; packages
    for field, value in SCRIPT.items():
        assert t["script"][field] == value, field
    packages = t["script"]["requirements"]["pip"].splitlines()
    assert any(p.startswith("clearml==") for p in packages)
    # hyperparameters by section, with their types
    assert t["hyperparams"]["General"]["temperature"]["value"] == "0.2"
    assert t["hyperparams"]["General"]["temperature"]["type"] == "float"
    assert t["hyperparams"]["General"]["stream"]["value"] == "True"
    assert t["hyperparams"]["Retriever"]["chunk_size"]["value"] == "512"
    # user properties, and where the task came from
    properties = t["hyperparams"]["properties"]
    assert properties["dataset"]["value"] == "faq-v2"
    assert properties["owner"]["value"] == "ana"
    assert properties["chaintrack.id"]["value"] == task.id
    assert properties["chaintrack.status"]["value"] == "completed"
    # configuration objects
    assert json.loads(t["configuration"]["prompting"]["value"]) == {
        "prompt": "Answer briefly.",
        "stop": ["\n"],
    }

    # scalars and the single value
    scalars = {(e["metric"], e["variant"], e["iter"]): e["value"]
               for e in session.events("training_stats_scalar")}  # fmt: skip
    assert scalars[("loss", "train", 4)] == 0.2
    assert scalars[("latency", "p50 ms", 0)] == 100.0
    assert scalars[("Summary", "accuracy", -(2**31))] == 0.875
    assert len(scalars) == 11
    # tables as Plotly table plots (the reported table and the run tree when there are spans)
    plots = {(e["metric"], e["variant"]): json.loads(e["plot_str"]) for e in session.events("plot")}
    table = plots[("Action Records", "session")]["data"][0]
    assert table["type"] == "table"
    assert table["header"]["values"] == [["action"], ["tokens"]]
    assert table["cells"]["values"][0] == ["on_llm_start", "on_llm_end"]
    # debug samples: the files themselves are in the session
    samples = {(e["metric"], e["variant"], e["iter"]): e for e in session.events(
        "training_debug_image")}  # fmt: skip
    html = session.data_file(samples[("Dependencies Plot", "prompt 1", 0)]["url"])
    assert html.read_text(encoding="utf-8") == "<svg><text>dependency</text></svg>"
    assert session.data_file(samples[("Charts", "latency", 2)]["url"]).read_bytes()[:4] == (
        b"\x89PNG"
    )
    # console, with levels
    # (ClearML joins consecutive lines of one level into one event)
    lines = {line: e["level"] for e in session.logs for line in e["msg"].splitlines()}
    assert lines["retrieval done"] == "info"
    assert lines["tool call failed: timeout"] == "error"

    # artifacts (dicts as ClearML's own dict artifacts) and models (as artifacts offline)
    artifacts = {a["key"]: a for a in t["execution"]["artifacts"]}
    assert artifacts["answers"]["type"] == "dict"
    assert json.loads(session.data_file(artifacts["answers"]["uri"]).read_text()) == {
        "q1": "yes",
        "q2": "no",
    }
    assert artifacts["notes"]["hash"]
    assert session.data_file(artifacts["notes"]["uri"]).read_text() == "free text notes"
    weights = session.data_file(artifacts["model adapter"]["uri"])
    assert weights.read_bytes() == b"weights of the adapter"
    # (ClearML shows an artifact's metadata as display_data pairs)
    assert dict(artifacts["model adapter"]["display_data"])["framework"] == "LangChain"
    assert dict(artifacts["answers"]["display_data"]) == {"split": "dev"}
    asset = session.data_file(artifacts["model chain asset"]["uri"])
    assert json.loads(asset.read_text()) == {"_type": "llm_chain"}
    # models are not "offline output models": the SDK's import breaks on those
    assert t.get("offline_output_models", []) == []


def test_a_failed_task_carries_its_status_offline(
    make_task: Callable[..., Task], tmp_path: Path
) -> None:
    task = make_task(status="failed")
    _, session = _offline(task, tmp_path)
    # An offline import always ends completed: the status travels as a tag and properties.
    assert "status:failed" in session.task["tags"]
    properties = session.task["hyperparams"]["properties"]
    assert properties["chaintrack.status"]["value"] == "failed"
    assert "retriever returned nothing" in properties["chaintrack.status_reason"]["value"]


def test_project_override_and_nan_values(make_task: Callable[..., Task], tmp_path: Path) -> None:
    task = Task.init(project_name="p", task_name="nan")
    task.get_logger().report_scalar("loss", "train", math.nan, 0)
    task.get_logger().report_table("t", "s", 0, table_plot=[["a", "b"], [1.5, None]])
    task.close()
    _, session = _offline(task, tmp_path, project="elsewhere/sub")
    assert session.task["project_name"] == "elsewhere/sub"
    assert schema_errors(session.metrics) == []
    [loss] = session.events("training_stats_scalar")
    assert loss["metric"] == "loss"
