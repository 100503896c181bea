"""Span search and the Dashboard tab in a real browser: Debian's headless Chromium driven by
Playwright against ``chaintrack ui`` running as a real process, over tasks whose spans were
reported with the SDK (some of them carrying ``<script>`` and ``<img onerror>`` in every text).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from test_browser import CHROMIUM, CHROMIUM_ARGS, WAIT, XSS, Watched, run_python, start_ui

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[dev]'")

#: Spans of project "shop": 25 runs (root chain + LLM call) within the last day, 4 runs five
#: days ago; project "other": 2 runs within the last day. Times are relative to now, so the
#: dashboard's ranges (24h, 7d) select them.
MAKE_SPANS = """
import json, time
from chaintrack import Task
from chaintrack.store.records import SPAN
XSS = {xss!r}
now = time.time()
ids = {{}}

def run(logger, n, start, slow, text):
    logger._event(SPAN, None, None, None, data=json.dumps({{
        "span_id": f"root{{n}}", "parent_id": None, "kind": "chain", "name": "answer",
        "start_time": start, "end_time": start + 3, "latency_ms": 3000.0, "status": "ok",
        "input": "question " + text, "output": "reply " + text}}))
    logger._event(SPAN, None, None, None, data=json.dumps({{
        "span_id": f"call{{n}}", "parent_id": f"root{{n}}", "kind": "llm",
        "name": "call " + text, "start_time": start + 0.5, "end_time": start + 2.5,
        "latency_ms": 2500.0 if slow else 200.0, "status": "ok",
        "input": "prompt " + text, "output": "output " + text, "model_name": "gpt-4o-mini",
        "prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
        "attributes": {{"note": text}}}}))

task = Task.init(project_name="shop", task_name="support bot", tags=["prod"])
logger = task.get_logger()
for n in range(25):
    text = "about a refund" if n == 24 else f"about shipping {{n}}"
    run(logger, n, now - 3600 - (25 - n) * 60, n % 5 == 0, text)
for n in range(25, 29):
    run(logger, n, now - 5 * 86400 + n, False, "older order")
run(logger, 99, now - 1800, True, XSS)
task.close()
ids["shop"] = task.id
other = Task.init(project_name="other", task_name="other bot")
for n in range(100, 102):
    run(other.get_logger(), n, now - 7200 + n, False, "weather")
other.close()
ids["other"] = other.id
print(json.dumps(ids))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("browser-search") / "home"
    env = {**os.environ, "CHAINTRACK_HOME": str(home), "CHAINTRACK_AUTO_CONNECT_STREAMS": "0"}
    for variable in ("CHAINTRACK_TRACKING_URI", "CHAINTRACK_AUTH_TOKEN"):
        env.pop(variable, None)
    ids = json.loads(run_python(home, MAKE_SPANS.format(xss=XSS)).strip().splitlines()[-1])
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
    requested: list[str] = []
    page.page.on("request", lambda request: requested.append(request.url))
    page.requested = requested  # type: ignore[attr-defined]
    yield page
    page.context.close()
    assert page.problems == []
    # Nothing leaves the machine: no CDN, no font or script from elsewhere.
    assert requested and all(urlparse(u).hostname == "127.0.0.1" for u in requested), [
        u for u in requested if urlparse(u).hostname != "127.0.0.1"
    ]


def search(page: Any, query: str, project: str = "") -> None:
    page.fill("#query", query)
    page.fill("#project", project)
    with page.expect_navigation():
        page.click("#span-search button[type=submit]")


def test_typing_a_query_shows_the_matching_spans(watched: Watched) -> None:
    page = watched.goto("/search")
    search(page, 'kind = llm and latency_ms > 2000 and output ~ "SHIPPING"', "shop")
    rows = page.locator("#results tbody tr")
    # Runs 0, 5, 10, 15 and 20 were slow and about shipping (run 99 is slow but hostile).
    assert rows.count() == 5
    assert set(rows.locator("td:nth-child(4)").all_inner_texts()) == {"llm"}
    assert set(rows.locator("td:nth-child(2)").all_inner_texts()) == {"shop"}
    outputs = rows.locator("td.clip").all_inner_texts()
    assert sorted(outputs) == sorted(f"output about shipping {n}" for n in (0, 5, 10, 15, 20))
    query = parse_qs(urlparse(page.url).query)
    assert query["project"] == ["shop"] and query["q"][0].startswith("kind = llm")
    # The same query across projects finds nothing more; "weather" is the other project's.
    search(page, 'output ~ "weather"')
    assert set(page.locator("#results tbody td:nth-child(2)").all_inner_texts()) == {"other"}
    search(page, 'output ~ "weather"', "shop")
    assert page.locator("#no-results").is_visible()


def test_a_bad_query_shows_the_error_with_its_position(watched: Watched) -> None:
    page = watched.goto("/search")
    page.fill("#query", "latency_ms >> 2000")
    response_status: list[int] = []
    page.on("response", lambda r: response_status.append(r.status) if "/search?" in r.url
            else None)  # fmt: skip
    with page.expect_navigation():
        page.click("#span-search button[type=submit]")
    error = page.locator("#query-error").inner_text()
    assert "position 12" in error
    assert "^" in error  # the caret under the offending character
    assert "Allowed fields: kind, name, status" in error
    assert response_status == [400]
    assert page.locator("#results").count() == 0
    assert page.locator("#query").input_value() == "latency_ms >> 2000"
    # Chromium logs the 400 itself; that is the page's only console error.
    assert all("status of 400" in p for p in watched.problems)
    watched.problems.clear()


def test_a_result_links_to_its_trace_even_past_the_first_page(
    watched: Watched, site: dict[str, Any]
) -> None:
    page = watched.goto("/search?" + urlencode({"q": 'output ~ "refund"', "project": "shop"}))
    rows = page.locator("#results tbody tr")
    assert rows.count() == 2  # run 24: its chain and its LLM call
    llm = rows.filter(has_text="llm")
    with page.expect_navigation():
        llm.get_by_role("link", name="trace").click()
    # Run 24 is the 25th root by start time: the second page of 20 roots.
    url = urlparse(page.url)
    assert url.path == f"/tasks/{site['ids']['shop']}"
    assert parse_qs(url.query) == {"tab": ["trace"], "page": ["2"]}
    assert url.fragment == "span-call24"
    assert page.locator("nav.tabs a.active").inner_text() == "Trace"
    assert page.locator("#span-call24").count() == 1
    assert page.locator("#span-root24").count() == 1


def test_saved_searches_are_kept_per_project(watched: Watched) -> None:
    page = watched.goto("/search?" + urlencode({"q": "latency_ms > 2000", "project": "shop"}))
    slow = page.locator("#results tbody tr").count()
    page.fill("#save-search input[name=name]", "slow calls")
    with page.expect_navigation():
        page.click("#save-search button[type=submit]")
    saved = page.locator("#saved-searches li.saved-search")
    assert saved.count() == 1 and "slow calls" in saved.inner_text()
    # Another project does not list it.
    page = watched.goto("/search?project=other")
    assert page.locator("#saved-searches li.saved-search").count() == 0
    # Loading it runs it.
    page = watched.goto("/search?project=shop")
    with page.expect_navigation():
        page.locator("#saved-searches").get_by_role("link", name="slow calls").click()
    assert page.locator("#query").input_value() == "latency_ms > 2000"
    assert page.locator("#results tbody tr").count() == slow > 0
    # Deleting it removes it from the project.
    with page.expect_navigation():
        page.locator("#saved-searches li.saved-search button").click()
    assert page.locator("#saved-searches li.saved-search").count() == 0
    page = watched.goto("/search?project=shop")
    assert page.locator("#saved-searches li.saved-search").count() == 0


def test_hostile_text_in_results_queries_and_saved_searches_is_shown_as_text(
    watched: Watched,
) -> None:
    page = watched.goto("/search?" + urlencode({"q": 'output ~ "<script>"', "project": "shop"}))
    rows = page.locator("#results tbody tr")
    assert rows.count() == 2
    outputs = sorted(rows.locator("td.clip").all_inner_texts())
    assert outputs == ["output " + XSS, "reply " + XSS]
    assert "call " + XSS in rows.locator("td:nth-child(5)").all_inner_texts()
    page.fill("#save-search input[name=name]", "name " + XSS)
    with page.expect_navigation():
        page.click("#save-search button[type=submit]")
    assert "name " + XSS in page.locator("#saved-searches").inner_text()
    # A query of markup is echoed as text, in the box and in the error.
    page = watched.page
    page.goto(watched.base + "/search?" + urlencode({"q": XSS}))
    assert XSS in page.locator("#query-error").inner_text()
    assert page.locator("#query").input_value() == XSS
    assert all("status of 400" in p for p in watched.problems)
    watched.problems.clear()
    # An attribute holding markup matches as text.
    page = watched.goto("/search?" + urlencode({"q": f"attr.note = {json.dumps(XSS)}"}))
    assert page.locator("#results tbody tr").count() == 1
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.__xss") is None
    assert page.locator("img[src=x]").count() == 0
    assert page.locator("script:not([src]):not([type='application/json'])").count() == 0


def _totals(page: Any) -> int:
    return int(page.locator("#totals").inner_text().split()[0])


def test_dashboard_draws_plotly_charts_from_the_server_and_shares_its_range(
    watched: Watched, site: dict[str, Any]
) -> None:
    page = watched.goto("/dashboard?" + urlencode({"project": "shop", "range": "7d"}))
    for chart in ("calls", "latency", "tokens", "cost", "kinds"):
        page.locator(f"#dash-{chart} .main-svg").first.wait_for()
        assert page.locator(f"#dash-{chart}").get_attribute("data-drawn") == "true"
    assert "gpt-4o-mini" in page.locator("#dash-tokens .legend").text_content()
    assert page.evaluate("() => typeof window.Plotly.newPlot") == "function"
    scripts = [u for u in watched.requested if u.endswith(".js")]  # type: ignore[attr-defined]
    assert f"{site['base']}/static/plotly.min.js" in scripts
    assert _totals(page) == 2 * 30  # 30 runs of shop in 7 days (29 + the hostile one)
    by_model = page.locator("#by_model tbody tr")
    assert by_model.filter(has_text="gpt-4o-mini").locator("td").nth(1).inner_text() == "30"
    # Choosing 24h reloads the aggregates with the range in the URL.
    with page.expect_navigation():
        page.select_option("#range", "24h")
    assert parse_qs(urlparse(page.url).query) == {"project": ["shop"], "range": ["24h"]}
    page.locator("#dash-calls .main-svg").first.wait_for()
    assert _totals(page) == 2 * 26  # the 4 runs of five days ago are out
    assert "hour buckets" in page.locator("#totals").inner_text()
    # The URL is shareable: opened afresh it shows the same range and totals.
    shared = page.url
    other = watched.context.new_page()
    other.goto(shared)
    assert other.locator("#range").input_value() == "24h"
    assert _totals(other) == 2 * 26
    other.close()


def test_dashboard_across_projects(watched: Watched) -> None:
    page = watched.goto("/dashboard?range=7d")
    page.locator("#dash-calls .main-svg").first.wait_for()
    assert page.locator("h1").inner_text() == "Dashboard · all projects"
    assert _totals(page) == 2 * 30 + 2 * 2
    kinds = page.locator("#by_kind tbody tr")
    assert sorted(kinds.locator("td:first-child").all_inner_texts()) == ["chain", "llm"]
    tags = page.locator("#by_tag tbody tr")
    assert tags.filter(has_text="prod").locator("td").nth(1).inner_text() == "60"
