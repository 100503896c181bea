"""PostgreSQL as the store: databases it must refuse, servers it cannot reach, and several
processes creating one store at once. (Everything else runs on both backends elsewhere.)"""

from __future__ import annotations

import subprocess
import sys
import traceback

import pytest
from sqlalchemy import create_engine, inspect, text

from chaintrack.errors import StoreCorruptError, StoreError, StoreVersionError
from chaintrack.store import migrate, schema
from chaintrack.store.records import TaskQuery
from chaintrack.store.sql import SqlStore
from pgserver import PostgresServer


def execute(uri: str, *statements: str) -> None:
    engine = create_engine(uri.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


def tables(uri: str) -> set[str]:
    engine = create_engine(uri.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def assert_clean(exc: BaseException, password: str = "chaintrack-test") -> None:
    shown = "".join(traceback.format_exception(exc))
    assert "sqlalchemy" not in shown.lower(), shown
    assert password not in str(exc)


@pytest.mark.parametrize(
    "statements",
    [
        ["CREATE TABLE users (id integer PRIMARY KEY, email text)"],
        [
            "CREATE TABLE alembic_version (version_num varchar(32) NOT NULL)",
            "INSERT INTO alembic_version VALUES ('ae1027a6acf')",
            "CREATE TABLE orders (id integer PRIMARY KEY)",
        ],
    ],
    ids=["unrelated tables", "another Alembic app"],
)
def test_another_applications_database_is_refused_and_left_alone(
    postgres_uri: str, statements: list[str]
) -> None:
    execute(postgres_uri, *statements)
    before = tables(postgres_uri)
    with pytest.raises(StoreCorruptError) as info:
        SqlStore(postgres_uri)
    message = str(info.value)
    assert "not a chaintrack store" in message
    assert "Point CHAINTRACK_TRACKING_URI at another database" in message
    assert "Move the file aside" not in message  # that is for SQLite files
    assert_clean(info.value)
    assert tables(postgres_uri) == before


def test_a_database_of_a_newer_chaintrack_is_refused(postgres_uri: str) -> None:
    SqlStore(postgres_uri).close()
    execute(postgres_uri, "UPDATE alembic_version SET version_num = '0099'")
    with pytest.raises(StoreVersionError) as info:
        SqlStore(postgres_uri)
    assert "'0099'" in str(info.value)
    assert "pip install -U chaintrack" in str(info.value)
    assert_clean(info.value)


def test_a_wrong_password_is_refused_without_showing_it(
    postgres: PostgresServer, postgres_uri: str
) -> None:
    wrong = postgres_uri.replace(":chaintrack-test@", ":not-the-password@")
    assert wrong != postgres_uri
    with pytest.raises(StoreError) as info:
        SqlStore(wrong)
    message = str(info.value)
    assert "password authentication failed" in message
    assert "user and password" in message  # what to check
    assert_clean(info.value, "not-the-password")


def test_an_unreachable_server_is_reported_with_what_to_check() -> None:
    with pytest.raises(StoreError) as info:
        SqlStore("postgresql://app:s3cret@127.0.0.1:1/tasks?connect_timeout=5")
    message = str(info.value)
    assert "postgresql://app:***@127.0.0.1:1/tasks" in message
    assert "Check that the database server is running" in message
    assert_clean(info.value, "s3cret")


OPEN_AND_WRITE = """
import sys
from chaintrack.store.records import TaskRecord, WriteBatch
from chaintrack.store.records import TaskQuery
from chaintrack.store.sql import SqlStore
store = SqlStore(sys.argv[1])
n = int(sys.argv[2])
store.write(WriteBatch(new_tasks=[TaskRecord(id=f"t{n}", project="p", name="n", type="training",
                                             status="created", created=1.0, last_update=1.0)]))
store.close()
"""


def test_processes_opening_a_new_store_at_once_create_it_once(postgres_uri: str) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AND_WRITE, postgres_uri, str(n)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errors
    store = SqlStore(postgres_uri)
    try:
        assert migrate.current_revision(store._read_engine) == schema.HEAD_REVISION
        assert sorted(t.id for t in store.find_tasks(TaskQuery())) == ["t0", "t1", "t2", "t3"]
    finally:
        store.close()
