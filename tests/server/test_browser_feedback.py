"""Costs and feedback in a real browser: Debian's headless Chromium (Playwright) against
``chaintrack ui`` run as a real process with an auth token. A person signs in, sorts the tasks
table by cost, opens a span of the trace view, gives it a thumbs up with a comment and a score,
and sees them there; the comment's markup stays text."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from test_browser import CHROMIUM, CHROMIUM_ARGS, WAIT, run_python, start_ui

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[dev]'")
TOKEN = "browser-s3cret"

MAKE = """
import json, time
from chaintrack import Task
ids = {}
for name, model, tokens in (("cheap", "gpt-4o-mini", 1000), ("dear", "gpt-4o", 50000),
                            ("house", "house-model-7b", 1000)):
    task = Task.init(project_name="costs", task_name=name)
    now = time.time()
    log = task.get_logger()
    log._report_span({"span_id": name + "-root", "parent_id": None, "kind": "chain",
                      "name": "answer", "start_time": now, "end_time": now + 2})
    log._report_span({"span_id": name + "-call", "parent_id": name + "-root",
                      "kind": "chat_model", "name": "model call", "start_time": now + 0.5,
                      "end_time": now + 1.5, "model_name": model, "prompt_tokens": tokens,
                      "completion_tokens": 100, "total_tokens": tokens + 100})
    task.close()
    ids[name] = task.id
print(json.dumps(ids))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("browser-feedback") / "home"
    env = {**os.environ, "CHAINTRACK_HOME": str(home), "CHAINTRACK_AUTO_CONNECT_STREAMS": "0",
           "CHAINTRACK_AUTH_TOKEN": TOKEN}  # fmt: skip
    for variable in ("CHAINTRACK_TRACKING_URI", "CHAINTRACK_PRICES"):
        env.pop(variable, None)
    ids = json.loads(run_python(home, MAKE).strip().splitlines()[-1])
    server, base, log = start_ui(env, home.parent / "ui.log")
    try:
        yield {"base": base, "ids": ids, "home": home}
    finally:
        server.terminate()
        server.wait(WAIT)
        log.close()


@pytest.fixture
def page(site: dict[str, Any]) -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("dialog", lambda d: (problems.append(d.message), d.dismiss()))
        page.goto(site["base"] + "/tasks?project=costs")
        page.fill("input[name=token]", TOKEN)  # the sign-in page
        page.locator("form button[type=submit]").click()
        page.wait_for_url("**/tasks?project=costs")
        yield page
        assert problems == []
        browser.close()


def test_the_tasks_table_sorts_by_cost_with_unknown_last(page: Any) -> None:
    page.get_by_role("link", name="Cost (USD)").click()  # most expensive first
    page.wait_for_url("**sort=cost**")
    names = page.locator("#tasks tbody tr td:nth-child(3) a").all_inner_texts()
    costs = page.locator("#tasks tbody tr td.cost").all_inner_texts()
    assert names == ["dear", "cheap", "house"]
    assert costs[0].startswith("$") and costs[1].startswith("$")
    assert costs[2] == "unknown"
    page.get_by_role("link", name="Cost (USD) ▼").click()  # cheapest first, unknown still last
    names = page.locator("#tasks tbody tr td:nth-child(3) a").all_inner_texts()
    assert names == ["cheap", "dear", "house"]


def test_a_person_gives_feedback_on_a_span_of_the_trace(page: Any, site: dict[str, Any]) -> None:
    task_id = site["ids"]["cheap"]
    page.goto(f"{site['base']}/tasks/{task_id}?tab=trace")
    call = page.locator("#span-cheap-call")
    call.locator("summary").click()
    assert call.locator(".cost").inner_text().startswith("$0.000")
    form = call.locator("form.feedback-form")
    form.locator("input[name=comment]").fill("<img src=x onerror=alert(1)> right answer")
    form.locator("input[name=author]").fill("ana")
    form.get_by_role("button", name="👍").click()
    page.wait_for_url(f"**/tasks/{task_id}?tab=trace#span-cheap-call")
    call = page.locator("#span-cheap-call")
    call.locator("summary").click()
    items = call.locator(".feedback-list li")
    assert items.count() == 1
    text = items.first.inner_text()
    assert "quality" in text and "👍 up" in text and "— ana" in text
    assert "<img src=x onerror=alert(1)> right answer" in text  # shown as text, not run
    form = call.locator("form.feedback-form")
    form.locator("input[name=name]").fill("accuracy")
    form.locator("input[name=score]").fill("0.75")
    form.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/tasks/{task_id}?tab=trace#span-cheap-call")
    page.locator("#span-cheap-call summary").click()
    texts = page.locator("#span-cheap-call .feedback-list li").all_inner_texts()
    assert any("accuracy" in t and "0.75" in t for t in texts)
    # What the browser gave is what the API serves.
    given = page.request.get(f"{site['base']}/api/v1/tasks/{task_id}/feedback",
                             headers={"Authorization": f"Bearer {TOKEN}"}).json()  # fmt: skip
    assert [(f["name"], f["value"], f["source"], f["span_id"]) for f in given] == [
        ("quality", True, "ui", "cheap-call"), ("accuracy", 0.75, "ui", "cheap-call")]  # fmt: skip


def test_the_trace_view_shows_an_unknown_cost_as_unknown(page: Any, site: dict[str, Any]) -> None:
    page.goto(f"{site['base']}/tasks/{site['ids']['house']}?tab=trace")
    call = page.locator("#span-house-call")
    assert call.locator(".cost").inner_text() == "unknown"
    call.locator("summary").click()
    assert "cost unknown" in call.locator(".span-detail p.muted").inner_text()
    page.goto(f"{site['base']}/tasks/{site['ids']['house']}")
    assert page.locator("#task-cost").inner_text() == "unknown"


def test_pages_with_feedback_forms_keep_the_strict_content_security_policy(page: Any) -> None:
    # The feedback forms are plain HTML forms: the page's CSP (no inline script) still holds.
    csp = page.request.get(page.url).headers["content-security-policy"]
    assert "script-src 'self'" in csp and "form-action 'self'" in csp
