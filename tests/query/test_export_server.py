"""Export through a tracking server: `chaintrack export` and `chaintrack.export` with
CHAINTRACK_TRACKING_URI naming a `chaintrack server` process on loopback, which streams the rows
(``GET /api/v1/export``, NDJSON) for the client to write as Parquet, CSV or JSON Lines. The files
are read back with pyarrow and pandas and compared with an export straight from the database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
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
from chaintrack.store.records import SCALAR, SPAN, WriteBatch
from chaintrack.store.sql import SqlStore

TASKS, SPANS = make_spans(seed=11, count=300)
#: More spans than one chunk of the server's reads and of the client's writes (5,000).
BIG = 12_345
TOKEN = "export-token"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _big_task(store: SqlStore) -> None:
    events = []
    for i in range(BIG):
        span = {"span_id": f"big{i}", "kind": "llm", "name": "call", "start_time": NOW + i,
                "end_time": NOW + i + 0.5, "latency_ms": 500.0, "status": "ok",
                "input": f"question {i}", "output": f"answer {i}", "total_tokens": i,
                "model_name": "gpt-4o"}  # fmt: skip
        events.append(("task0", 9, i + 1, SPAN, NOW + i, None, None, None, None, None, None,
                       json.dumps(span)))  # fmt: skip
    events += [("task1", 5, i, SCALAR, NOW + i, "loss", "train", i, 1.0 / (i + 1), None, None,
                None) for i in range(10)]  # fmt: skip
    store.write(WriteBatch(events=events))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A `chaintrack server` process over a SQLite store holding the test data."""
    folder = tmp_path_factory.mktemp("export-server")
    uri = f"sqlite:///{folder / 'server.db'}"
    store = SqlStore(uri)
    load(store, TASKS, SPANS)
    _big_task(store)
    store.close()
    port = _free_port()
    env = {**os.environ, "CHAINTRACK_HOME": str(folder / "server-home"),
           "CHAINTRACK_AUTH_TOKEN": TOKEN}  # fmt: skip
    env.pop("CHAINTRACK_TRACKING_URI", None)
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "chaintrack.cli", "server", "--store", uri, "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert process.poll() is None, (folder / "server.log").read_text()
        assert time.monotonic() < deadline, "chaintrack server did not start"
        time.sleep(0.1)
    try:
        yield {"url": url, "db": uri}
    finally:
        process.terminate()
        process.wait(60)
        log.close()


@pytest.fixture
def remote(server: dict[str, Any], chaintrack_home: Path,
           monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:  # fmt: skip
    monkeypatch.setenv("CHAINTRACK_TRACKING_URI", server["url"])
    monkeypatch.setenv("CHAINTRACK_AUTH_TOKEN", TOKEN)
    return server


def _local_export(server: dict[str, Any], target: Path, **kw: Any) -> int:
    from chaintrack.query import export as exporting

    store = SqlStore(server["db"])
    try:
        with store._read_engine.connect() as conn:
            return exporting.export(conn, target, **kw)
    finally:
        store.close()


def test_cli_export_through_the_server_streams_a_typed_parquet_file(
    remote: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "spans.parquet"
    assert cli.main(["export", "--project", "alpha", "--what", "spans", "--output",
                     str(target)]) == 0  # fmt: skip
    err = capsys.readouterr().err
    expected = sum(s["task_id"] in ("task0", "task3") for s in SPANS) + BIG
    assert f"{expected} spans rows written" in err
    assert "export spans" in err and "rows" in err  # the progress bar (tqdm, on stderr)
    table = pq.read_table(target)
    assert table.num_rows == expected
    assert str(table.schema.field("start_time").type) == "timestamp[us, tz=UTC]"
    assert str(table.schema.field("total_tokens").type) == "int64"
    assert str(table.schema.field("latency_ms").type) == "double"
    # The same rows, values and order as an export read straight from the server's database.
    direct = tmp_path / "direct.parquet"
    assert _local_export(remote, direct, what="spans", project="alpha") == expected
    assert table.equals(pq.read_table(direct))


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_sdk_export_through_the_server_by_query_and_by_task(
    remote: dict[str, Any], tmp_path: Path, fmt: str
) -> None:
    target = tmp_path / f"slow.{fmt}"
    count = chaintrack.export(target, what="spans", query="latency_ms > 2000 and kind = llm")
    expected = sorted(s["span_id"] for s in SPANS if s["kind"] == "llm"
                      and s["latency_ms"] is not None and s["latency_ms"] > 2000)  # fmt: skip
    frame = pd.read_csv(target) if fmt == "csv" else pd.read_json(target, lines=True)
    assert count == len(expected) and sorted(frame["span_id"]) == expected
    scalars = tmp_path / f"scalars.{fmt}"
    assert chaintrack.export(scalars, what="scalars", tasks=["task1"]) == 10
    frame = (
        pd.read_csv(scalars)
        if fmt == "csv"
        else pd.read_json(scalars, lines=True, precise_float=True)
    )
    assert list(frame["value"]) == [1.0 / (i + 1) for i in range(10)]


def test_a_bad_query_through_the_server_names_its_position_and_makes_no_file(
    remote: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "bad.parquet"
    with pytest.raises(InvalidArgumentError, match="position 6"):
        chaintrack.export(target, query="kind == llm")
    assert not target.exists()
    assert cli.main(["export", "--query", "colour = red", "--output", str(target)]) == 1
    assert "Allowed fields" in capsys.readouterr().err
    assert not target.exists()


def test_the_export_endpoint_streams_ndjson_in_chunks(remote: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.stream("GET", remote["url"] + "/api/v1/export", headers=headers,
                      params={"what": "spans", "task": "task0"}) as response:  # fmt: skip
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        assert "content-length" not in response.headers  # sent as it is read
        lines = [line for line in response.iter_lines() if line]
    header = json.loads(lines[0])
    assert header["what"] == "spans" and header["columns"][:2] == ["task_id", "span_id"]
    assert len(lines) - 1 == sum(s["task_id"] == "task0" for s in SPANS) + BIG
    nothing = httpx.get(remote["url"] + "/api/v1/export", headers=headers)
    assert nothing.status_code == 400 and "export what?" in nothing.json()["detail"]
    unauthorised = httpx.get(remote["url"] + "/api/v1/export", params={"task": "task0"})
    assert unauthorised.status_code == 401


def test_search_spans_through_the_server_pages_past_the_largest_page(
    remote: dict[str, Any],
) -> None:
    """``limit`` above the server's largest page (1,000) is met by reading pages in turn."""
    frame = chaintrack.search_spans("kind = llm", limit=2_500)
    assert len(frame) == 2_500 and frame["span_id"].is_unique
    starts = list(frame["start_time"])
    assert starts == sorted(starts, reverse=True)
    assert frame["task_id"].iloc[0] == "task0"  # the big task's spans are the newest
    slow = chaintrack.search_spans("kind = llm", limit=3, sort="-total_tokens")
    assert list(slow["total_tokens"]) == [BIG - 1, BIG - 2, BIG - 3]


def test_project_stats_and_a_bad_query_through_the_server(remote: dict[str, Any]) -> None:
    stats = chaintrack.project_stats("alpha", start=NOW - 31 * 86400, end=NOW + BIG + 1)
    expected = sum(s["task_id"] in ("task0", "task3") for s in SPANS) + BIG
    assert stats["totals"]["calls"] == expected
    assert stats["bucket"] == "day"
    with pytest.raises(InvalidArgumentError, match="position 5"):
        chaintrack.search_spans("kind is llm")
