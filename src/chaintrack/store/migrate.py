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
_OTHER_DATABASE = (
    "Point CHAINTRACK_TRACKING_URI at another database (chaintrack creates a new store in an "
    "empty one) or restore a backup."
)
#: The key of the PostgreSQL advisory lock that serializes schema changes between processes.
SCHEMA_LOCK_KEY = 0x6368_6169_6E74  # "chaint"


def _what_to_do(bind: Engine | Connection) -> str:
    return _MOVE_ASIDE if bind.dialect.name == "sqlite" else _OTHER_DATABASE


def alembic_config(connection: Connection | None = None) -> object:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def display_uri(bind: Engine | Connection) -> str:
    """The database's URI as a user writes it (no password, no driver: postgresql://…)."""
    url = bind.engine.url
    return url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)


def _is_locked(exc: DBAPIError) -> bool:
    message = str(exc.orig).lower()
    return "locked" in message or "busy" in message


def _unreadable(engine: Engine | Connection, exc: DBAPIError) -> StoreError:
    if engine.dialect.name != "sqlite":
        reason = " ".join(str(exc.orig).split())  # psycopg's message spans several lines
        return StoreError(
            f"cannot use the store at {display_uri(engine)}: {reason}. Check that the database "
            "server is running and that CHAINTRACK_TRACKING_URI names it, with the right user "
            "and password."
        )
    if _is_locked(exc):
        return StoreError(
            f"the store at {display_uri(engine)} stayed locked by another process: {exc.orig}. "
            "Wait for the process that holds it to finish, then try again."
        )
    return StoreCorruptError(
        f"cannot read the store at {display_uri(engine)}: {exc.orig}. The file is damaged or "
        f"is not a database. {_MOVE_ASIDE}"
    )


def _read_revision(conn: Connection) -> tuple[str | None, set[str]]:
    names = set(inspect(conn).get_table_names())
    revision: str | None = None
    if "alembic_version" in names:
        row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        revision = None if row is None else str(row[0])
    return revision, names


def current_revision(engine: Engine | Connection) -> str | None:
    """The store's revision, or None for an empty database.

    Raises StoreCorruptError when the database cannot be read or holds tables that are not
    chaintrack's, and StoreVersionError when a newer chaintrack wrote it.
    """
    try:
        if isinstance(engine, Connection):
            revision, names = _read_revision(engine)
        else:
            with engine.connect() as conn:
                revision, names = _read_revision(conn)
    except DBAPIError as exc:
        raise _unreadable(engine, exc) from None
    tables = names - {"alembic_version"}
    if revision is None:
        if tables:
            raise StoreCorruptError(
                f"{display_uri(engine)} holds tables ({', '.join(sorted(tables)[:5])}) but no "
                "chaintrack schema revision, so it is not a chaintrack store. "
                + _what_to_do(engine)
            )
        return None
    if revision in KNOWN_REVISIONS:
        missing = _HEAD_TABLES - tables if revision == HEAD_REVISION else set()
        if missing:
            raise StoreCorruptError(
                f"the store at {display_uri(engine)} is at revision {revision!r} but its tables "
                f"{', '.join(sorted(missing))} are missing. {_what_to_do(engine)}"
            )
        return revision
    if not tables >= _CORE_TABLES:
        raise StoreCorruptError(
            f"{display_uri(engine)} is another application's database (Alembic revision "
            f"{revision!r}, tables {', '.join(sorted(tables)[:5]) or 'none'}), not a chaintrack "
            f"store. {_what_to_do(engine)}"
        )
    raise StoreVersionError(
        f"the store at {display_uri(engine)} has schema revision {revision!r}, written by a newer "
        f"chaintrack; this chaintrack knows up to {HEAD_REVISION!r}. Upgrade chaintrack "
        "(pip install -U chaintrack) to open it."
    )


def upgrade(conn: Connection) -> None:
    """Bring the store's schema to HEAD_REVISION with Alembic, in ``conn``'s transaction."""
    from alembic import command

    command.upgrade(alembic_config(conn), "head")  # type: ignore[arg-type]


_alembic_version = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def create(conn: Connection) -> None:
    """Create the schema of a new store at HEAD_REVISION, as Alembic's migrations would.

    Creating from ``schema.metadata`` skips importing Alembic (~100 ms) on the first
    ``Task.init``; ``tests/store/test_migrations.py`` checks both ways give one schema.
    """
    metadata.create_all(conn)
    _alembic_version.create(conn)
    conn.execute(_alembic_version.insert().values(version_num=HEAD_REVISION))


def ensure_schema(engine: Engine) -> str | None:
    """Create or upgrade the schema when needed; raise a clear error when it cannot be used.
    Returns the revision the store had before (None: it was empty)."""
    revision = current_revision(engine)
    if revision == HEAD_REVISION:
        return revision
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Processes that open a new store at once take turns (SQLite: a lock file, see
                # SqlStore); the lock ends with this transaction, DDL included.
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
                revision = current_revision(conn)
            if revision is None:
                create(conn)
            elif revision != HEAD_REVISION:
                upgrade(conn)
    except DBAPIError as exc:
        if _is_locked(exc) or engine.dialect.name != "sqlite":
            raise _unreadable(engine, exc) from None
        raise StoreCorruptError(
            f"cannot create or upgrade the schema of the store at {display_uri(engine)}: "
            f"{exc.orig}. {_MOVE_ASIDE}"
        ) from None
    current_revision(engine)
    return revision
