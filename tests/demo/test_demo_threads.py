"""``chaintrack demo``'s third scenario: the agent as a LangGraph ``create_agent`` with a
person's approval (``interrupt()``, then ``Command(resume=...)``) on one thread."""

from __future__ import annotations

import pytest

from chaintrack import cli
from chaintrack.sdk.task import Task
from chaintrack.store import open_store


def test_the_demo_agent_pauses_for_approval_and_resumes_on_its_thread(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "Scenario 3: the agent as a LangGraph create_agent" in out
    assert "turn 1 paused for approval: {'action': 'send_answer'" in out
    assert "(Sent after approval.)" in out
    task_id = out.split("Stored task ")[-1].split(";")[0]
    task = Task.get_task(task_id=task_id)
    assert task.name == "agent with approval" and task.get_status() == "completed"
    threads = task.get_threads()
    assert list(threads["thread_id"]) == ["demo-approval-1"]
    assert int(threads["turns"].iloc[0]) == 2 and int(threads["interrupted"].iloc[0]) == 1
    turns = task.get_thread_turns("demo-approval-1")
    assert list(turns["status"]) == ["interrupted", "ok"]
    assert turns["resumes"].iloc[1] == turns["span_id"].iloc[0]
    assert turns["resume"].iloc[1] == '{"approved": true}'
    assert all(int(t) > 0 for t in turns["total_tokens"])
    spans = task.get_spans()
    tools = spans[spans["kind"] == "tool"]
    assert list(tools["name"]) == ["search", "search", "send_answer", "send_answer"]
    assert list(tools["status"]) == ["ok", "ok", "interrupted", "ok"]
    records = [r["action"] for r in task.get_reported_tables()["Action Records"].values()
               for r in r.to_dict("records")]  # fmt: skip
    assert "on_interrupt" in records and "on_resume" in records
    # The project's threads page lists the thread too.
    page = open_store().thread_page(project="langgraph_demo")
    assert [t.thread_id for t in page.threads] == ["demo-approval-1"]
