"""Fixtures of the S3 tests: an S3-compatible server on 127.0.0.1 and the AWS settings to use it.

The server is moto's server mode: an emulator of the S3 API over real HTTP, not Amazon S3.
The AWS settings are fakes; boto3 never looks for credentials or an instance role elsewhere.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from loopback import free_port

_names = itertools.count()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The address of the S3 emulator, started once for the session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def aws_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_endpoint: str) -> None:
    """Fake credentials and region; no instance metadata, no ~/.aws; the emulator's address."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("CHAINTRACK_S3_ENDPOINT_URL", s3_endpoint)
    monkeypatch.delenv("CHAINTRACK_ARTIFACTS_URI", raising=False)
    monkeypatch.delenv("CHAINTRACK_SERVER_ARTIFACTS", raising=False)


@pytest.fixture
def s3(s3_endpoint: str, aws_env: None) -> Any:
    """A boto3 client of the emulator, to look at what chaintrack put there."""
    return boto3.client("s3", endpoint_url=s3_endpoint)


@pytest.fixture
def bucket(s3: Any) -> str:
    """A new, empty bucket."""
    name = f"chaintrack-test-{next(_names)}"
    s3.create_bucket(Bucket=name)
    return name
