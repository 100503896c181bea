"""Schema creation, upgrades and the version check, run when a store is opened.

Opening a store costs one ``SELECT`` when its schema is current; Alembic is imported only when
a store must be created or upgraded.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DatabaseError, OperationalError

from chaintrack.errors import StoreCorruptError, StoreVersionError
from chaintrack.store.schema import HEAD_REVISION, KNOWN_REVISIONS

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection | None = None) -> object:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def current_revision(engine: Engine) -> str | None:
    """The store's revision, or None for an empty database.

    Raises StoreCorruptError when the database cannot be read or holds tables that are not
    chaintrack's, and StoreVersionError when a newer chaintrack wrote it.
    """
    try:
        with engine.connect() as conn:
            names = set(inspect(conn).get_table_names())
            if "alembic_version" not in names:
                if names:
                    raise StoreCorruptError(
                        f"{engine.url.render_as_string(hide_password=True)} holds tables "
                        f"({', '.join(sorted(names)[:5])}) but is not a chaintrack store. "
                        "Point CHAINTRACK_TRACKING_URI at a new file or an empty database."
                    )
                return None
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    except (DatabaseError, OperationalError) as exc:
        raise StoreCorruptError(
            f"cannot read the store at {engine.url.render_as_string(hide_password=True)}: "
            f"{exc.orig if hasattr(exc, 'orig') else exc}. The file is damaged or is not a "
            "database; move it aside (chaintrack will create a new store) or restore a backup."
        ) from None
    revision = None if row is None else str(row[0])
    if revision is not None and revision not in KNOWN_REVISIONS:
        raise StoreVersionError(
            f"the store at {engine.url.render_as_string(hide_password=True)} has schema "
            f"revision {revision!r}, written by a newer chaintrack; this chaintrack knows up to "
            f"{HEAD_REVISION!r}. Upgrade chaintrack (pip install -U chaintrack) to open it."
        )
    return revision


def upgrade(engine: Engine) -> None:
    """Bring the store's schema to HEAD_REVISION with Alembic."""
    from alembic import command

    with engine.begin() as conn:
        config = alembic_config(conn)
        command.upgrade(config, "head")  # type: ignore[arg-type]


def ensure_schema(engine: Engine) -> None:
    """Create or upgrade the schema when needed; raise a clear error when it cannot be used."""
    if current_revision(engine) != HEAD_REVISION:
        upgrade(engine)
        current_revision(engine)
