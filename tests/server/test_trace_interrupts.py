"""The Trace tab shows a LangGraph interrupt as paused (not failed), and the run's thread."""

from __future__ import annotations

from server_helpers import Api, span, write_task

from chaintrack.store.base import Store


def test_an_interrupted_node_is_shown_paused_not_failed(api: Api, store: Store) -> None:
    spans = [
        span("root", None, "chain", 10.0, 12.0, thread_id="conv-1", trace_id="root"),
        span(
            "ask",
            "root",
            "chain",
            10.5,
            11.5,
            status="interrupted",
            thread_id="conv-1",
            trace_id="root",
            langgraph_node="ask",
            langgraph_step=1,
            checkpoint_ns="ask:1",
            output='[{"question": "Send?"}]',
        ),
    ]
    write_task(store, "p" * 32, spans=spans)
    page = api.get(f"/tasks/{'p' * 32}?tab=trace").text
    assert 'class="status status-paused"' in page and ">paused<" in page
    assert "status-failed" not in page and " failed" not in page
    assert "thread conv-1" in page
    assert "node ask, step 1, namespace ask:1" in page
    summary = api.get("/api/v1/tasks/" + "p" * 32 + "/summary").json()
    assert summary["stats"]["errors"] == 0
