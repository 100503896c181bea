"""The Alembic migrations and ``schema.py`` describe the same database.

When one of these tests fails, the schema and the migrations have drifted apart: see FIX_DRIFT.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from old_stores import span_event
from sqlalchemy import create_engine, inspect, text

from chaintrack.store import migrate, schema, searchtext
from chaintrack.store.records import (
    LOG,
    SCALAR,
    SPAN,
    ParameterRecord,
    TaskRecord,
    WriteBatch,
)
from chaintrack.store.sql import SqlStore

FIX_DRIFT = """
How to fix a drift between src/chaintrack/store/schema.py and the migrations:
  1. keep schema.py as the truth and add a revision in src/chaintrack/store/migrations/versions/
     named NNNN_<what>.py, with `revision = "NNNN"` and `down_revision` = the previous head
     (write the upgrade() by hand, or start from Alembic's autogenerate diff printed above);
  2. set schema.HEAD_REVISION = "NNNN" and append "NNNN" to schema.KNOWN_REVISIONS;
  3. never edit a released revision: a user's database already went through it.
"""


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(migrate.alembic_config())  # type: ignore[arg-type]


def test_alembic_head_is_the_schema_head_revision() -> None:
    heads = script_directory().get_heads()
    assert heads == [schema.HEAD_REVISION], (
        f"Alembic heads {heads} != schema.HEAD_REVISION {schema.HEAD_REVISION!r}" + FIX_DRIFT
    )


def test_known_revisions_contain_every_revision_in_order() -> None:
    revisions = [r.revision for r in script_directory().walk_revisions()]  # head first
    assert tuple(reversed(revisions)) == schema.KNOWN_REVISIONS, (
        f"migrations {list(reversed(revisions))} != schema.KNOWN_REVISIONS "
        f"{schema.KNOWN_REVISIONS}" + FIX_DRIFT
    )
    assert schema.KNOWN_REVISIONS[-1] == schema.HEAD_REVISION


def _differences(engine: Any) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = list(compare_metadata(context, schema.metadata))
    # The full-text index of the spans is dialect-specific DDL outside schema.py (revision 0007).
    return [
        d
        for d in diff
        if not (
            (d[0] == "remove_table" and searchtext.owns(d[1].name))
            or (d[0] == "remove_index" and searchtext.owns(d[1].table.name))
        )
    ]


def engine_for(uri: str) -> Any:
    """An engine on ``uri`` (PostgreSQL through psycopg 3, as the store opens it)."""
    return create_engine(uri.replace("postgresql://", "postgresql+psycopg://", 1))


def _migrated_engine(uri: str) -> Any:
    engine = engine_for(uri)
    with engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), "head")  # type: ignore[arg-type]
    return engine


def test_the_migrated_schema_matches_schema_metadata(new_database: Callable[[], str]) -> None:
    engine = _migrated_engine(new_database())
    diff = _differences(engine)
    engine.dispose()
    assert diff == [], f"the migrations build a schema that differs from schema.py: {diff}" + (
        FIX_DRIFT
    )


def _shape(engine: Any) -> dict[str, Any]:
    """Every table's columns, primary key and indexes, as the database reports them."""
    found = inspect(engine)
    return {
        table: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(table)],
            found.get_pk_constraint(table)["constrained_columns"],
            sorted((i["name"], tuple(i["column_names"])) for i in found.get_indexes(table)),
        )
        for table in sorted(found.get_table_names())
    }


def test_a_new_store_has_exactly_the_schema_the_migrations_build(
    new_database: Callable[[], str],
) -> None:
    """New stores are created from schema.py (no Alembic import); upgrades use Alembic."""
    created = SqlStore(new_database())
    migrated = _migrated_engine(new_database())
    assert _shape(created._write_engine) == _shape(migrated), FIX_DRIFT
    assert migrate.current_revision(created._write_engine) == schema.HEAD_REVISION
    created.close()
    migrated.dispose()


def test_the_comparison_does_catch_a_drift(tmp_path: Path) -> None:
    """Guard against a vacuous comparison: a database missing a column is reported."""
    path = tmp_path / "drifted.db"
    SqlStore(f"sqlite:///{path}").close()
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("ALTER TABLE tasks DROP COLUMN comment")
    engine = create_engine(f"sqlite:///{path}")
    diff = _differences(engine)
    engine.dispose()
    assert [(d[0], d[2], d[3].name) for d in diff] == [("add_column", "tasks", "comment")]


def test_migrations_run_with_alembic_alone_and_stamp_the_head(
    new_database: Callable[[], str],
) -> None:
    """The migrations are plain Alembic: ``upgrade head`` then ``downgrade base`` both work."""
    engine = engine_for(new_database())
    with engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), "head")  # type: ignore[arg-type]
    assert migrate.current_revision(engine) == schema.HEAD_REVISION
    names = {n for n in inspect(engine).get_table_names() if not searchtext.owns(n)}
    assert names == {*schema.metadata.tables, "alembic_version"}
    with engine.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "base")  # type: ignore[arg-type]
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    engine.dispose()


def test_a_new_store_is_created_at_the_head_revision_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    SqlStore(f"sqlite:///{path}").close()
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (schema.HEAD_REVISION,)
        ]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _rows(
    engine: Any, names: Any, columns: dict[str, list[str]] | None = None
) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables ``names``, in a fixed order (only ``columns[name]`` when given:
    the columns a table had before an upgrade added more)."""

    def select_list(name: str) -> str:
        if columns is None:
            return "*"
        return ", ".join(f'"{c}"' for c in columns[name])

    with engine.connect() as conn:
        return {
            name: sorted(
                tuple(r) for r in conn.execute(text(f'SELECT {select_list(name)} FROM "{name}"'))
            )
            for name in names
        }


def test_upgrading_a_second_revision_store_keeps_every_row(
    new_database: Callable[[], str],
) -> None:
    """A store with data at revision 0002 (a task, events of several kinds, spans and their
    totals), upgraded by opening it: every row is still there, unchanged, with the indexes."""
    uri = new_database()
    store = SqlStore(uri)
    events = [
        ("a", w, s, kind, 100.0 + s % 7, "loss", f"v{w}", s, s * 0.5, 20, f"line {s}", None)
        for w in (1, 2)
        for s in range(300)
        for kind in (SCALAR, LOG)
    ]
    events += [span_event("a", 1000 + n, f"s{n}", f"s{n // 3}" if n else None) for n in range(30)]
    store.write(
        WriteBatch(
            new_tasks=[
                TaskRecord(
                    id="a",
                    project="p",
                    name="n",
                    type="training",
                    status="completed",
                    created=1.0,
                    last_update=2.0,
                )
            ],
            parameters=[ParameterRecord("a", "General", "lr", "0.1", "float")],
            events=events,  # type: ignore[arg-type]
        )
    )
    store.close()
    engine = engine_for(uri)
    with engine.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "0002")  # type: ignore[arg-type]
    assert migrate.current_revision(engine) == "0002"
    assert "ix_events_time" not in {i["name"] for i in inspect(engine).get_indexes("events")}
    # Tables of later revisions (event_counts: 0003, datasets and results: 0005, feedback: 0006,
    # rollups and saved searches: 0007) are not there.
    at_0002 = set(inspect(engine).get_table_names()) & set(schema.metadata.tables)
    before = _rows(engine, at_0002 - {"event_counts"})
    columns = {name: [c["name"] for c in inspect(engine).get_columns(name)] for name in before}
    assert len(before["events"]) == 1230 and len(before["spans"]) == 30
    assert before["task_stats"] and before["parameters"] and before["tasks"]
    engine.dispose()

    upgraded = SqlStore(uri)  # opening upgrades to the head revision
    try:
        assert upgraded.opened_at_revision == "0002"
        assert migrate.current_revision(upgraded._write_engine) == schema.HEAD_REVISION
        assert _rows(upgraded._write_engine, before, columns) == before
        # The events' counts were counted from the events.
        assert upgraded.task_summary("a").event_counts == {SCALAR: 600, LOG: 600, SPAN: 30}
        names = {i["name"] for i in inspect(upgraded._write_engine).get_indexes("events")}
        assert {"ix_events_time", "ix_events_scalars"} <= names
    finally:
        upgraded.close()
