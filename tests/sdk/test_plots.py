"""Plot reports in ClearML's names with real plotly, matplotlib, numpy and PIL objects, read back
with ``task.get_reported_plots()`` and ``task.get_debug_samples()``."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import matplotlib
import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

from chaintrack import Logger, Task
from chaintrack.errors import InvalidArgumentError, UnsupportedTypeError

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def plots(task: Task) -> dict[tuple[str, str], list[dict[str, Any]]]:
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for p in task.get_reported_plots():
        assert p["type"] == "plot" and p["task"] == task.id
        found.setdefault((p["metric"], p["variant"]), []).append(
            {"iter": p["iter"], **json.loads(p["plot_str"])}
        )
    return found


@pytest.fixture
def task() -> Iterator[Task]:
    task = Task.init(project_name="plots", task_name="all of them")
    yield task
    task.close()


def test_current_logger_is_the_current_tasks_logger_and_none_without_a_task() -> None:
    assert Logger.current_logger() is None
    task = Task.init(project_name="plots", task_name="current")
    assert Logger.current_logger() is task.get_logger()
    task.close()
    assert Logger.current_logger() is None


def test_report_plotly_takes_a_figure_or_its_dict_and_titles_it_by_series(task: Task) -> None:
    embedding = np.array([[0.1, 0.2], [0.4, np.nan], [0.9, 0.3]])
    figure = go.Figure(go.Scatter(x=embedding[:, 0], y=embedding[:, 1], mode="markers",
                                  text=["a", "b", "c"]))  # fmt: skip
    log = Logger.current_logger()
    assert log is not None
    log.report_plotly(title="t-SNE", series="prompts", figure=figure, iteration=3)
    log.report_plotly("raw", "dict", {"data": [{"type": "bar", "x": [1], "y": [2]}]})
    found = plots(task)
    [tsne] = found[("t-SNE", "prompts")]
    assert tsne["iter"] == 3
    assert tsne["data"][0]["x"] == [0.1, 0.4, 0.9]
    assert tsne["data"][0]["y"] == [0.2, None, 0.3]  # NaN is a gap, as plotly.js draws it
    assert tsne["layout"]["title"] == "prompts"
    [raw] = found[("raw", "dict")]
    assert raw["iter"] == 0 and raw["data"] == [{"type": "bar", "x": [1], "y": [2]}]


def test_a_figure_changed_after_the_report_is_stored_as_reported(task: Task) -> None:
    values = np.array([1.0, 2.0, 3.0])
    task.get_logger().report_histogram("h", "s", values, iteration=1)
    values[0] = 99.0
    [h] = plots(task)[("h", "s")]
    assert h["data"][0]["y"] == [1.0, 2.0, 3.0]


def test_histogram_and_its_deprecated_alias_report_vector(task: Task) -> None:
    log = task.get_logger()
    log.report_histogram("hist", "counts", [3, 5, 2], iteration=2, xlabels=["a", "b", "c"],
                         xaxis="letter", yaxis="count", mode="stack",
                         data_args={"marker": {"color": "blue"}},
                         extra_layout={"showlegend": False})  # fmt: skip
    with pytest.warns(DeprecationWarning, match="report_histogram"):
        log.report_vector("vec", "rows", np.array([[1, 2], [3, 4]]), labels=["x", "y"])
    [hist] = plots(task)[("hist", "counts")]
    assert hist["data"][0]["type"] == "bar" and hist["data"][0]["x"] == ["a", "b", "c"]
    assert hist["data"][0]["y"] == [3.0, 5.0, 2.0]
    assert hist["data"][0]["marker"] == {"color": "blue"}
    assert hist["layout"]["barmode"] == "stack" and hist["layout"]["showlegend"] is False
    assert hist["layout"]["xaxis"]["title"] == "letter"
    [vec] = plots(task)[("vec", "rows")]
    assert [t["name"] for t in vec["data"]] == ["x", "y"]
    assert vec["layout"]["barmode"] == "group"  # ClearML's default mode
    with pytest.raises(InvalidArgumentError, match="mode"):
        log.report_histogram("bad", "s", [1], mode="pie")


def test_line_plot_with_series_info_and_scatter2d(task: Task) -> None:
    log = task.get_logger()
    train = Logger.SeriesInfo(name="train", data=np.array([[0, 1.0], [1, 0.5]]))
    with pytest.warns(DeprecationWarning, match="report_scatter2d"):
        log.report_line_plot("loss", [train, {"name": "eval", "data": [[0, 2.0], [1, 1.0]]}],
                             xaxis="epoch", yaxis="loss", iteration=1, reverse_xaxis=True,
                             comment="lower is better")  # fmt: skip
    log.report_scatter2d("latency", "p50", [(1, 10.0), (2, 12.0)], iteration=4, xaxis="run",
                         yaxis="ms", labels=["first", "second"], mode="markers")  # fmt: skip
    found = plots(task)
    [line] = found[("loss", "")]  # ClearML files a line plot under an empty series
    assert [t["name"] for t in line["data"]] == ["train", "eval"]
    assert line["data"][1]["y"] == [2.0, 1.0] and line["data"][0]["mode"] == "lines"
    assert line["layout"]["xaxis"]["autorange"] == "reversed"
    assert line["layout"]["title"] == "loss<br><sup>lower is better</sup>"
    [scatter] = found[("latency", "p50")]
    assert scatter["data"][0]["x"] == [1.0, 2.0] and scatter["data"][0]["text"] == [
        "first",
        "second",
    ]
    assert scatter["data"][0]["mode"] == "markers" and scatter["iter"] == 4
    with pytest.raises(InvalidArgumentError, match="N×2"):
        Logger.SeriesInfo(name="bad", data=[1, 2, 3])


def test_scatter3d_matrices_and_surface(task: Task) -> None:
    log = task.get_logger()
    points = np.random.default_rng(0).random((6, 3))
    log.report_scatter3d("space", "points", points, xaxis="x", yaxis="y", zaxis="z")
    log.report_confusion_matrix("confusion", "eval", np.array([[5, 1], [2, 7]]),
                                xlabels=["cat", "dog"], ylabels=["cat", "dog"],
                                yaxis_reversed=True)  # fmt: skip
    with pytest.warns(DeprecationWarning, match="report_confusion_matrix"):
        log.report_matrix("old", "m", np.eye(2))
    log.report_surface("surface", "s", np.arange(9).reshape(3, 3), camera=(1, 2, 3))
    found = plots(task)
    [space] = found[("space", "points")]
    assert space["data"][0]["type"] == "scatter3d" and space["data"][0]["mode"] == "markers"
    assert space["data"][0]["z"] == pytest.approx(points[:, 2].tolist())
    assert space["layout"]["scene"]["zaxis"]["title"] == "z"
    [confusion] = found[("confusion", "eval")]
    assert confusion["data"][0]["type"] == "heatmap"
    assert confusion["data"][0]["z"] == [[5.0, 1.0], [2.0, 7.0]]
    assert confusion["layout"]["yaxis"]["autorange"] == "reversed"
    assert found[("old", "m")][0]["data"][0]["z"] == [[1.0, 0.0], [0.0, 1.0]]
    [surface] = found[("surface", "s")]
    assert surface["data"][0]["type"] == "surface"
    assert surface["layout"]["scene"]["camera"]["eye"] == {"x": 1, "y": 2, "z": 3}


def test_matplotlib_figures_convert_to_plotly_or_become_png_samples(task: Task) -> None:
    log = task.get_logger()
    figure, axes = plt.subplots()
    axes.plot([1, 2, 3], [4, 1, 9], label="answers")
    axes.set_xlabel("run")
    log.report_matplotlib_figure("mpl", "lines", figure, iteration=1)
    picture, image_axes = plt.subplots()
    image_axes.imshow(np.eye(4))  # plotly's converter cannot take images
    log.report_matplotlib_figure("mpl", "image", picture, iteration=1)
    log.report_matplotlib_figure("mpl", "forced", figure, iteration=2, report_image=True)
    plt.figure()
    plt.bar(["a", "b"], [1, 2])
    log.report_matplotlib_figure("mpl", "pyplot", plt, iteration=3)
    plt.close("all")
    found = plots(task)
    [lines] = found[("mpl", "lines")]
    assert lines["data"][0]["x"] == [1.0, 2.0, 3.0] and lines["data"][0]["y"] == [4.0, 1.0, 9.0]
    assert ("mpl", "image") not in found and ("mpl", "forced") not in found
    assert found[("mpl", "pyplot")][0]["data"][0]["type"] == "bar"
    samples = {(s.series, s.iteration): s for s in task.get_debug_samples()}
    for key in (("image", 1), ("forced", 2)):
        assert samples[key].mime_type == "image/png"
        assert Path(samples[key].local_path or "").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(UnsupportedTypeError, match="matplotlib"):
        log.report_matplotlib_figure("mpl", "bad", "not a figure")


class _Counting(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Counting.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


def test_report_image_from_array_pil_path_and_url_never_downloaded(
    task: Task, tmp_path: Path
) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=server.serve_forever, name="test-image-host", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/cat.png"
    log = task.get_logger()
    red = np.zeros((8, 6, 3), dtype=np.uint8)
    red[:, :, 0] = 255
    log.report_image("img", "array", iteration=1, image=red)
    log.report_image("img", "pil", iteration=1, image=Image.new("L", (5, 4), color=128))
    path = tmp_path / "blue.png"
    Image.new("RGB", (3, 3), color=(0, 0, 255)).save(path)
    log.report_image("img", "path", iteration=2, local_path=str(path))
    log.report_image("img", "url", iteration=2, url=url)
    with pytest.warns(DeprecationWarning, match="'matrix' variable is deprecated"):
        log.report_image("img", "matrix", matrix=np.ones((2, 2), dtype=float))
    samples = {s.series: s for s in task.get_debug_samples()}
    server.shutdown()
    server.server_close()
    array = np.asarray(Image.open(samples["array"].local_path or ""))
    assert array.shape == (8, 6, 3) and (array[:, :, 0] == 255).all()
    assert np.asarray(Image.open(samples["pil"].local_path or "")).tolist()[0][0] == 128
    assert Image.open(samples["path"].local_path or "").getpixel((0, 0)) == (0, 0, 255)
    assert samples["url"].url == url and samples["url"].local_path is None
    assert _Counting.hits == []  # stored as a link, never fetched
    assert np.asarray(Image.open(samples["matrix"].local_path or "")).max() == 255
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        log.report_image("img", "two", image=red, url=url)
    with pytest.raises(UnsupportedTypeError):
        log.report_image("img", "bad", image="not an image")


def test_refused_logger_calls_say_why() -> None:
    task = Task.init(project_name="plots", task_name="refused")
    with pytest.raises(NotImplementedError, match="TensorBoard"):
        task.get_logger().tensorboard_auto_group_scalars(True)
    task.close()
