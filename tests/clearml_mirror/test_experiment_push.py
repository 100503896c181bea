"""An experiment pushed to ClearML arrives complete: its results as a table, each score as a
scalar series (and its mean as a single value), the dataset's rows as an artifact, and the
experiment's parameters (dataset id and version). Pushed offline: the session ClearML's SDK
writes is read back."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
from session_files import read_session, schema_errors

from chaintrack import Dataset, Task, evaluate
from chaintrack import scorers as s
from chaintrack.clearml import push


def _target(inputs: dict[str, Any]) -> str:
    return "4" if inputs["q"] == "2+2" else "no idea"


def test_an_experiment_arrives_with_results_scores_and_dataset(tmp_path: Path) -> None:
    ds = Dataset.create("arith", "mirror/evals").add_rows([
        {"id": "a", "inputs": {"q": "2+2"}, "expected": "4"},
        {"id": "b", "inputs": {"q": "3+3"}, "expected": "6"},
    ]).finalize()  # fmt: skip
    experiment = evaluate(_target, ds, [s.exact_match(), s.fuzzy_match()],
                          experiment_name="v1", progress=False)  # fmt: skip
    result = push(Task.get_task(task_id=experiment.id), offline=True)
    assert result.outcome == "offline" and result.session is not None
    session = read_session(result.session, tmp_path / "session")
    assert schema_errors(session.metrics + session.logs) == []
    t = session.task
    assert (t["name"], t["type"]) == ("v1", "testing")
    assert t["hyperparams"]["Evaluation"]["dataset_id"]["value"] == ds.id
    assert t["hyperparams"]["Evaluation"]["dataset_version"]["value"] == "1.0.0"

    plots = {(e["metric"], e["variant"]): json.loads(e["plot_str"]) for e in session.events("plot")}
    table = plots[("Experiment results", "arith")]["data"][0]
    header = [h[0] for h in table["header"]["values"]]
    assert header[:5] == ["example_id", "repetition", "inputs", "expected", "output"]
    assert "exact_match" in header and "trace_id" in header
    columns = dict(zip(header, table["cells"]["values"], strict=True))
    assert columns["example_id"] == ["a", "b"] and columns["output"] == ["4", "no idea"]
    assert [float(v) for v in columns["exact_match"]] == [1.0, 0.0]

    scalars = {(e["metric"], e["variant"], e["iter"]): e["value"]
               for e in session.events("training_stats_scalar")}  # fmt: skip
    assert scalars[("scores", "exact_match", 0)] == 1.0
    assert scalars[("scores", "exact_match", 1)] == 0.0
    assert scalars[("Summary", "exact_match mean", -(2**31))] == 0.5
    assert ("scores", "fuzzy_match", 1) in scalars

    artifacts = {a["key"]: a for a in t["execution"]["artifacts"]}
    rows = session.data_file(artifacts["dataset"]["uri"])
    frame = pd.read_csv(io.BytesIO(rows.read_bytes()), compression="gzip")  # ClearML: .csv.gz
    assert list(frame["id"]) == ["a", "b"]
    assert json.loads(frame["inputs"][1]) == {"q": "3+3"}
