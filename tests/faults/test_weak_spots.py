"""Issue point 9 against a real `chaintrack server` process: UI sessions expire, are ended by
signing out and by changing the token; CSV downloads never hand a spreadsheet a formula."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import httpx
import pytest
from fault_helpers import ServerProcess, running_server

from chaintrack import Task

TOKEN = "s3cret-token"


def _sign_in(url: str, token: str = TOKEN) -> str:
    answer = httpx.post(url + "/login", data={"token": token, "next": "/"})
    assert answer.status_code == 303
    cookie = answer.cookies["chaintrack_session"]
    assert TOKEN not in cookie
    return cookie


def _page(url: str, cookie: str) -> int:
    return httpx.get(url + "/", cookies={"chaintrack_session": cookie}).status_code


def test_signing_out_ends_the_session_even_for_a_kept_copy(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'server.db'}"
    with running_server(tmp_path, store, "--auth-token", TOKEN) as server:
        cookie = _sign_in(server.url)
        assert _page(server.url, cookie) == 200
        out = httpx.get(server.url + "/logout", cookies={"chaintrack_session": cookie})
        assert out.status_code == 303
        assert _page(server.url, cookie) == 303  # back to the sign-in page


def test_sessions_expire(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'server.db'}"
    with running_server(tmp_path, store, "--auth-token", TOKEN,
                        CHAINTRACK_SESSION_HOURS="0.0005") as server:  # fmt: skip
        cookie = _sign_in(server.url)
        assert _page(server.url, cookie) == 200
        time.sleep(2.5)
        assert _page(server.url, cookie) == 303


def test_changing_the_token_ends_every_session(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'server.db'}"
    server = ServerProcess(tmp_path, store).start("--auth-token", TOKEN)
    try:
        cookie = _sign_in(server.url)
        assert _page(server.url, cookie) == 200
    finally:
        server.stop()
    server = ServerProcess(tmp_path, store, port=server.port).start("--auth-token", "rotated")
    try:
        assert _page(server.url, cookie) == 303
        assert _page(server.url, _sign_in(server.url, "rotated")) == 200
    finally:
        server.stop()


def test_csv_cells_are_never_formulas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with running_server(tmp_path, f"sqlite:///{tmp_path / 'server.db'}") as server:
        monkeypatch.setenv("CHAINTRACK_TRACKING_URI", server.url)
        task = Task.init(project_name="csv", task_name="injection")
        rows = [["=cmd|' /C calc'!A0", 1.5], ["+SUM(A1)", -2], ["-1+2", 3], ["@x", 4],
                ["\tTAB", 5], ["\rCR", 6], ["plain", 7]]  # fmt: skip
        task.get_logger().report_table("t", "v", iteration=0, table_plot=[["cell", "n"], *rows])
        task.close()
        answer = httpx.get(f"{server.url}/api/v1/tasks/{task.id}/table.csv",
                           params={"metric": "t", "variant": "v"}, timeout=30)  # fmt: skip
    assert answer.status_code == 200
    cells = list(csv.reader(io.StringIO(answer.text)))
    firsts = [row[0] for row in cells[1:]]
    assert firsts == ["'=cmd|' /C calc'!A0", "'+SUM(A1)", "'-1+2", "'@x", "'\tTAB", "'\rCR",
                      "plain"]  # fmt: skip
    assert [row[1] for row in cells[1:]][:2] == ["1.5", "-2"]  # numbers stay numbers
