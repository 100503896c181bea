"""The Plots tab and the plots of Compare in a real browser: Debian's headless Chromium driven
by Playwright against ``chaintrack ui`` running as a real process, over tasks that reported
plots with real plotly, matplotlib and numpy objects."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_browser import CHROMIUM, CHROMIUM_ARGS, WAIT, XSS, Watched, run_python, start_ui

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[dev]'")

MAKE_PLOTS = """
import json
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
from chaintrack import Logger, Task
XSS = {xss!r}
ids = {{}}
for name, scale in (("plots-a", 1.0), ("plots-b", 2.0)):
    task = Task.init(project_name="plots", task_name=name)
    log = Logger.current_logger()
    for iteration in (0, 5):
        y = (np.arange(4) + iteration) * scale
        log.report_plotly("embeddings", "t-SNE", go.Figure(go.Scatter(x=np.arange(4), y=y,
                          name=XSS, mode="markers")), iteration=iteration)
    log.report_histogram("tokens", "answers", [3, 5, 2], iteration=5)
    log.report_confusion_matrix("judge", "eval", np.array([[5, 1], [2, 7]]), iteration=5)
    figure, axes = plt.subplots()
    axes.plot([1, 2, 3], [3, 1, 2])
    log.report_matplotlib_figure("matplotlib", "line", figure, iteration=5)
    ids[name] = task.id
    task.close()
print(json.dumps(ids))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("browser-plots") / "home"
    env = {**os.environ, "CHAINTRACK_HOME": str(home), "CHAINTRACK_AUTO_CONNECT_STREAMS": "0"}
    for variable in ("CHAINTRACK_TRACKING_URI", "CHAINTRACK_AUTH_TOKEN"):
        env.pop(variable, None)
    ids = json.loads(run_python(home, MAKE_PLOTS.format(xss=XSS)).strip().splitlines()[-1])
    server, base, log = start_ui(env, home.parent / "ui.log")
    try:
        yield {"base": base, "ids": ids}
    finally:
        server.terminate()
        server.wait(WAIT)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def watched(browser: Any, site: dict[str, Any], tmp_path: Path) -> Iterator[Watched]:
    page = Watched(browser, site["base"], tmp_path)
    yield page
    page.context.close()
    assert page.problems == []


def _ys(page: Any, element_id: str) -> list[float]:
    return list(page.evaluate(f"document.getElementById({element_id!r}).data[0].y"))


def test_plots_tab_draws_every_series_grouped_by_title(
    watched: Watched, site: dict[str, Any]
) -> None:
    page = watched.goto(f"/tasks/{site['ids']['plots-a']}?tab=plots")
    page.wait_for_selector("#plot-data", state="attached", timeout=WAIT * 1000)
    titles = page.locator("section.plot-group h3").all_text_contents()
    assert titles == ["embeddings", "judge", "matplotlib", "tokens"]
    page.wait_for_function(
        "document.querySelectorAll('.plot[data-drawn=true]').length === 4", timeout=WAIT * 1000
    )
    assert page.locator(".plot .main-svg").count() >= 4  # drawn by plotly.js
    assert page.evaluate("document.getElementById('plot-1-0').data[0].type") == "heatmap"
    assert page.evaluate("document.getElementById('plot-2-0').data[0].y") == [3, 1, 2]
    # plotly.js came from this server, not a CDN
    sources = page.evaluate("[...document.scripts].map(s => s.src).filter(Boolean)")
    assert all(s.startswith(site["base"]) for s in sources), sources
    assert page.evaluate("window.__xss") is None  # a trace named with markup stays text


def test_the_iteration_slider_shows_the_report_of_that_iteration(
    watched: Watched, site: dict[str, Any]
) -> None:
    page = watched.goto(f"/tasks/{site['ids']['plots-a']}?tab=plots")
    page.wait_for_function(
        "document.getElementById('plot-0-0')?.getAttribute('data-drawn') === 'true'",
        timeout=WAIT * 1000,
    )
    group = page.locator('section.plot-group[data-group="0"]')
    assert group.locator("output.plot-iteration").text_content() == "5"
    assert _ys(page, "plot-0-0") == [5, 6, 7, 8]
    slider = group.locator("input.plot-slider")
    slider.evaluate("s => { s.value = '0'; s.dispatchEvent(new Event('input')); }")
    assert group.locator("output.plot-iteration").text_content() == "0"
    assert page.get_attribute("#plot-0-0", "data-iteration") == "0"
    assert _ys(page, "plot-0-0") == [0, 1, 2, 3]


def test_compare_overlays_the_plots_of_both_tasks(watched: Watched, site: dict[str, Any]) -> None:
    ids = site["ids"]
    page = watched.goto(f"/compare?ids={ids['plots-a']}&ids={ids['plots-b']}")
    page.wait_for_function(
        "document.querySelectorAll('.compare-plot[data-drawn=true]').length === 4",
        timeout=WAIT * 1000,
    )
    captions = page.locator(".compare-plot").evaluate_all(
        "els => els.map(e => e.parentElement.querySelector('figcaption').textContent)"
    )
    assert captions[0].startswith("embeddings · t-SNE")
    names = page.evaluate("document.getElementById('compare-plot-0').data.map(t => t.name)")
    assert [n.split(" · ")[0] for n in names] == ["plots-a", "plots-b"]
    assert _ys(page, "compare-plot-0") == [5, 6, 7, 8]  # the last report of plots-a
    ys_b = page.evaluate("document.getElementById('compare-plot-0').data[1].y")
    assert ys_b == [10, 12, 14, 16]
    assert page.evaluate("window.__xss") is None
