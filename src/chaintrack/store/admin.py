"""Looking after a SQL store's schema from the command line (``chaintrack db``): which revision
it is at, and upgrading it to the newest one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import NullPool

from chaintrack.errors import ConfigurationError, StoreError, missing_dependency
from chaintrack.store import migrate
from chaintrack.store.schema import HEAD_REVISION
from chaintrack.store.sql import SqlStore


@dataclass(frozen=True)
class Revision:
    """Where a store's schema is: ``current`` is None for an empty database."""

    uri: str
    current: str | None
    head: str = HEAD_REVISION

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def store_uri(target: str) -> str:
    """A SQL store's URI from what a user typed: a URI, or the path of a SQLite file."""
    if "://" in target:
        scheme = target.split(":", 1)[0].lower()
        if not scheme.startswith(("sqlite", "postgresql")):
            raise ConfigurationError(
                f"{scheme!r} is not a database chaintrack manages: give a SQLite file "
                "(path or sqlite:///path) or postgresql://user:password@host/database"
            )
        return target
    return f"sqlite:///{Path(target).expanduser().resolve()}"


def revision(target: str) -> Revision:
    """The schema revision of the store at ``target``; the store is left untouched."""
    try:
        url = make_url(store_uri(target))
    except ArgumentError as exc:
        raise ConfigurationError(f"{target!r} is not a valid database URI: {exc}") from None
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "").expanduser()
        if not path.is_file():
            raise StoreError(f"there is no store at {path}: no such file")
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    try:
        engine = create_engine(url, poolclass=NullPool)
    except ModuleNotFoundError as exc:
        raise missing_dependency(exc.name or "psycopg", "postgres", "A PostgreSQL store") from None
    try:
        return Revision(migrate.display_uri(engine), migrate.current_revision(engine))
    finally:
        engine.dispose()


def upgrade(target: str) -> tuple[Revision, Revision]:
    """Upgrade the store at ``target`` to the newest revision (creating the schema in an empty
    database); the revisions before and after."""
    before = revision(target)
    if before.up_to_date:
        return before, before
    store = SqlStore(store_uri(target))
    store.close()
    return before, revision(target)
