"""Fixtures of the server tests: the app over a temporary store, driven in-process by httpx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from server_helpers import Api

from chaintrack.server.app import create_app
from chaintrack.store import open_store
from chaintrack.store.base import Store


@pytest.fixture
def store() -> Store:
    return open_store()


@pytest.fixture
def api(store: Store) -> Iterator[Api]:
    client = Api(create_app(store))
    yield client
    client.close()
