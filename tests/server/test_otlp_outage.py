"""OTLP while the server's PostgreSQL database is away: the server answers 503 with
Retry-After (never 200 for spans it did not store), and the real OTLP exporter, retrying, gets
every span stored once the database is back."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult
from otlp_helpers import PROTOBUF, llm_trace, protobuf, record
from test_database_outage import _allow_connections

from chaintrack.otel.tasks import task_id_for
from chaintrack.store.records import SPAN
from chaintrack.store.sql import SqlStore
from loopback import free_port, wait_until_serving
from pgserver import PostgresServer


def test_a_database_outage_is_a_503_and_the_exporter_loses_nothing(
    postgres: PostgresServer, postgres_uri: str, tmp_path: Path
) -> None:
    database = postgres_uri.rsplit("/", 1)[1]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CHAINTRACK_HOME": str(tmp_path / "server-home")}
    env.pop("CHAINTRACK_AUTH_TOKEN", None)
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "chaintrack.cli", "server", "--store", postgres_uri,
             "--artifacts", str(tmp_path / "files"), "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    resource = {"chaintrack.project": "outage", "chaintrack.task": "otlp"}
    before = record(lambda t: [llm_trace(t, f"before {i}") for i in range(10)], **resource)
    during = record(lambda t: [llm_trace(t, f"during {i}") for i in range(10)], **resource)
    try:
        wait_until_serving(url, server, log_path)
        exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces", timeout=60)
        assert exporter.export(before) == SpanExportResult.SUCCESS
        _allow_connections(postgres, database, allow=False)
        try:
            answer = httpx.post(f"{url}/v1/traces", content=protobuf(during), headers=PROTOBUF,
                                timeout=60)  # fmt: skip
            assert answer.status_code == 503
            assert "Retry-After" in answer.headers
            assert b"database cannot be used" in answer.content
            back = threading.Timer(2.0, _allow_connections, (postgres, database, True))
            back.name = "database-back"
            back.start()
            started = time.monotonic()
            assert exporter.export(during) == SpanExportResult.SUCCESS
            assert time.monotonic() - started >= 1.5  # it waited for the database
            back.join(30)
        finally:
            _allow_connections(postgres, database, allow=True)
        exporter.shutdown()
    finally:
        server.terminate()
        server.wait(60)
    store = SqlStore(postgres_uri)
    try:
        spans = store.get_events(task_id_for("outage", "otlp"), SPAN)
    finally:
        store.close()
    ids = [s.data["span_id"] for s in spans]
    assert len(ids) == len(set(ids)) == 40
