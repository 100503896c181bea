"""Schema creation, upgrades and the version check, run when a store is opened.

Opening a store costs two queries when its schema is current (the table names and the
revision); Alembic is imported only when a store must be upgraded.

A database chaintrack cannot use is refused with a :class:`StoreCorruptError` or a
:class:`StoreVersionError` whose message says what to do; no SQLAlchemy error escapes from here.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    inspect,
    text,
)
from sqlalchemy.exc import DBAPIError

from chaintrack.errors import StoreCorruptError, StoreError, StoreVersionError
from chaintrack.store.schema import HEAD_REVISION, KNOWN_REVISIONS, metadata

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

#: The tables of the first revision. Later revisions may add tables but keep these two, so a
#: database with an unknown revision and without them is another application's, not a store
#: written by a newer chaintrack.
_CORE_TABLES = frozenset({"tasks", "events"})
_HEAD_TABLES = frozenset(metadata.tables)

_MOVE_ASIDE = (
    "Move the file aside (chaintrack then creates a new store) or restore a backup, or point "
    "CHAINTRACK_TRACKING_URI / CHAINTRACK_HOME somewhere else."
)


def alembic_config(connection: Connection | None = None) -> object:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _is_locked(exc: DBAPIError) -> bool:
    message = str(exc.orig).lower()
    return "locked" in message or "busy" in message


def _unreadable(engine: Engine, exc: DBAPIError) -> StoreError:
    if engine.dialect.name != "sqlite":
        return StoreError(
            f"cannot use the store at {_where(engine)}: {exc.orig}. Check that the database "
            "server is running and that CHAINTRACK_TRACKING_URI names it, with the right user "
            "and password."
        )
    if _is_locked(exc):
        return StoreError(
            f"the store at {_where(engine)} stayed locked by another process: {exc.orig}. "
            "Wait for the process that holds it to finish, then try again."
        )
    return StoreCorruptError(
        f"cannot read the store at {_where(engine)}: {exc.orig}. The file is damaged or is not "
        f"a database. {_MOVE_ASIDE}"
    )


def current_revision(engine: Engine) -> str | None:
    """The store's revision, or None for an empty database.

    Raises StoreCorruptError when the database cannot be read or holds tables that are not
    chaintrack's, and StoreVersionError when a newer chaintrack wrote it.
    """
    revision: str | None = None
    try:
        with engine.connect() as conn:
            names = set(inspect(conn).get_table_names())
            if "alembic_version" in names:
                row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
                revision = None if row is None else str(row[0])
    except DBAPIError as exc:
        raise _unreadable(engine, exc) from None
    tables = names - {"alembic_version"}
    if revision is None:
        if tables:
            raise StoreCorruptError(
                f"{_where(engine)} holds tables ({', '.join(sorted(tables)[:5])}) but no "
                f"chaintrack schema revision, so it is not a chaintrack store. {_MOVE_ASIDE}"
            )
        return None
    if revision in KNOWN_REVISIONS:
        missing = _HEAD_TABLES - tables if revision == HEAD_REVISION else set()
        if missing:
            raise StoreCorruptError(
                f"the store at {_where(engine)} is at revision {revision!r} but its tables "
                f"{', '.join(sorted(missing))} are missing. {_MOVE_ASIDE}"
            )
        return revision
    if not tables >= _CORE_TABLES:
        raise StoreCorruptError(
            f"{_where(engine)} is another application's database (Alembic revision "
            f"{revision!r}, tables {', '.join(sorted(tables)[:5]) or 'none'}), not a chaintrack "
            f"store. {_MOVE_ASIDE}"
        )
    raise StoreVersionError(
        f"the store at {_where(engine)} has schema revision {revision!r}, written by a newer "
        f"chaintrack; this chaintrack knows up to {HEAD_REVISION!r}. Upgrade chaintrack "
        "(pip install -U chaintrack) to open it."
    )


def upgrade(engine: Engine) -> None:
    """Bring the store's schema to HEAD_REVISION with Alembic."""
    from alembic import command

    with engine.begin() as conn:
        config = alembic_config(conn)
        command.upgrade(config, "head")  # type: ignore[arg-type]


_alembic_version = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def create(engine: Engine) -> None:
    """Create the schema of a new store at HEAD_REVISION, as Alembic's migrations would.

    Creating from ``schema.metadata`` skips importing Alembic (~100 ms) on the first
    ``Task.init``; ``tests/store/test_migrations.py`` checks both ways give one schema.
    """
    with engine.begin() as conn:
        metadata.create_all(conn)
        _alembic_version.create(conn)
        conn.execute(_alembic_version.insert().values(version_num=HEAD_REVISION))


def ensure_schema(engine: Engine) -> None:
    """Create or upgrade the schema when needed; raise a clear error when it cannot be used."""
    revision = current_revision(engine)
    if revision == HEAD_REVISION:
        return
    try:
        if revision is None:
            create(engine)
        else:
            upgrade(engine)
    except DBAPIError as exc:
        if _is_locked(exc):
            raise _unreadable(engine, exc) from None
        raise StoreCorruptError(
            f"cannot create or upgrade the schema of the store at {_where(engine)}: "
            f"{exc.orig}. {_MOVE_ASIDE}"
        ) from None
    current_revision(engine)
