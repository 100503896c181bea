"""Pages rendered in-process: pagination of the tasks table and the console, the tabs' content.
(The browser tests click through the same pages in Chromium.)"""

from __future__ import annotations

import logging
import re

from server_helpers import Api, span, write_task

from chaintrack import Task
from chaintrack.store.base import Store


def rows(html: str) -> int:
    body = html.split('<table class="grid" id="tasks">', 1)[1].split("</tbody>", 1)[0]
    return body.count('<input type="checkbox" name="ids"')


def test_the_tasks_table_pages_by_fifty(api: Api, store: Store) -> None:
    for i in range(55):
        write_task(store, f"{i:032x}", name=f"task {i}", created=float(i))
    first = api.get("/tasks").text
    assert rows(first) == 50
    assert "page 1 of 2" in first
    assert 'href="/tasks?page=2" rel="next"' in first
    second = api.get("/tasks?page=2").text
    assert rows(second) == 5
    assert "task 0<" in second  # the oldest, last
    assert 'rel="prev"' in second


def test_the_console_pages_by_two_hundred_and_filters(api: Api) -> None:
    task = Task.init(project_name="p", task_name="chatty")
    logger = task.get_logger()
    for i in range(450):
        logger.report_text(
            f"line {i}", level=logging.ERROR if i % 100 == 0 else logging.INFO, print_console=False
        )
    task.close()
    page = api.get(f"/tasks/{task.id}?tab=console&page=3").text
    assert "450 lines" in page
    assert "page 3 of 3" in page
    assert len(re.findall(r'<tr class="level-', page)) == 50
    errors = api.get(f"/tasks/{task.id}?tab=console&level=40").text
    assert len(re.findall(r'<tr class="level-40"', errors)) == 5
    newest = api.get(f"/tasks/{task.id}?tab=console&order=desc").text
    assert newest.index("line 449") < newest.index("line 448")


def test_the_trace_tab_shows_the_run_tree_with_its_numbers(api: Api, store: Store) -> None:
    spans = [
        span("root", None, "chain", 10.0, 12.0),
        span(
            "call",
            "root",
            "llm",
            10.5,
            11.5,
            prompt_tokens=30,
            completion_tokens=12,
            total_tokens=42,
            model_name="gpt-x",
        ),
        span("tool", "root", "tool", 11.5, 12.0, status="error", error="ToolException: down"),
    ]
    write_task(store, "t" * 32, spans=spans)
    page = api.get(f"/tasks/{'t' * 32}?tab=trace").text
    assert "1 root run<" in page
    assert "2000 ms" in page and "1000 ms" in page
    assert "42 tok" in page
    assert "prompt 30 / completion 12 / total 42 tokens" in page
    assert "ToolException: down" in page
    # The LLM call's bar starts a quarter into its root's run and lasts half of it.
    assert 'style="margin-left: 25.0%; width: 50.0%"' in page
    assert 'style="padding-left: 1.2em"' in page


def test_an_unknown_tab_is_a_clear_400(api: Api, store: Store) -> None:
    write_task(store, "u" * 32)
    page = api.get(f"/tasks/{'u' * 32}?tab=nope")
    assert page.status_code == 400
    assert "tab=&#39;nope&#39; is not valid: use one of info, execution" in page.text
