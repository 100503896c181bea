"""The Threads view in a real browser: Debian's headless Chromium (Playwright) against
``chaintrack ui`` run as a real process, over a store that a real LangGraph graph wrote: a
thread whose id and prompt carry markup, paused on ``interrupt()`` and resumed. A person opens
the project's threads, the thread, then a turn's trace; the markup stays text."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from test_browser import CHROMIUM, CHROMIUM_ARGS, WAIT, XSS, run_python, start_ui

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[dev]'")
THREAD = "conv <img src=x onerror=\"window.__xss='thread'\"> #1"

MAKE = """
import json
from typing import TypedDict
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from chaintrack.langchain import ClearMLCallbackHandler

class State(TypedDict):
    draft: str
    approved: str

def ask(state):
    return {{"approved": str(interrupt({{"question": "Send this?", "draft": state["draft"]}}))}}

builder = StateGraph(State)
builder.add_node("ask", ask)
builder.add_edge(START, "ask")
builder.add_edge("ask", END)
graph = builder.compile(checkpointer=InMemorySaver())
handler = ClearMLCallbackHandler(project_name="chat <b>app</b>", task_name="graph")
config = {{"configurable": {{"thread_id": {thread!r}}}, "callbacks": [handler]}}
graph.invoke({{"draft": {xss!r}, "approved": ""}}, config)
graph.invoke(Command(resume="yes <i>please</i>"), config)
handler.flush_tracker(finish=True)
print(json.dumps({{"task": handler.task.id}}))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("browser-threads") / "home"
    env = {**os.environ, "CHAINTRACK_HOME": str(home), "CHAINTRACK_AUTO_CONNECT_STREAMS": "0"}
    for variable in ("CHAINTRACK_TRACKING_URI", "CHAINTRACK_AUTH_TOKEN"):
        env.pop(variable, None)
    made = run_python(home, MAKE.format(thread=THREAD, xss=XSS))
    ids = json.loads(made.strip().splitlines()[-1])
    server, base, log = start_ui(env, home.parent / "ui.log")
    try:
        yield {"base": base, **ids}
    finally:
        server.terminate()
        server.wait(WAIT)
        log.close()


@pytest.fixture
def page(site: dict[str, Any]) -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("dialog", lambda d: (problems.append(d.message), d.dismiss()))
        yield page
        assert page.evaluate("window.__xss") is None
        assert problems == []
        browser.close()


def test_a_person_follows_a_thread_from_the_project_to_a_turns_trace(
    page: Any, site: dict[str, Any]
) -> None:
    page.goto(site["base"] + "/")
    page.locator("a.threads-link").click()
    page.wait_for_url("**/threads?project=*")
    assert page.locator("h1").inner_text() == "Threads of chat <b>app</b>"
    link = page.locator("#threads a.thread-link")
    assert link.inner_text() == THREAD  # the markup is text
    row = page.locator("#threads tr.thread")
    assert "1 paused" in row.inner_text()
    link.click()
    page.wait_for_url("**thread=*")
    assert page.locator(".thread-id").inner_text() == THREAD
    turns = page.locator("#turns tr.turn")
    assert turns.count() == 2
    first, second = turns.nth(0), turns.nth(1)
    assert first.locator(".status").inner_text() == "paused"
    assert "<script>window.__xss='script'</script>" in first.locator(".turn-input").inner_text()
    assert second.locator(".status").inner_text() == "ok"
    assert second.locator(".resume-value").inner_text() == "yes <i>please</i>"
    assert " ms" in second.locator("td").nth(4).inner_text()
    second.locator("a.trace-link").click()
    page.wait_for_url(f"**/tasks/{site['task']}?tab=trace&page=1#span-*")
    resumed = page.locator("details.root").nth(1)
    note = resumed.locator(".resume-note")
    assert note.inner_text() == "resumes the paused run with yes <i>please</i>"
    paused = page.locator("details.root").nth(0)
    assert paused.locator(".status-paused").inner_text() == "paused"
    assert note.locator("a").get_attribute("href") == "#" + str(paused.get_attribute("id"))


def test_the_threads_tab_of_the_task(page: Any, site: dict[str, Any]) -> None:
    page.goto(f"{site['base']}/tasks/{site['task']}")
    page.locator("a.tab[data-tab=threads]").click()
    page.wait_for_url("**tab=threads")
    assert page.locator("#threads a.thread-link").inner_text() == THREAD
    page.locator("#threads a.thread-link").click()
    assert page.locator("#turns tr.turn").count() == 2
    page.locator("#all-threads").click()
    assert page.locator("#threads tr.thread").count() == 1
