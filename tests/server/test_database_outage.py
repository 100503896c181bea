"""The server's PostgreSQL database goes away for a while (a restart, a failover) while a client
logs through a real `chaintrack server` process: the server answers 503, so the client keeps its
events and sends them when the database is back; nothing is lost or set aside as failed.

The outage is made with the database's own switch (``ALLOW_CONNECTIONS false`` and ending its
sessions), which works on the throwaway cluster and on a server named by
CHAINTRACK_TEST_POSTGRES_URI alike."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
import pytest

from chaintrack import Task
from chaintrack.store.records import SCALAR
from chaintrack.store.sql import SqlStore
from loopback import free_port, until, wait_until_serving
from pgserver import PostgresServer


def _allow_connections(postgres: PostgresServer, database: str, allow: bool) -> None:
    with psycopg.connect(postgres.admin_uri, autocommit=True, connect_timeout=10) as conn:
        switch = f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allow).lower()}'
        conn.execute(switch)  # type: ignore[arg-type]
        if not allow:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            )


def test_a_database_outage_is_a_503_and_clients_lose_nothing(
    postgres: PostgresServer,
    postgres_uri: str,
    tmp_path: Path,
    chaintrack_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
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
    try:
        wait_until_serving(url, server, log_path)
        monkeypatch.setenv("CHAINTRACK_TRACKING_URI", url)
        caplog.set_level(logging.WARNING, logger="chaintrack")
        task = Task.init(project_name="outage", task_name="database away")
        logger = task.get_logger()
        for i in range(100):
            logger.report_scalar("loss", "train", float(i), iteration=i)
        assert task.flush(wait_for_uploads=True)

        assert httpx.get(f"{url}/api/v1/ready", timeout=30).status_code == 200
        _allow_connections(postgres, database, allow=False)
        try:
            # the process answers, but is not ready: what a load balancer should look at
            assert httpx.get(f"{url}/api/v1/health", timeout=30).status_code == 200
            not_ready = httpx.get(f"{url}/api/v1/ready", timeout=30)
            assert not_ready.status_code == 503
            assert not_ready.json()["status"] == "unavailable"
            answer = httpx.get(f"{url}/api/v1/tasks/{task.id}/summary", timeout=30)
            assert answer.status_code == 503
            assert answer.json()["detail"] == (
                "the server's database cannot be used for now; retry shortly"
            )
            assert "Retry-After" in answer.headers
            for i in range(100, 200):
                logger.report_scalar("loss", "train", float(i), iteration=i)
            until(lambda: "is unreachable" in caplog.text, "the client to wait for it")
        finally:
            _allow_connections(postgres, database, allow=True)
        task.close()
    finally:
        server.terminate()
        server.wait(60)

    assert "is reachable again" in caplog.text
    assert "could not be stored" not in caplog.text  # nothing set aside as unstorable
    assert not list((chaintrack_home / "spool").glob("*.failed"))
    store = SqlStore(postgres_uri)
    try:
        iterations = sorted(e.iter for e in store.get_events(task.id, SCALAR))
        assert iterations == list(range(200))
        assert store.get_task(task.id).status == "completed"
    finally:
        store.close()
