"""Helpers of the fault tests: a real `chaintrack server` process, and a chaintrack child."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from loopback import free_port, wait_until_serving

SRC = str(Path(__file__).resolve().parents[2] / "src")


def child_env(home: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "CHAINTRACK_HOME": str(home), "PYTHONPATH": SRC}
    for name in ("CHAINTRACK_TRACKING_URI", "CHAINTRACK_AUTH_TOKEN"):
        env.pop(name, None)
    env["CHAINTRACK_AUTO_CONNECT_STREAMS"] = "0"
    env.update(extra)
    return env


class ServerProcess:
    """`chaintrack server` in a process of its own, on a free port of 127.0.0.1."""

    def __init__(self, tmp: Path, store: str, port: int | None = None, **env: str) -> None:
        self.tmp = tmp
        self.store = store
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = child_env(tmp / "server-home", **env)
        self.log = tmp / f"server-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *options: str) -> ServerProcess:
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "chaintrack.cli", "server", "--store", self.store,
                 "--artifacts", str(self.tmp / "files"), "--port", str(self.port), *options],
                env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_until_serving(self.url, self.process, self.log)
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(60)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(60)


@contextmanager
def running_server(tmp: Path, store: str, *options: str, **env: str) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp, store, **env).start(*options)
    try:
        yield server
    finally:
        server.stop()
