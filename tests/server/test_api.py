"""The REST API, in-process over httpx: every read the UI makes, downloads, errors, schema."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import pytest
from server_helpers import Api, span, write_task

from chaintrack import Task
from chaintrack.store.base import Store


@pytest.fixture
def sdk_task() -> Task:
    task = Task.init(
        project_name="rag/eval", task_name="top-k", task_type="testing", tags=["nightly"]
    )
    task.connect({"retriever": {"k": 4}, "temperature": 0.1})
    task.connect_configuration({"prompt": "Answer from the context."}, name="prompt")
    task.set_user_properties(dataset="faq")
    logger = task.get_logger()
    for i in range(5):
        logger.report_scalar("quality", "exact match", i / 10, iteration=i)
    logger.report_single_value("questions", 250)
    logger.report_text("warming the cache")
    logger.report_text("retriever timed out", level=logging.ERROR)
    logger.report_table(
        "Session Analysis",
        "run 1",
        table_plot=[["prompt", "tokens"], ["b", 3], ["a", 10], ["c", 1]],
    )
    logger.report_media("answers", "html", iteration=1, stream="<b>hi</b>", file_extension="html")
    task.upload_artifact("failures", {"count": 2})
    task.close()
    return task


def test_tasks_table_with_filters_sorting_and_pagination(api: Api, store: Store) -> None:
    write_task(
        store,
        "a" * 32,
        name="alpha",
        tags=["x"],
        created=1.0,
        spans=[span("s1", None, "llm", 1, 2, total_tokens=50)],
    )
    write_task(store, "b" * 32, name="beta", tags=["x", "y"], status="failed", created=2.0)
    write_task(store, "c" * 32, name="gamma", project="other", created=3.0)
    body = api.get("/api/v1/tasks", params={"sort": "tokens", "limit": 2}).json()
    assert body["total"] == 3
    assert [r["task"]["name"] for r in body["rows"]] == ["alpha", "gamma"]
    assert body["rows"][0]["stats"]["total_tokens"] == 50
    assert body["rows"][0]["stats"]["llm_calls"] == 1
    page2 = api.get("/api/v1/tasks", params={"sort": "tokens", "limit": 2, "offset": 2}).json()
    assert [r["task"]["name"] for r in page2["rows"]] == ["beta"]
    tagged = api.get("/api/v1/tasks", params=[("tag", "x"), ("tag", "y")]).json()
    assert [r["task"]["name"] for r in tagged["rows"]] == ["beta"]
    failed = api.get("/api/v1/tasks", params={"status": "failed"}).json()
    assert [r["task"]["name"] for r in failed["rows"]] == ["beta"]
    text = api.get("/api/v1/tasks", params={"q": "AMM", "project": "other"}).json()
    assert [r["task"]["name"] for r in text["rows"]] == ["gamma"]


def test_bad_page_arguments_say_what_is_allowed(api: Api) -> None:
    response = api.get("/api/v1/tasks", params={"sort": "bogus"})
    assert response.status_code == 400
    assert "sort='bogus' is not valid: use one of created" in response.json()["detail"]
    assert api.get("/api/v1/tasks", params={"limit": 5000}).status_code == 422
    assert api.get("/api/v1/tasks", params={"order": "sideways"}).status_code == 422


def test_projects_and_task_reads(api: Api, sdk_task: Task) -> None:
    projects = api.get("/api/v1/projects").json()
    assert [(p["name"], p["tasks"], p["statuses"]) for p in projects] == [
        ("rag/eval", 1, {"completed": 1})
    ]
    task = api.get(f"/api/v1/tasks/{sdk_task.id}").json()
    assert (task["name"], task["type"], task["tags"]) == ("top-k", "testing", ["nightly"])
    params = {
        (p["section"], p["name"]): p["value"]
        for p in api.get(f"/api/v1/tasks/{sdk_task.id}/parameters").json()
    }
    assert params[("General", "retriever/k")] == "4"
    assert params[("properties", "dataset")] == '"faq"'  # stored as JSON, with its type
    configs = api.get(f"/api/v1/tasks/{sdk_task.id}/configurations").json()
    assert [c["name"] for c in configs] == ["prompt"]
    summary = api.get(f"/api/v1/tasks/{sdk_task.id}/summary").json()
    assert summary["event_counts"] == {"log": 2, "media": 1, "scalar": 6, "table": 1}
    found = api.get("/api/v1/tasks/search", params={"project": "rag/eval", "tag": "nightly"})
    assert [t["id"] for t in found.json()] == [sdk_task.id]


def test_console_page_search_levels_and_download(api: Api, sdk_task: Task) -> None:
    url = f"/api/v1/tasks/{sdk_task.id}/events/page"
    errors = api.get(url, params={"kind": "log", "min_level": 40}).json()
    assert [e["text"] for e in errors["events"]] == ["retriever timed out"]
    found = api.get(url, params={"kind": "log", "q": "CACHE"}).json()
    assert [e["text"] for e in found["events"]] == ["warming the cache"]
    text = api.get(f"/api/v1/tasks/{sdk_task.id}/console.txt")
    assert text.headers["content-disposition"].startswith("attachment;")
    lines = text.text.splitlines()
    assert lines[0].endswith(" INFO warming the cache")
    assert lines[1].endswith(" ERROR retriever timed out")


def test_scalars_series_and_single_values(api: Api, sdk_task: Task) -> None:
    series = api.get(f"/api/v1/tasks/{sdk_task.id}/scalars").json()
    assert series == [
        {
            "metric": "quality",
            "variant": "exact match",
            "count": 5,
            "iters": [0, 1, 2, 3, 4],
            "values": [0.0, 0.1, 0.2, 0.3, 0.4],
        }
    ]
    titles = api.get(f"/api/v1/tasks/{sdk_task.id}/series", params={"kind": "scalar"}).json()
    assert {(s["metric"], s["variant"]) for s in titles} == {
        ("quality", "exact match"),
        ("Summary", "questions"),
    }


def test_tables_sort_page_and_download_as_csv(api: Api, sdk_task: Task) -> None:
    url = f"/api/v1/tasks/{sdk_task.id}/table"
    params = {"metric": "Session Analysis", "variant": "run 1"}
    view = api.get(url, params={**params, "sort": "tokens", "order": "desc", "limit": 2}).json()
    assert view["columns"] == ["prompt", "tokens"]
    assert view["total_rows"] == 3
    assert view["rows"] == [["a", 10], ["b", 3]]
    rest = api.get(url, params={**params, "sort": "prompt", "offset": 2}).json()
    assert rest["rows"] == [["c", 1]]
    response = api.get(f"/api/v1/tasks/{sdk_task.id}/table.csv", params=params)
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert list(csv.reader(io.StringIO(response.text))) == [
        ["prompt", "tokens"],
        ["b", "3"],
        ["a", "10"],
        ["c", "1"],
    ]
    missing = api.get(url, params={**params, "report": 3})
    assert missing.status_code == 400
    assert "has no report 3" in missing.json()["detail"]


def test_trace_tree_and_span_totals(api: Api, store: Store) -> None:
    spans = [
        span("root", None, "chain", 10, 14),
        span(
            "llm",
            "root",
            "llm",
            11,
            12,
            prompt_tokens=7,
            completion_tokens=3,
            total_tokens=10,
            model_name="gpt-x",
        ),
        span("tool", "root", "tool", 12, 13, status="error", error="Timeout"),
    ]
    write_task(store, "t" * 32, spans=spans)
    trace = api.get(f"/api/v1/tasks/{'t' * 32}/trace").json()
    assert trace["total_roots"] == 1
    assert [(s["depth"], s["span"]["span_id"]) for s in trace["spans"]] == [
        (0, "root"),
        (1, "llm"),
        (1, "tool"),
    ]
    assert trace["spans"][2]["span"]["error"] == "Timeout"
    stats = api.get(f"/api/v1/tasks/{'t' * 32}/summary").json()["stats"]
    assert (stats["llm_calls"], stats["total_tokens"], stats["errors"]) == (1, 10, 1)


def test_compare_marks_identical_parameters(api: Api) -> None:
    first = Task.init(project_name="p", task_name="one")
    first.connect({"k": 4, "model": "m"})
    first.close()
    second = Task.init(project_name="p", task_name="two")
    second.connect({"k": 8, "model": "m"})
    second.close()
    view = api.get("/api/v1/compare", params={"ids": f"{first.id},{second.id}"}).json()
    rows = {r["name"]: (r["values"], r["identical"]) for r in view["parameters"]}
    assert rows["General/k"] == (["4", "8"], False)
    assert rows["General/model"] == (["m", "m"], True)
    one = api.get("/api/v1/compare", params={"ids": first.id})
    assert one.status_code == 400
    assert "compare needs 2 to 100 distinct task ids" in one.json()["detail"]


def test_artifact_and_sample_downloads_are_sandboxed(api: Api, sdk_task: Task) -> None:
    response = api.get(f"/api/v1/tasks/{sdk_task.id}/artifact", params={"name": "failures"})
    assert response.status_code == 200
    assert response.json() == {"count": 2}
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-security-policy"].startswith("sandbox;")
    sample = api.get(f"/api/v1/tasks/{sdk_task.id}/events/page", params={"kind": "media"}).json()[
        "events"
    ][0]["data"]
    shown = api.get(
        "/api/v1/blob", params={"uri": sample["uri"], "inline": "true", "filename": "sample.html"}
    )
    assert shown.text == "<b>hi</b>"
    assert shown.headers["content-type"].startswith("text/html")
    assert shown.headers["content-disposition"].startswith("inline")
    assert "sandbox" in shown.headers["content-security-policy"]
    assert (
        api.get(f"/api/v1/tasks/{sdk_task.id}/artifact", params={"name": "nope"}).status_code == 404
    )


@pytest.mark.parametrize(
    "uri",
    [
        "file:///etc/passwd",
        "blob:../../etc/passwd",
        "blob:/etc/passwd",
        "blob:a/../../x",
        "http://example.com/x",
        "file:///{root}/../chaintrack.db",
    ],
)
def test_downloads_cannot_leave_the_store(api: Api, store: Store, uri: str) -> None:
    root = Path(store.blobs.uri_for("x")[len("file://") :]).parent
    response = api.get("/api/v1/blob", params={"uri": uri.replace("/{root}", str(root))})
    assert response.status_code in (400, 404)
    assert "detail" in response.json()


def test_unknown_task_is_404_in_the_api_and_the_ui(api: Api) -> None:
    response = api.get("/api/v1/tasks/nope")
    assert response.status_code == 404
    assert response.json() == {"detail": "no task with id 'nope' in " + _uri(api)}
    page = api.get("/tasks/nope")
    assert page.status_code == 404
    assert "no task with id" in page.text
    assert page.headers["content-type"].startswith("text/html")


def _uri(api: Api) -> str:
    return api.app.state.store.display_uri  # type: ignore[no-any-return]


def test_the_openapi_schema_covers_what_the_ui_shows(api: Api) -> None:
    schema = api.get("/api/v1/openapi.json").json()
    paths = set(schema["paths"])
    assert {
        "/api/v1/projects",
        "/api/v1/tasks",
        "/api/v1/tasks/{task_id}",
        "/api/v1/tasks/{task_id}/summary",
        "/api/v1/tasks/{task_id}/parameters",
        "/api/v1/tasks/{task_id}/configurations",
        "/api/v1/tasks/{task_id}/events/page",
        "/api/v1/tasks/{task_id}/console.txt",
        "/api/v1/tasks/{task_id}/scalars",
        "/api/v1/tasks/{task_id}/table",
        "/api/v1/tasks/{task_id}/table.csv",
        "/api/v1/tasks/{task_id}/artifacts",
        "/api/v1/tasks/{task_id}/models",
        "/api/v1/tasks/{task_id}/artifact",
        "/api/v1/tasks/{task_id}/trace",
        "/api/v1/compare",
        "/api/v1/blob",
        "/api/v1/batches",
        "/api/v1/blobs/{key}",
    } <= paths
    page = schema["paths"]["/api/v1/tasks"]["get"]["responses"]["200"]["content"]
    assert page["application/json"]["schema"] == {"$ref": "#/components/schemas/TaskPage"}
    assert "TaskStats" in schema["components"]["schemas"]
