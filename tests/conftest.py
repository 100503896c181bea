"""Fixtures shared by every test: an isolated store per test, and a clean process state; a
throwaway PostgreSQL server for the tests that run on both SQL backends (see ``pgserver.py``)."""

from __future__ import annotations

import gc
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

import pgserver
from fresh import release_stores
from pgserver import PostgresServer, PostgresUnavailable

# A test case's time depends on the machine's load (CI shares two cores with PostgreSQL and a
# browser): Hypothesis' per-example deadline would make such tests flaky, not stricter.
settings.register_profile("chaintrack", deadline=None)
settings.load_profile("chaintrack")


@pytest.fixture(autouse=True)
def chaintrack_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own embedded store under a temporary CHAINTRACK_HOME."""
    home = tmp_path / "chaintrack-home"
    monkeypatch.setenv("CHAINTRACK_HOME", str(home))
    monkeypatch.delenv("CHAINTRACK_TRACKING_URI", raising=False)
    monkeypatch.delenv("CHAINTRACK_QUEUE_SIZE", raising=False)
    monkeypatch.delenv("CHAINTRACK_SPOOL_DIR", raising=False)
    monkeypatch.setenv("CHAINTRACK_AUTO_CONNECT_STREAMS", "0")
    yield home
    release_stores()


@pytest.fixture(scope="session")
def _postgres_session() -> Iterator[PostgresServer | PostgresUnavailable]:
    try:
        server = pgserver.connect()
    except PostgresUnavailable as exc:
        yield exc
        return
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres(
    _postgres_session: PostgresServer | PostgresUnavailable,
) -> Iterator[PostgresServer]:
    """The session's PostgreSQL server; the test skips, saying why, when there is none. Set
    CHAINTRACK_TEST_POSTGRES_URI to use an existing server (see ``tests/pgserver.py``).

    A connection the test left open is collected at its own teardown, so psycopg's
    "deleted while still open" warning fails the test that leaked it, not a later one."""
    if isinstance(_postgres_session, PostgresUnavailable):
        pytest.skip(f"PostgreSQL is not available: {_postgres_session}")
    yield _postgres_session
    gc.collect()


@pytest.fixture
def postgres_uri(postgres: PostgresServer) -> Iterator[str]:
    """The URI of a new, empty database of its own for this test."""
    with postgres.database() as uri:
        yield uri
        release_stores()  # before the database is dropped


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes URIs of new, empty databases of one SQL backend (a test runs on each)."""
    made: list[str] = []
    numbers = itertools.count()
    server = request.getfixturevalue("postgres") if request.param == "postgresql" else None

    def make() -> str:
        if server is None:
            return f"sqlite:///{tmp_path / f'store-{next(numbers)}.db'}"
        made.append(server.create_database())
        return server.uri(made[-1])

    yield make
    release_stores()  # before the databases are dropped
    for name in made:
        server.drop_database(name)  # type: ignore[union-attr]


@pytest.fixture
def store_uri(new_database: Callable[[], str]) -> str:
    """A URI of a new store of each SQL backend (an empty SQLite file path, an empty database)."""
    return new_database()
