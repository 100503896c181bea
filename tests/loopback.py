"""Helpers of tests that run servers on 127.0.0.1: a free port, whether a port is released,
waiting for a condition, and waiting for a `chaintrack server` process to answer."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

WAIT = 120.0  # seconds: a bound for hangs only


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether a server could listen on ``port`` of 127.0.0.1 now (as uvicorn binds it, with
    SO_REUSEADDR: connections closing on that port do not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Return once the server at ``url`` answers its health check; fail with its log if the
    process ends first."""

    def healthy() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            return httpx.get(url + "/api/v1/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    until(healthy, "the server to start")
