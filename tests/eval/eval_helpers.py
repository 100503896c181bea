"""Helpers of the evaluation tests: a tracking server on loopback (uvicorn in a thread over its
own SQLite store), stores per backend, and small real LangChain targets."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from chaintrack.server.app import create_app
from chaintrack.store.sql import SqlStore

WAIT = 60.0  # seconds: a bound for hangs only


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """``create_app`` served by uvicorn on a free port of 127.0.0.1."""

    def __init__(self, root: Path) -> None:
        self.store = SqlStore(f"sqlite:///{root / 'server' / 'tasks.db'}")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(self.store), host="127.0.0.1", port=self.port,
                                log_level="warning", lifespan="on")  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="test-uvicorn", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + WAIT
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "no server"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(WAIT)
        self.store.close()


def qa_rows(n: int = 6) -> list[dict[str, Any]]:
    """Arithmetic questions with their answers (ids given for half of them)."""
    rows: list[dict[str, Any]] = []
    for i in range(n):
        row: dict[str, Any] = {"inputs": {"question": f"{i} + {i}"}, "expected": str(2 * i),
                               "metadata": {"level": "easy" if i < 3 else "hard"}}  # fmt: skip
        if i % 2:
            row["id"] = f"q{i}"
        rows.append(row)
    return rows


def adder(inputs: dict[str, Any]) -> str:
    """A plain-function target: adds the question's numbers; fails on a question without."""
    left, _, right = inputs["question"].partition(" + ")
    return str(int(left) + int(right))
