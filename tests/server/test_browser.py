"""The web UI in a real browser: Debian's headless Chromium driven by Playwright, against
``chaintrack ui`` running as a real process on a free port.

The store holds what ``chaintrack demo`` records, tasks made with the SDK, and a task whose every
text (name, project, tags, parameters, console, tables, scalars, spans, artifacts, debug samples)
carries ``<script>`` and ``<img src=x onerror=…>``: none of it may run.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

CHROMIUM = os.environ.get("CHAINTRACK_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT = 60.0  # seconds: a bound for hangs only

if not Path(CHROMIUM).exists():
    pytest.skip(
        f"the browser tests need Debian's chromium at {CHROMIUM} (scripts/test.sh installs it "
        "when run as root: apt-get install chromium)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[dev]'")

XSS = "<script>window.__xss='script'</script><img src=x onerror=\"window.__xss='img'\">"
SAMPLE = (
    "<p id=inside>sample</p><script>top.__xss='sample-script'</script>"
    "<img src=x onerror=\"top.__xss='sample-img'\">"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_python(home: Path, code: str) -> str:
    env = {**os.environ, "CHAINTRACK_HOME": str(home), "CHAINTRACK_AUTO_CONNECT_STREAMS": "0"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=True,
    )
    return done.stdout


MAKE_TASKS = """
import json, logging, time
from chaintrack import Task
from chaintrack.store.records import SPAN
XSS = {xss!r}
ids = {{}}
for name, k in (("baseline", 4), ("wider", 8)):
    task = Task.init(project_name="sdk", task_name=name, tags=["sweep"])
    task.connect({{"retriever": {{"k": k}}, "model": "m1"}})
    logger = task.get_logger()
    for i in range(20):
        logger.report_scalar("quality", "exact match", k / 10 + i / 100, iteration=i)
    logger.report_table("Session Analysis", "run", table_plot=[["prompt", "tokens"], [name, k]])
    for i in range(3):
        logger.report_text(f"step {{i}} of {{name}}")
    logger.report_text(f"failure in {{name}}", level=logging.ERROR)
    task.close()
    ids[name] = task.id

task = Task.init(project_name="xss/" + XSS, task_name="xss " + XSS, tags=[XSS])
task.connect({{"prompt": XSS, "nested": {{XSS: 1}}}})
task.connect_configuration({{"template": XSS}}, name="cfg " + XSS)
task.set_user_properties(note=XSS)
task.set_comment(XSS)
logger = task.get_logger()
for i in range(3):
    logger.report_scalar("title " + XSS, "series " + XSS, float(i), iteration=i)
logger.report_text("console " + XSS)
logger.report_table("Session Analysis", "run", table_plot=[["prompts", "output"], [XSS, XSS]])
for i in range(2):
    logger.report_media("page " + XSS, "html", iteration=i, stream={sample!r},
                        file_extension="html")
logger.report_media("link", "js", iteration=0, url="javascript:window.__xss='link'")
task.upload_artifact("notes " + XSS, XSS)
now = time.time()
for sid, parent, kind, error in (("r", None, "chain", None), ("c", "r", "llm", XSS)):
    logger._event(SPAN, None, None, None, data=json.dumps({{
        "span_id": sid, "parent_id": parent, "kind": kind, "name": "span " + XSS,
        "start_time": now, "end_time": now + 1, "latency_ms": 1000.0,
        "status": "error" if error else "ok", "error": error, "input": "prompt " + XSS,
        "output": "output " + XSS, "prompt_tokens": 3, "completion_tokens": 4,
        "total_tokens": 7, "model_name": "m " + XSS}}))
task.close()
ids["xss"] = task.id
print(json.dumps(ids))
"""


def start_ui(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen[bytes], str, Any]:
    """`chaintrack ui` on a free port, once it answers."""
    port = free_port()
    log = log_path.open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "chaintrack.cli", "ui", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + WAIT
    while True:
        try:
            if httpx.get(base + "/api/v1/health", timeout=1).status_code == 200:
                return server, base, log
        except httpx.TransportError:
            pass
        assert server.poll() is None, log_path.read_text()
        assert time.monotonic() < deadline, "chaintrack ui did not start"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`chaintrack demo` and the SDK's tasks in a store, served by `chaintrack ui`."""
    home = tmp_path_factory.mktemp("browser") / "home"
    env = {**os.environ, "CHAINTRACK_HOME": str(home), "CHAINTRACK_AUTO_CONNECT_STREAMS": "0"}
    for variable in ("CHAINTRACK_TRACKING_URI", "CHAINTRACK_AUTH_TOKEN", "OPENAI_API_KEY"):
        env.pop(variable, None)
    demo = subprocess.run(
        [sys.executable, "-m", "chaintrack.cli", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    output = run_python(home, MAKE_TASKS.format(xss=XSS, sample=SAMPLE))
    ids = json.loads(output.strip().splitlines()[-1])  # report_text prints the lines before
    server, base, log = start_ui(env, home.parent / "ui.log")
    try:
        yield {"base": base, "ids": ids, "home": home, "env": env}
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


class Watched:
    """A page that records script errors, console errors (CSP violations among them) and
    dialogs (an ``alert`` would be one)."""

    def __init__(self, browser: Any, base: str, downloads: Path) -> None:
        self.context = browser.new_context(
            accept_downloads=True, viewport={"width": 1280, "height": 900}
        )
        self.page = self.context.new_page()
        self.base = base
        self.problems: list[str] = []
        self.sample_messages: list[str] = []
        self.downloads = downloads
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("dialog", self._dialog)
        self.page.on("console", self._console)

    def _dialog(self, dialog: Any) -> None:
        self.problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        if "/api/v1/" in (message.location or {}).get("url", ""):
            # Inside a debug sample (a sandboxed document): its blocked scripts and broken
            # images are the sandbox at work, recorded for the tests that look for them.
            self.sample_messages.append(message.text)
        else:
            self.problems.append(f"console error: {message.text}")

    def goto(self, path: str) -> Any:
        response = self.page.goto(self.base + path)
        assert response.status == 200, (path, response.status)
        return self.page


@pytest.fixture
def watched(browser: Any, site: dict[str, Any], tmp_path: Path) -> Iterator[Watched]:
    page = Watched(browser, site["base"], tmp_path)
    yield page
    page.context.close()
    assert page.problems == []


def demo_task_id(site: dict[str, Any]) -> str:
    body = httpx.get(
        site["base"] + "/api/v1/tasks", params={"project": "langchain_callback_demo"}
    ).json()
    return str(body["rows"][0]["task"]["id"])


def test_projects_lead_to_the_demo_task_and_its_totals(watched: Watched) -> None:
    page = watched.goto("/")
    page.get_by_role("link", name="langchain_callback_demo").click()
    row = page.locator("#tasks tbody tr").filter(has_text="llm")
    assert row.count() == 1
    cells = row.locator("td")
    llm_calls, tokens = int(cells.nth(7).inner_text()), int(cells.nth(8).inner_text())
    assert llm_calls >= 9
    assert tokens > 0
    assert "completed" in cells.nth(4).inner_text()
    row.get_by_role("link", name="llm").click()
    assert page.locator("h1.task-name").inner_text().startswith("llm")
    assert page.locator("#info-llm").inner_text().count(str(llm_calls)) >= 1


def test_every_tab_of_the_demo_task(watched: Watched, site: dict[str, Any]) -> None:
    task_id = demo_task_id(site)
    page = watched.goto(f"/tasks/{task_id}")
    expected = {
        "Info": "#info-fields",
        "Execution": "#execution-fields",
        "Configuration": "text=Hyperparameters",
        "Console": "#console",
        "Scalars": "#tab-scalars",
        "Tables": "#report-table",
        "Debug samples": "iframe.sample",
        "Artifacts & models": "article.model",
        "Threads": "#tab-threads p.empty",  # the page's scenarios name no thread
        "Trace": "#trace details",  # last: the trace is looked at below
    }
    for label, selector in expected.items():
        page.locator("nav.tabs").get_by_role("link", name=label, exact=True).click()
        assert page.locator("nav.tabs a.active").inner_text() == label
        assert page.locator(selector).first.is_visible(), label
    # The trace: the agent's run with its tool calls under it; a span opens to its input/output.
    agent = page.locator("#trace details").filter(has_text="AgentExecutor").first
    agent.locator("summary").click()
    assert "Who is the wife" in agent.locator(".span-input").inner_text()
    assert page.locator("#trace details.kind-tool").count() >= 1
    assert page.locator("#trace .bar").first.is_visible()


def test_scalars_are_drawn_with_plotly_from_the_server(
    watched: Watched, site: dict[str, Any]
) -> None:
    page = watched.goto(f"/tasks/{site['ids']['baseline']}?tab=scalars")
    chart = page.locator("#chart-0")
    chart.locator(".main-svg").first.wait_for()
    assert chart.get_attribute("data-drawn") == "true"
    assert "exact match" in chart.locator(".legend").text_content()
    assert page.locator("figcaption").first.inner_text().startswith("quality")


def test_tasks_table_filters_sorts_and_pages(watched: Watched) -> None:
    page = watched.goto("/tasks")
    total = int(page.locator("p.summary").inner_text().split()[0])
    assert total == 5  # the demo's two tasks (llm, agent with approval) and the SDK's three
    page.fill("input[name=q]", "wider")
    page.click("#filters button[type=submit]")
    assert page.locator("#tasks tbody tr").count() == 1
    assert "wider" in page.locator("#tasks tbody").inner_text()
    page = watched.goto("/tasks")
    page.check("input[name=status][value=completed]")
    page.fill("input[name=tag]", "sweep")
    page.click("#filters button[type=submit]")
    names = page.locator("#tasks tbody tr td:nth-child(3) a").all_inner_texts()
    assert sorted(names) == ["baseline", "wider"]
    page.get_by_role("link", name="Name").click()
    assert page.locator("#tasks tbody tr td:nth-child(3) a").all_inner_texts() == [
        "wider",
        "baseline",
    ]
    page.get_by_role("link", name="Name ▼").click()
    assert page.locator("#tasks tbody tr td:nth-child(3) a").all_inner_texts() == [
        "baseline",
        "wider",
    ]
    page.get_by_role("link", name="Tokens").click()
    first = page.locator("#tasks tbody tr").first.locator("td").nth(8).inner_text()
    assert first == "0"


def test_console_levels_search_and_download(watched: Watched, site: dict[str, Any]) -> None:
    page = watched.goto(f"/tasks/{site['ids']['baseline']}?tab=console")
    assert page.locator("#console tbody tr").count() == 4
    page.select_option("select[name=level]", "40")
    page.click("#console-filters button[type=submit]")
    assert page.locator("#console tbody").inner_text().count("failure in baseline") == 1
    assert page.locator("#console tbody tr").count() == 1
    page.select_option("select[name=level]", "0")
    page.fill("#console-filters input[name=q]", "STEP 1")
    page.click("#console-filters button[type=submit]")
    assert page.locator("#console tbody tr").count() == 1
    with page.expect_download() as download:
        page.click("#console-download")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert "INFO step 0 of baseline" in text
    assert "ERROR failure in baseline" in text


def test_tables_sort_and_download_csv(watched: Watched, site: dict[str, Any]) -> None:
    page = watched.goto(f"/tasks/{demo_task_id(site)}?tab=tables")
    page.locator("#table-list a").filter(has_text="Session Analysis / Agent with Tools").click()
    table = page.locator("#report-table")
    header = table.locator("thead th").all_inner_texts()
    assert "prompts" in header and "token_usage_total_tokens" in header
    table.locator("thead").get_by_role("link", name="token_usage_total_tokens").click()
    column = header.index("token_usage_total_tokens")
    shown = [
        page.locator("#report-table tbody tr").nth(i).locator("td").nth(column).inner_text()
        for i in range(page.locator("#report-table tbody tr").count())
    ]
    numbers = [float(v) for v in shown if v]
    assert numbers == sorted(numbers)
    with page.expect_download() as download:
        page.click("#table-csv")
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0].split(",")[: len(header)] == header[: len(lines[0].split(","))]


def test_debug_samples_slider_and_sandbox(watched: Watched, site: dict[str, Any]) -> None:
    page = watched.goto(f"/tasks/{site['ids']['xss']}?tab=debug")
    section = page.locator("section.samples").filter(has_text="html")
    frame = section.locator("iframe.sample")
    assert frame.get_attribute("sandbox") == ""
    last_src = frame.get_attribute("src")
    section.locator("input.iteration-slider").fill("0")
    assert section.locator("output.iteration-label").inner_text() == "0"
    assert section.locator("iframe.sample").get_attribute("src") != last_src
    inner = page.frame_locator("section.samples iframe.sample").first.locator("#inside")
    assert inner.inner_text() == "sample"
    page.wait_for_timeout(300)  # time for a script or an onerror in the sample to run
    assert page.evaluate("() => window.__xss") is None
    # The sample's script was there and the sandbox refused it (not merely absent).
    assert any("Blocked script execution" in m for m in watched.sample_messages)
    # A "javascript:" URL reported as a sample is shown as text, never as a link.
    link_section = page.locator("section.samples").filter(has_text="link / js")
    assert link_section.locator("a").count() == 0


def test_compare_two_tasks(watched: Watched, site: dict[str, Any]) -> None:
    page = watched.goto("/tasks?project=sdk")
    button = page.locator("#compare-button")
    assert button.is_disabled()
    for box in page.locator("input.pick").all():
        box.check()
    assert button.is_enabled()
    with page.expect_navigation():  # until the page has loaded (plotly.js is large)
        button.click()
    assert page.locator("h1").inner_text() == "Compare 2 tasks"
    params = page.locator("#compare-params")
    k_row = params.locator("tr").filter(has_text="General/retriever/k")
    assert k_row.locator("td").all_inner_texts() == ["8", "4"]
    same = params.locator("tr.same").filter(has_text="General/model")
    assert same.is_visible()
    page.check("#hide-identical")
    assert not same.is_visible()
    assert k_row.is_visible()
    page.locator("#chart-0 .main-svg").first.wait_for()
    legend = page.locator("#chart-0 .legend").text_content()
    assert "baseline" in legend and "wider" in legend
    sides = page.locator(".side-by-side .side")
    assert sides.count() == 2
    assert "wider" in sides.nth(0).locator("table").inner_text()


def test_untrusted_text_is_shown_as_text_and_never_runs(
    watched: Watched, site: dict[str, Any]
) -> None:
    xss_id = site["ids"]["xss"]
    tabs = (
        "info",
        "execution",
        "configuration",
        "console",
        "scalars",
        "tables",
        "debug",
        "artifacts",
        "trace",
    )
    paths = ["/", "/tasks", "/tasks?" + urlencode({"project": "xss/" + XSS})]
    paths += [f"/tasks/{xss_id}?tab={tab}" for tab in tabs]
    paths.append(f"/compare?ids={xss_id}&ids={site['ids']['baseline']}")
    for path in paths:
        page = watched.goto(path)
        if "tab=scalars" in path or "compare" in path:
            page.locator("#chart-0 .main-svg").first.wait_for()
        if "tab=trace" in path:
            for summary in page.locator("#trace summary").all():
                summary.click()
        page.wait_for_timeout(100)
        assert page.evaluate("() => window.__xss") is None, path
        assert page.locator("img[src=x]").count() == 0, path
        assert page.locator("script:not([src]):not([type='application/json'])").count() == 0
    page = watched.goto(f"/tasks/{xss_id}?tab=trace")
    page.locator("#trace summary").last.click()
    assert page.locator(".error-text").last.inner_text() == XSS
    assert page.locator(".span-output").last.inner_text() == "output " + XSS
    page = watched.goto(f"/tasks/{xss_id}?tab=info")
    assert page.locator("h1.task-name").inner_text().startswith("xss " + XSS)


def test_logging_levels_render_with_their_names(watched: Watched, site: dict[str, Any]) -> None:
    page = watched.goto(f"/tasks/{site['ids']['wider']}?tab=console")
    levels = page.locator("#console td.lvl").all_inner_texts()
    assert levels.count(logging.getLevelName(logging.ERROR)) == 1
    assert levels.count("INFO") == 3


def test_a_server_with_a_token_asks_for_it_once(
    browser: Any, site: dict[str, Any], tmp_path: Path
) -> None:
    env = {**site["env"], "CHAINTRACK_AUTH_TOKEN": "let me in"}
    server, base, log = start_ui(env, tmp_path / "locked.log")
    page = Watched(browser, base, tmp_path)
    try:
        page.page.goto(base + "/tasks?project=sdk")
        assert page.page.url.startswith(base + "/login?next=")
        page.page.fill("input[name=token]", "wrong")
        page.page.click("form.login button")
        assert page.page.get_by_role("alert").inner_text() == "That token is not the server's."
        page.page.fill("input[name=token]", "let me in")
        page.page.click("form.login button")
        assert page.page.url == base + "/tasks?project=sdk"
        assert page.page.locator("#tasks tbody tr").count() == 2
        page.page.get_by_role("link", name="baseline").click()
        page.page.locator("nav.tabs").get_by_role("link", name="Scalars").click()
        page.page.locator("#chart-0 .main-svg").first.wait_for()
        # The 401 of the wrong token is the page's only console error (Chromium logs it).
        assert [p for p in page.problems if "401" not in p] == []
    finally:
        page.context.close()
        server.terminate()
        server.wait(WAIT)
        log.close()
