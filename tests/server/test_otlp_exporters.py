"""The real OpenTelemetry exporters (OTLP/HTTP protobuf and OTLP/gRPC) sending to a real
`chaintrack server` process, including while the server restarts: every span stored once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcExporter,
)
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpExporter,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from otlp_helpers import llm_trace, record

from chaintrack.otel.tasks import task_id_for
from chaintrack.store.records import SPAN
from chaintrack.store.sql import SqlStore
from loopback import free_port, port_is_free, until, wait_until_serving

TOKEN = "exporter-token"


class Server:
    """`chaintrack server` with OTLP/gRPC on, as a child process that can be restarted."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.db = f"sqlite:///{tmp_path / 'tasks.db'}"
        self.port, self.grpc_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = self.tmp_path / f"server-{self.starts}.log"
        env = {**os.environ, "CHAINTRACK_HOME": str(self.tmp_path / "server-home"),
               "CHAINTRACK_AUTH_TOKEN": TOKEN}  # fmt: skip
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "chaintrack.cli", "server", "--store", self.db,
                 "--port", str(self.port), "--otlp-grpc-port", str(self.grpc_port)],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_until_serving(self.url, self.process, log)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(60)
            self.process = None
            until(lambda: port_is_free(self.port), "the port to be released")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path)
    running.start()
    yield running
    running.stop()


def _exporter(server: Server, transport: str) -> Any:
    if transport == "grpc":
        return GrpcExporter(endpoint=f"127.0.0.1:{server.grpc_port}", insecure=True,
                            headers={"authorization": f"Bearer {TOKEN}"}, timeout=60)  # fmt: skip
    return HttpExporter(endpoint=f"{server.url}/v1/traces", compression=Compression.Gzip,
                        headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)  # fmt: skip


def _batch(n: int, project: str) -> list[ReadableSpan]:
    return record(lambda t: [llm_trace(t, f"q{i}") for i in range(n)],
                  **{"chaintrack.project": project, "chaintrack.task": "load"})  # fmt: skip


def _stored(server: Server, project: str) -> list[Any]:
    store = SqlStore(server.db)
    try:
        return store.get_events(task_id_for(project, "load"), SPAN)
    finally:
        store.close()


@pytest.mark.parametrize("transport", ["http-protobuf", "grpc"])
def test_the_real_exporter_stores_every_span_once_across_a_restart(
    server: Server, transport: str
) -> None:
    exporter = _exporter(server, transport)
    first, second = _batch(50, transport), _batch(50, transport)
    assert exporter.export(first) == SpanExportResult.SUCCESS
    assert len(_stored(server, transport)) == 100  # stored when answered, not later

    server.stop()
    restarter = threading.Thread(target=lambda: (time.sleep(1.5), server.start()),
                                 name="restart-server")  # fmt: skip
    restarter.start()
    try:
        # The exporter meets a closed port, backs off and retries until the server is back.
        assert exporter.export(second) == SpanExportResult.SUCCESS
    finally:
        restarter.join(120)
    # An exporter that never heard an answer sends the same spans again: stored once.
    assert exporter.export(first) == SpanExportResult.SUCCESS
    exporter.shutdown()

    stored = _stored(server, transport)
    ids = [e.data["span_id"] for e in stored]
    assert len(ids) == len(set(ids)) == 200
    expected = {format(s.context.span_id, "016x") for s in first + second}
    assert set(ids) == expected


def test_grpc_needs_the_token(server: Server) -> None:
    exporter = GrpcExporter(endpoint=f"127.0.0.1:{server.grpc_port}", insecure=True,
                            headers={"authorization": "Bearer wrong"}, timeout=10)  # fmt: skip
    assert exporter.export(_batch(1, "refused")) == SpanExportResult.FAILURE
    exporter.shutdown()
    assert _stored(server, "refused") == []
