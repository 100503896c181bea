"""Issue point 3: a stored row that cannot be decoded (written straight into the database, not
through the server) never breaks a read: every page and API read that shows it answers 200,
with a warning naming the field, instead of a 500 or a reset connection."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from fault_helpers import running_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
from server_helpers import write_task

from chaintrack.server.app import create_app
from chaintrack.store.sql import SqlStore

A, B, C = "a" * 32, "b" * 32, "c" * 32


def test_undecodable_rows_are_shown_with_a_warning(tmp_path: Path) -> None:
    db = tmp_path / "server.db"
    store = SqlStore(f"sqlite:///{db}", blob_root=tmp_path / "files")
    for task_id in (A, B, C):
        write_task(store, task_id, name=f"task {task_id[0]}")
    store.close()
    with sqlite3.connect(db) as conn:  # what a hand edit or another program could leave
        conn.execute("UPDATE tasks SET tags = 'not json', script = '[1,2' WHERE id = ?", (A,))
        conn.execute("UPDATE tasks SET created = 1e308 WHERE id = ?", (B,))
        conn.execute("UPDATE tasks SET created = 'yesterday', system_tags = 'oops' WHERE id = ?",
                     (C,))  # fmt: skip
    with running_server(tmp_path, f"sqlite:///{db}") as server:
        get = lambda path: httpx.get(server.url + path, timeout=30)  # noqa: E731
        page = get("/tasks")
        assert page.status_code == 200
        assert "stored values could not be read: tags could not be read" in page.text
        api = get("/api/v1/tasks")
        assert api.status_code == 200
        warnings = {r["task"]["id"]: r["task"]["warnings"] for r in api.json()["rows"]}
        assert warnings[A] == ["tags could not be read ('not json')",
                               "script could not be read ('[1,2')"]  # fmt: skip
        assert warnings[B] == ["created is not a time (1e+308)"]
        assert "system_tags could not be read ('oops')" in warnings[C]
        search = get("/api/v1/tasks/search")
        assert search.status_code == 200
        assert len(search.json()) == 3
        for task_id in (A, B, C):
            shown = get(f"/tasks/{task_id}")
            assert shown.status_code == 200
            assert 'id="task-warnings"' in shown.text
            assert get(f"/api/v1/tasks/{task_id}").status_code == 200
        assert get("/").status_code == 200


class _Broken:
    """A store whose reads raise an error nobody expected (a bug, not a fault chaintrack
    handles): the server's last resort answers for it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def find_tasks(self, *_: Any) -> Any:
        raise RuntimeError("unexpected")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.parametrize("path", ["/api/v1/tasks/search", "/api/v1/ready"])
def test_even_a_500_carries_the_security_headers(tmp_path: Path, path: str) -> None:
    from server_helpers import Api

    store = SqlStore(f"sqlite:///{tmp_path / 'x.db'}", blob_root=tmp_path / "files")
    api = Api(create_app(_Broken(store)))
    try:
        response = api.get(path)
        if path.endswith("ready"):
            assert response.status_code == 503  # the readiness check says so itself
        else:
            assert response.status_code == 500
            assert response.json()["detail"].startswith("the server hit an internal error")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        assert "content-security-policy" in response.headers
    finally:
        api.close()
        store.close()
