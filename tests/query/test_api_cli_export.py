"""Span search, dashboards and export through the REST API, the SDK and the CLI, on a real
store; export files are read back with pandas and pyarrow."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pyarrow.parquet as pq
import pytest
from search_data import NOW, load, make_spans

import chaintrack
from chaintrack import cli
from chaintrack.errors import InvalidArgumentError
from chaintrack.query.nodes import QueryError
from chaintrack.server.app import create_app
from chaintrack.store import open_store
from chaintrack.store.evalrecords import DatasetRecord, ExampleRecord, ResultRecord
from chaintrack.store.records import LOG, SCALAR, TABLE, WriteBatch
from chaintrack.store.sql import SqlStore

TASKS, SPANS = make_spans(seed=3, count=120)


@pytest.fixture
def store(chaintrack_home: Path) -> SqlStore:
    s = open_store()
    assert isinstance(s, SqlStore)
    load(s, TASKS, SPANS)
    events = [("task0", 5, i, SCALAR, NOW + i, "loss", "train", i, 1.0 / (i + 1), None, None,
               None) for i in range(10)]  # fmt: skip
    events += [("task0", 5, 100 + i, LOG, NOW + i, None, None, None, None, 20, f"line {i}",
                None) for i in range(3)]  # fmt: skip
    table = {"columns": ["action", "step"], "rows": [["on_llm_start", 1], ["on_llm_end", 2]]}
    events.append(("task0", 5, 200, TABLE, NOW, "Action Records", "run", 0, None, None, None,
                   json.dumps(table)))  # fmt: skip
    s.write(WriteBatch(events=events))  # type: ignore[arg-type]
    return s


class Client:
    def __init__(self, store: SqlStore) -> None:
        self.app = create_app(store)
        self.loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                        base_url="http://testserver")  # fmt: skip

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.client.request(method, url, **kw))

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()
        self.app.state.ingest.close()


@pytest.fixture
def api(store: SqlStore) -> Iterator[Client]:
    client = Client(store)
    yield client
    client.close()


def test_api_pages_spans_and_answers_400_for_a_bad_query(api: Client) -> None:
    ok = api.request("GET", "/api/v1/spans", params={"q": "kind = llm", "limit": 5})
    assert ok.status_code == 200
    body = ok.json()
    assert [r["kind"] for r in body["rows"]] == ["llm"] * 5 and body["has_more"]
    second = api.request("GET", "/api/v1/spans", params={"q": "kind = llm", "limit": 5,
                                                          "offset": 5}).json()  # fmt: skip
    assert not {r["span_id"] for r in second["rows"]} & {r["span_id"] for r in body["rows"]}
    bad = api.request("GET", "/api/v1/spans", params={"q": "kind == llm"})
    assert bad.status_code == 400
    assert "position 6" in bad.json()["detail"]
    unknown = api.request("GET", "/api/v1/spans", params={"q": "colour = red"})
    assert unknown.status_code == 400 and "Allowed fields" in unknown.json()["detail"]
    sort = api.request("GET", "/api/v1/spans", params={"q": "", "sort": "drop table"})
    assert sort.status_code == 400


def test_api_stats_and_saved_searches(api: Client) -> None:
    stats = api.request("GET", "/api/v1/stats", params={"project": "alpha", "start": NOW - 31 *
                                                         86400, "end": NOW + 1}).json()  # fmt: skip
    assert stats["totals"]["calls"] == sum(1 for s in SPANS if s["task_id"] in ("task0", "task3"))
    saved = api.request(
        "POST",
        "/api/v1/saved-searches",
        json={"project": "alpha", "name": "slow", "query": "latency_ms > 2000"},
    )
    assert saved.status_code == 200
    assert (
        api.request(
            "POST",
            "/api/v1/saved-searches",
            json={"project": "alpha", "name": "bad", "query": "latency_ms >"},
        ).status_code
        == 400
    )
    listed = api.request("GET", "/api/v1/saved-searches", params={"project": "alpha"}).json()
    assert [(s["name"], s["query"]) for s in listed] == [("slow", "latency_ms > 2000")]


def test_ui_pages_show_results_errors_and_the_dashboard(api: Client) -> None:
    page = api.request("GET", "/search", params={"q": 'output ~ "<script>"'})
    assert page.status_code == 200 and '<script>"' not in page.text
    found = api.request("GET", "/search", params={"q": "kind = tool", "project": "beta"})
    assert "/search/trace?task=task1&amp;span=" in found.text or (
        "/search/trace?task=task4&amp;span=" in found.text
    )
    bad = api.request("GET", "/search", params={"q": "kind ="})
    assert bad.status_code == 400 and "expected a value" in bad.text
    dash = api.request("GET", "/dashboard", params={"project": "alpha", "range": "30d"})
    assert dash.status_code == 200 and 'id="dashboard-data"' in dash.text
    assert "/static/plotly.min.js" in dash.text


def test_sdk_search_spans_returns_a_dataframe(store: SqlStore) -> None:
    frame = chaintrack.search_spans("kind = chat_model and latency_ms > 1000", limit=2000)
    expected = {s["span_id"] for s in SPANS if s["kind"] == "chat_model"
                and s["latency_ms"] is not None and s["latency_ms"] > 1000}  # fmt: skip
    assert set(frame["span_id"]) == expected
    assert {"task_id", "input", "output", "start_time"} <= set(frame.columns)
    assert str(frame["start_time"].dtype) == "datetime64[ns, UTC]"
    assert len(chaintrack.search_spans("", limit=7)) == 7
    assert set(chaintrack.search_spans("", project_name="beta")["task_id"]) == {"task1", "task4"}
    with pytest.raises(QueryError, match="position 5"):
        chaintrack.search_spans("kind is llm")
    with pytest.raises(InvalidArgumentError):
        chaintrack.search_spans("", limit=0)


def test_sdk_project_stats(store: SqlStore) -> None:
    stats = chaintrack.project_stats("beta", start=NOW - 31 * 86400, end=NOW + 1)
    assert stats["totals"]["calls"] == sum(1 for s in SPANS if s["task_id"] in ("task1", "task4"))


def test_cli_spans_prints_and_writes_files(
    store: SqlStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["spans", "kind = retriever", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("task_id,span_id")
    assert out.count("\n") - 1 == sum(s["kind"] == "retriever" for s in SPANS)
    target = tmp_path / "r.parquet"
    assert cli.main(["spans", "kind = retriever", "-f", "parquet", "-o", str(target)]) == 0
    assert len(pd.read_parquet(target)) == sum(s["kind"] == "retriever" for s in SPANS)
    assert cli.main(["spans", "latency_ms ~ 5"]) == 1
    assert "position 11" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_export_spans_reads_back_with_types(store: SqlStore, tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"spans.{fmt}"
    assert cli.main(["export", "--project", "alpha", "--what", "spans", "--format", fmt,
                     "--output", str(target), "--quiet"]) == 0  # fmt: skip
    mine = [s for s in SPANS if s["task_id"] in ("task0", "task3")]
    if fmt == "parquet":
        table = pq.read_table(target)
        assert str(table.schema.field("start_time").type) == "timestamp[us, tz=UTC]"
        assert str(table.schema.field("total_tokens").type) == "int64"
        frame = table.to_pandas()
    elif fmt == "csv":
        frame = pd.read_csv(target)
    else:
        frame = pd.read_json(target, lines=True)
    assert sorted(frame["span_id"]) == sorted(s["span_id"] for s in mine)
    by_id = {s["span_id"]: s for s in mine}
    for row in frame.itertuples():
        assert row.kind == by_id[row.span_id]["kind"]


def test_export_scalars_console_records_and_results(store: SqlStore, tmp_path: Path) -> None:
    assert chaintrack.export(tmp_path / "s.parquet", what="scalars", tasks=["task0"]) == 10
    frame = pd.read_parquet(tmp_path / "s.parquet")
    assert list(frame["value"]) == [1.0 / (i + 1) for i in range(10)]
    assert chaintrack.export(tmp_path / "c.jsonl", what="console", tasks=["task0"]) == 3
    assert chaintrack.export(tmp_path / "r.csv", what="records", tasks=["task0"]) == 2
    records = pd.read_csv(tmp_path / "r.csv")
    assert json.loads(records["record"][0]) == {"action": "on_llm_start", "step": 1}
    by_query = chaintrack.export(tmp_path / "q.csv", what="scalars", query='task = "run 0"')
    assert by_query == 10
    store.put_dataset(DatasetRecord(id="d1", project="alpha", name="qa", version="1",
                                    status="draft", created=NOW))  # fmt: skip
    store.add_dataset_rows("d1", [ExampleRecord("ex0", 0, '{"q": "2+2"}', '"4"')])
    store.write_results([
        ResultRecord(task_id="task0", example_id="ex0", repetition=r, dataset_id="d1",
                     position=0, created=NOW + r, output=json.dumps(str(4 + r)),
                     scores=json.dumps({"exact": {"value": float(r == 0)}}), latency_ms=12.5)
        for r in (1, 0)])  # fmt: skip
    assert chaintrack.export(tmp_path / "x.parquet", what="results", tasks=["task0"]) == 2
    results = pd.read_parquet(tmp_path / "x.parquet")
    assert list(results["repetition"]) == [0, 1]
    assert list(results["experiment"]) == ["run 0", "run 0"]
    assert json.loads(results["inputs"][0]) == {"q": "2+2"}
    assert [json.loads(v) for v in results["output"]] == ["4", "5"]
    assert [json.loads(v)["exact"]["value"] for v in results["scores"]] == [1.0, 0.0]
    assert chaintrack.export(tmp_path / "none.csv", what="results", tasks=["task1"]) == 0
    assert cli.main(["export", "--output", str(tmp_path / "y.csv")]) == 1
