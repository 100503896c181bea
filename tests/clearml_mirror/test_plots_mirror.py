"""Plots reach ClearML as ClearML plots: a task that reported plots with real plotly,
matplotlib, numpy and PIL objects, pushed in ClearML's offline mode, gives a session whose plot
events carry the same figures and validate against the event schemas shipped in the SDK."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np
import plotly.graph_objects as go
from PIL import Image
from session_files import read_session, schema_errors

from chaintrack import Logger, Task
from chaintrack.clearml import push

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def test_plots_and_images_are_in_the_offline_session(tmp_path: Path) -> None:
    task = Task.init(project_name="mirror/plots", task_name="figures")
    log = Logger.current_logger()
    assert log is not None
    log.report_plotly("embeddings", "t-SNE",
                      go.Figure(go.Scatter(x=np.arange(3), y=np.array([1.0, 4.0, 9.0]))),
                      iteration=2)  # fmt: skip
    log.report_histogram("tokens", "answers", [3, 5, 2], iteration=1, xlabels=["a", "b", "c"])
    log.report_scatter2d("latency", "p50", np.array([[1, 10.0], [2, 12.0]]), mode="markers")
    log.report_scatter3d("space", "points", np.eye(3))
    log.report_confusion_matrix("judge", "eval", np.array([[5, 1], [2, 7]]))
    log.report_surface("grid", "score", np.arange(4).reshape(2, 2))
    figure, axes = plt.subplots()
    axes.plot([1, 2, 3], [3, 1, 2])
    log.report_matplotlib_figure("matplotlib", "line", figure, iteration=3)
    plt.close("all")
    log.report_image("pages", "pil", iteration=1, image=Image.new("RGB", (4, 4), (255, 0, 0)))
    task.close()

    result = push(task, offline=True)
    assert result.outcome == "offline" and result.session is not None
    session = read_session(result.session, tmp_path / "session")
    assert schema_errors(session.metrics + session.logs) == []
    plots = {(e["metric"], e["variant"]): (e["iter"], json.loads(e["plot_str"]))
             for e in session.events("plot")}  # fmt: skip
    assert set(plots) == {("embeddings", "t-SNE"), ("tokens", "answers"), ("latency", "p50"),
                          ("space", "points"), ("judge", "eval"), ("grid", "score"),
                          ("matplotlib", "line")}  # fmt: skip
    iteration, embeddings = plots[("embeddings", "t-SNE")]
    assert iteration == 2 and embeddings["data"][0]["y"] == [1.0, 4.0, 9.0]
    assert plots[("tokens", "answers")][1]["data"][0]["type"] == "bar"
    assert plots[("judge", "eval")][1]["data"][0]["z"] == [[5.0, 1.0], [2.0, 7.0]]
    assert plots[("grid", "score")][1]["data"][0]["type"] == "surface"
    assert plots[("matplotlib", "line")][1]["data"][0]["y"] == [3.0, 1.0, 2.0]
    [image] = [e for e in session.events("training_debug_image") if e["metric"] == "pages"]
    picture = Image.open(session.data_file(image["url"]))
    assert picture.getpixel((0, 0)) == (255, 0, 0)
