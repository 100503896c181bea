"""Issue points 3, 4 and 5: a real `chaintrack server` refuses, with 400 and what was wrong,
every batch holding a value that would be lost or would break a read later; 200 means stored;
every answer (errors included) carries the security headers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fault_helpers import running_server

from chaintrack.store.records import SCALAR
from chaintrack.store.sql import SqlStore

T = "t" * 32
NEW_TASK = {
    "id": T, "project": "p", "name": "n", "type": "training", "status": "in_progress",
    "created": 1_000.0, "last_update": 1_000.0,
}  # fmt: skip


def event(**changes: Any) -> list[Any]:
    row: list[Any] = [T, 1, 1, "scalar", 1_000.0, "loss", "train", 0, 1.0, None, None, None]
    names = ["task", "writer", "seq", "kind", "ts", "metric", "variant", "iter", "value",
             "level", "text", "data"]  # fmt: skip
    for name, value in changes.items():
        row[names.index(name)] = value
    return row


BAD_BATCHES: list[tuple[str, Any, str]] = [
    ("tags not json", {"task_updates": [[T, {"tags": "not json"}]]}, "tags is not valid JSON"),
    ("system_tags", {"task_updates": [[T, {"system_tags": "oops"}]]}, "system_tags is not valid"),
    ("script", {"task_updates": [[T, {"script": "[1,2"}]]}, "script is not valid JSON"),
    ("created 1e308", {"task_updates": [[T, {"created": 1e308}]]}, "created=1e+308 is not a time"),
    ("created text", {"task_updates": [[T, {"created": "now"}]]}, "created must be a number"),
    ("status", {"task_updates": [[T, {"status": "exploded"}]]}, "'exploded' is not a status"),
    ("iteration 2**70", {"events": [event(iter=2**70)]}, "its iteration=1180591620717411303424"),
    ("seq 2**64", {"events": [event(seq=2**64)]}, "sequence number=18446744073709551616"),
    ("orphan", {"events": [event(task="u" * 32)]}, "which does not exist"),
    ("deep payload", {"events": [event(data="[" * 5_000 + "]" * 5_000)]}, "nests deeper"),
    ("payload not json", {"events": [event(data="{oops")]}, "its payload is not valid JSON"),
    ("long metric", {"events": [event(metric="m" * 600)]}, "longer than 512"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("bad-batches")
    with running_server(tmp, f"sqlite:///{tmp / 'server.db'}") as server:
        created = httpx.post(server.url + "/api/v1/batches", json={"new_tasks": [NEW_TASK]})
        assert created.status_code == 200
        yield server


def _assert_headers(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(("name", "batch", "message"), BAD_BATCHES, ids=[b[0] for b in BAD_BATCHES])
def test_a_bad_value_is_refused_with_400_saying_what(
    server: Any, name: str, batch: Any, message: str
) -> None:
    response = httpx.post(server.url + "/api/v1/batches", content=json.dumps(batch), timeout=30)
    assert response.status_code == 400, response.text
    assert message in response.json()["detail"]
    _assert_headers(response)
    # the task list still reads (nothing of the refused batch was stored)
    listing = httpx.get(server.url + "/api/v1/tasks", timeout=30)
    assert listing.status_code == 200
    assert listing.json()["rows"][0]["task"]["warnings"] == []


def test_an_event_with_time_nan_is_refused_not_dropped(server: Any) -> None:
    """Seed defect: `200 {"items": 1}` for an event whose time is NaN, and the event gone."""
    body = json.dumps({"events": [event(seq=99)]}).replace("1000.0", "NaN", 1)
    assert "NaN" in body
    response = httpx.post(server.url + "/api/v1/batches", content=body, timeout=30)
    assert response.status_code == 400
    assert "NaN is not JSON" in response.json()["detail"]


def test_json_nested_100000_levels_is_a_400(server: Any) -> None:
    body = "[" * 100_000 + "]" * 100_000
    response = httpx.post(server.url + "/api/v1/batches", content=body, timeout=30)
    assert response.status_code == 400
    assert "nests too deep" in response.json()["detail"]
    _assert_headers(response)


def test_200_means_stored(server: Any) -> None:
    rows = [event(seq=i, iter=i, value=float(i)) for i in range(10, 20)]
    rows.append(event(seq=20, value="NaN"))  # a diverged loss is a value, stored as NaN
    response = httpx.post(server.url + "/api/v1/batches", json={"events": rows}, timeout=30)
    assert response.status_code == 200
    assert response.json() == {"items": 11}
    stored = SqlStore(server.store).get_events(T, SCALAR)
    assert {10, 11, 19} <= {e.iter for e in stored}
    assert any(e.value != e.value for e in stored)  # NaN


@pytest.mark.parametrize(
    "uri",
    ["file:///tmp/a%00b", "file:///tmp/" + "n" * 5_000, "blob:" + "n" * 5_000, "blob:../../etc"],
)
def test_bad_blob_uris_are_400_not_500(server: Any, uri: str) -> None:
    response = httpx.get(server.url + "/api/v1/blob", params={"uri": uri}, timeout=30)
    assert response.status_code == 400, response.text
    _assert_headers(response)


def test_blob_keys_naming_a_folder_or_passing_through_a_file_are_400(server: Any) -> None:
    put = lambda key, data: httpx.put(f"{server.url}/api/v1/blobs/{key}", content=data)  # noqa: E731
    assert put("k/dir/file.txt", b"one").status_code == 200
    folder = put("k/dir", b"x")
    assert folder.status_code == 400
    assert "names a folder, passes through a file" in folder.json()["detail"]
    assert put("k/dir/file.txt/below", b"x").status_code == 400
    assert put("k/" + "n" * 5_000, b"x").status_code == 400


def test_blob_keys_are_written_once(server: Any, tmp_path: Path) -> None:
    """Seed weak spot: any token holder could overwrite any stored file."""
    url = f"{server.url}/api/v1/blobs/once/weights.bin"
    first = httpx.put(url, content=b"original")
    assert first.status_code == 200
    assert httpx.put(url, content=b"original").status_code == 200  # a retry: idempotent
    other = httpx.put(url, content=b"replaced")
    assert other.status_code == 409
    assert "already holds other bytes" in other.json()["detail"]
    read = httpx.get(server.url + "/api/v1/blob", params={"uri": first.json()["uri"]})
    assert read.content == b"original"
