"""Feedback and costs over HTTP: the REST API (in-process), the SDK logging to a live tracking
server (which prices spans and re-prices tasks with its own table), the auth token, and the web
UI's pages and feedback form (costs shown, unknown as "unknown", the form's CSRF protection)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import genai_prices
import pytest
from server_helpers import Api, span, write_task
from test_rest_store import LiveServer

from chaintrack.server.app import create_app
from chaintrack.store.base import Store
from chaintrack.store.rest import RestStore

MINI = float(
    genai_prices.calc_price(
        genai_prices.Usage(input_tokens=1000, output_tokens=100), "gpt-4o-mini"
    ).total_price
)


def traced(store: Store, task_id: str = "t1", **task: object) -> None:
    write_task(store, task_id, spans=[
        span("root", None, "chain", 1000.0, 1003.0),
        span("call", "root", "chat_model", 1000.5, 1002.0, model_name="gpt-4o-mini",
             prompt_tokens=1000, completion_tokens=100, total_tokens=1100),
        span("house", "root", "llm", 1002.0, 1002.5, model_name="house-model-7b",
             prompt_tokens=10, completion_tokens=1, total_tokens=11),
    ], **task)  # type: ignore[arg-type]  # fmt: skip


def test_feedback_through_the_rest_api(api: Api, store: Store) -> None:
    traced(store)
    answer = api.post(
        "/api/v1/tasks/t1/feedback",
        json={
            "name": "helpful",
            "value": True,
            "span_id": "call",
            "comment": "good",
            "author": "bo",
        },
    )
    assert answer.status_code == 200, answer.text
    stored = answer.json()
    assert (stored["value"], stored["value_type"], stored["source"]) == (True, "bool", "api")
    api.post("/api/v1/tasks/t1/feedback", json={"name": "score", "value": 0.7,
                                                 "example_id": "ex-9"})  # fmt: skip
    listed = api.get("/api/v1/tasks/t1/feedback").json()
    assert [f["value"] for f in listed] == [True, 0.7]
    assert [f["name"] for f in api.get("/api/v1/feedback", params={"task": "t1"}).json()] == [
        "helpful", "score"]  # fmt: skip
    refused = {
        "no value": {"name": "x"},
        "a list": {"name": "x", "value": [1]},
        "unknown span": {"name": "x", "value": 1, "span_id": "nope"},
    }
    for what, body in refused.items():
        bad = api.post("/api/v1/tasks/t1/feedback", json=body)
        assert bad.status_code == 400, what
        assert "is not valid" in bad.json()["detail"], what
    assert api.post("/api/v1/tasks/t1/feedback", content=b"{").status_code == 400
    missing = api.post("/api/v1/tasks/nope/feedback", json={"name": "x", "value": 1})
    assert missing.status_code == 404
    assert len(api.get("/api/v1/tasks/t1/feedback").json()) == 2  # nothing refused was stored


def test_costs_through_the_rest_api(api: Api, store: Store) -> None:
    traced(store)
    traced(store, "t2", created=2000.0, name="other")
    page = api.get("/api/v1/tasks", params={"sort": "cost", "order": "desc"}).json()
    assert page["rows"][0]["stats"]["cost_usd"] == pytest.approx(MINI)
    assert page["rows"][0]["stats"]["price_source"] == f"genai-prices {genai_prices.__version__}"
    summary = api.get("/api/v1/tasks/t1/summary").json()
    assert summary["stats"]["cost_usd"] == pytest.approx(MINI)
    trace = {s["span"]["span_id"]: s["span"] for s in api.get("/api/v1/tasks/t1/trace").json()[
        "spans"]}  # fmt: skip
    assert trace["call"]["cost_usd"] == pytest.approx(MINI)
    assert trace["house"]["cost_usd"] is None
    assert api.get("/api/v1/tasks/t1/trace-costs").json() == {"root": pytest.approx(MINI)}
    costs = api.get("/api/v1/tasks/t1/span-costs").json()
    assert costs["house"] == [None, None]
    repriced = api.post("/api/v1/tasks/t1/reprice").json()
    assert (repriced["model_calls"], repriced["priced"], repriced["unknown"]) == (2, 1, 1)


def test_the_sdk_gives_feedback_and_reprices_through_a_live_server_with_a_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"models": {"house-model-7b": {"input_mtok": 1000}}}))
    server = LiveServer(tmp_path, auth_token="s3cret")
    try:
        traced(server.store)
        client = RestStore(server.url, token="s3cret")
        from chaintrack.store.feedback import make_feedback

        record = client.add_feedback(make_feedback("t1", "quality", 3, span_id="call"))
        assert record.value == 3.0 and record.source == "sdk"
        assert [f.value for f in client.get_feedback(["t1"])] == [3.0]
        assert [f.span_id for f in server.store.get_feedback(["t1"])] == ["call"]
        assert client.trace_costs("t1") == {"root": pytest.approx(MINI)}
        # The server prices with its own table: the client's CHAINTRACK_PRICES changes nothing.
        monkeypatch.setenv("CHAINTRACK_PRICES", str(prices))
        assert client.reprice_task("t1").unknown == 1
        anonymous = RestStore(server.url)
        with pytest.raises(Exception, match="auth token"):
            anonymous.add_feedback(make_feedback("t1", "quality", 1))
        assert len(server.store.get_feedback(["t1"])) == 1
        client.close()
        anonymous.close()
    finally:
        server.stop()


@pytest.fixture
def pages(store: Store) -> Iterator[Api]:
    client = Api(create_app(store), headers={"host": "127.0.0.1"})
    yield client
    client.close()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no feedback form on the page"
    return found.group(1)


def test_pages_show_costs_and_unknown_is_never_zero(pages: Api, store: Store) -> None:
    traced(store)
    write_task(store, "t3", name="unpriced", created=3000.0, spans=[
        span("r", None, "llm", 1.0, 2.0, model_name="house-model-7b", prompt_tokens=1,
             completion_tokens=1)])  # fmt: skip
    table = pages.get("/tasks", params={"sort": "cost"}).text
    assert "Cost (USD)" in table
    assert f"${MINI:.6f}".rstrip("0") in table and "unknown" in table
    info = pages.get("/tasks/t1").text
    assert re.search(r'id="task-cost">\$0\.000[0-9]+ <span class="muted">\(genai-prices', info)
    trace = pages.get("/tasks/t1", params={"tab": "trace"}).text
    assert "cost unknown (no price for this model)" in trace
    assert f"cost ${MINI:.6f}".rstrip("0") in trace


def test_the_feedback_form_stores_and_refuses_cross_site_posts(pages: Api, store: Store) -> None:
    traced(store)
    page = pages.get("/tasks/t1", params={"tab": "trace"})
    token = csrf_of(page.text)
    assert page.cookies.get("chaintrack_csrf") == token
    form = {"csrf": token, "span_id": "call", "name": "helpful", "thumb": "up",
            "comment": "<b>nice</b>", "next": "/tasks/t1?tab=trace"}  # fmt: skip
    posted = pages.post("/tasks/t1/feedback", data=form)
    assert posted.status_code == 303
    assert posted.headers["location"] == "/tasks/t1?tab=trace#span-call"
    refused = {
        "no token": {**form, "csrf": ""},
        "a wrong token": {**form, "csrf": "x" * 43},
    }
    for what, data in refused.items():
        answer = pages.post("/tasks/t1/feedback", data=data)
        assert answer.status_code == 403, what
    other_site = pages.post("/tasks/t1/feedback", data=form,
                            headers={"origin": "http://evil.example"})  # fmt: skip
    assert other_site.status_code == 403
    cross = pages.post("/tasks/t1/feedback", data=form, headers={"sec-fetch-site": "cross-site"})
    assert cross.status_code == 403
    no_value = pages.post("/tasks/t1/feedback", data={**form, "thumb": ""})
    assert no_value.status_code == 400 and "has no value" in no_value.text
    stored = store.get_feedback(["t1"])
    assert [(f.name, f.value, f.source, f.comment) for f in stored] == [
        ("helpful", True, "ui", "<b>nice</b>")]  # fmt: skip
    shown = pages.get("/tasks/t1", params={"tab": "trace"}).text
    assert "&lt;b&gt;nice&lt;/b&gt;" in shown and "<b>nice</b>" not in shown
    # An open redirect is not possible through "next".
    elsewhere = pages.post("/tasks/t1/feedback", data={**form, "next": "//evil.example/"})
    assert elsewhere.headers["location"].startswith("/#span-") or elsewhere.headers[
        "location"].startswith("/")  # fmt: skip
    assert "evil" not in elsewhere.headers["location"]


def test_with_a_token_the_form_needs_the_session_and_other_writes_the_bearer(
    store: Store,
) -> None:
    traced(store)
    client = Api(create_app(store, auth_token="tok"))
    try:
        assert client.post("/tasks/t1/feedback", data={"name": "x"}).status_code == 401
        signed = client.post("/login", data={"token": "tok", "next": "/"})
        assert signed.status_code == 303
        page = client.get("/tasks/t1", params={"tab": "trace"})
        assert page.status_code == 200
        form = {"csrf": csrf_of(page.text), "span_id": "root", "name": "q", "score": "4"}
        assert client.post("/tasks/t1/feedback", data=form).status_code == 303
        # The session cookie does not open the REST API's writes.
        api_write = client.post("/api/v1/tasks/t1/feedback", json={"name": "q", "value": 1})
        assert api_write.status_code == 401
        assert [f.value for f in store.get_feedback(["t1"])] == [4.0]
    finally:
        client.close()
