"""The Plots tab and Compare's plots as HTML (the app in-process): groups, series, iterations,
empty states, and reported text that cannot close the page's JSON block."""

from __future__ import annotations

import json
import re

from server_helpers import Api

from chaintrack import Task

BREAKOUT = "</script><script>window.__xss=1</script>"


def _plot_data(html: str, block: str) -> list[dict]:  # type: ignore[type-arg]
    found = re.search(f'<script type="application/json" id="{block}">(.*?)</script>', html, re.S)
    assert found, f"no {block} block"
    data: list[dict] = json.loads(found.group(1))  # type: ignore[type-arg]
    return data


def test_the_plots_tab_groups_reports_by_title_with_their_iterations(api: Api) -> None:
    task = Task.init(project_name="pages", task_name="plots")
    log = task.get_logger()
    for iteration in (0, 3, 7):
        log.report_histogram("tokens", "answers", [iteration, 1], iteration=iteration)
    log.report_histogram("tokens", "prompts", [1, 2], iteration=3)
    log.report_plotly(BREAKOUT, "s", {"data": [{"type": "bar", "name": BREAKOUT, "y": [1]}]})
    task.close()
    page = api.get(f"/tasks/{task.id}?tab=plots")
    assert page.status_code == 200
    assert BREAKOUT not in page.text  # escaped in the heading and in the JSON block
    assert 'src="/static/plotly.min.js"' in page.text and 'src="/static/plots.js"' in page.text
    groups = {g["title"]: g for g in _plot_data(page.text, "plot-data")}
    assert set(groups) == {"tokens", BREAKOUT}
    tokens = groups["tokens"]
    assert tokens["iterations"] == [0, 3, 7]
    assert [s["series"] for s in tokens["series"]] == ["answers", "prompts"]
    answers = tokens["series"][0]["reports"]
    assert [r["iter"] for r in answers] == [0, 3, 7]
    assert answers[-1]["figure"]["data"][0]["y"] == [7.0, 1.0]
    assert 'max="2" value="2"' in page.text  # the slider starts at the last iteration


def test_no_plots_says_so_and_compare_overlays_the_last_reports(api: Api) -> None:
    empty = Task.init(project_name="pages", task_name="empty")
    empty.close()
    assert "No plots reported." in api.get(f"/tasks/{empty.id}?tab=plots").text
    ids = []
    for name, y in (("first", [1, 2]), ("second", [3, 4])):
        task = Task.init(project_name="pages", task_name=name)
        task.get_logger().report_scatter2d("curve", "s", [(0, y[0]), (1, y[1])], iteration=1)
        task.close()
        ids.append(task.id)
    page = api.get(f"/compare?ids={ids[0]}&ids={ids[1]}")
    [plot] = _plot_data(page.text, "compare-plot-data")
    assert (plot["title"], plot["series"], plot["tasks"]) == ("curve", "s", ["first", "second"])
    assert [t["name"] for t in plot["figure"]["data"]] == ["first · s", "second · s"]
    assert [t["y"] for t in plot["figure"]["data"]] == [[1.0, 2.0], [3.0, 4.0]]
    page = api.get(f"/compare?ids={ids[0]}&ids={empty.id}")
    assert "compare-plot-data" in page.text
