"""The embedded SQL store: picking the backend, idempotent writes, refusing unusable databases,
and write -> read round trips of events (Hypothesis)."""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
import subprocess
import sys
import traceback
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaintrack import Task, config
from chaintrack.errors import (
    ConfigurationError,
    MissingDependencyError,
    StoreCorruptError,
    StoreError,
    StoreVersionError,
)
from chaintrack.store import Store, open_store, sqlitebulk
from chaintrack.store.blobs import LocalBlobStore
from chaintrack.store.records import (
    LOG,
    SCALAR,
    TABLE,
    ArtifactRecord,
    ConfigurationRecord,
    EventRow,
    ModelRecord,
    ParameterRecord,
    TaskQuery,
    TaskRecord,
    WriteBatch,
)
from chaintrack.store.schema import EVENT_COLUMNS
from chaintrack.store.sql import SqlStore

TABLES = ("tasks", "parameters", "configurations", "events", "artifacts", "models")


def sqlite_uri(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def store(store_uri: str) -> Iterator[SqlStore]:
    """A new store on each SQL backend (``sqlite`` and ``postgresql``)."""
    s = SqlStore(store_uri)
    yield s
    s.close()


def counts(where: Path | SqlStore) -> dict[str, int]:
    """Rows per table, read with the database's own driver (not through the store)."""
    if isinstance(where, Path):
        with contextlib.closing(sqlite3.connect(where)) as conn, conn:
            return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    with where._read_engine.connect() as conn:
        return {t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one() for t in TABLES}


def event(task_id: str, seq: int, writer: int = 7, **fields: object) -> EventRow:
    row: dict[str, object] = {
        "kind": SCALAR, "ts": 1000.0 + seq, "metric": "loss", "variant": "train", "iter": seq,
        "value": float(seq), "level": None, "text": None, "data": None,
    }  # fmt: skip
    row.update(fields)
    return (task_id, writer, seq, *row.values())  # type: ignore[return-value]


def task_record(task_id: str, **fields: object) -> TaskRecord:
    values: dict[str, object] = {
        "id": task_id, "project": "p", "name": "n", "type": "training", "status": "in_progress",
        "created": 1.0, "last_update": 1.0,
    }  # fmt: skip
    values.update(fields)
    return TaskRecord(**values)  # type: ignore[arg-type]


def full_batch(task_id: str) -> WriteBatch:
    """One of everything a batch can carry."""
    return WriteBatch(
        new_tasks=[task_record(task_id, tags=["a", "b"], script={"entry": "x.py"})],
        task_updates=[(task_id, {"comment": "hello", "last_update": 5.0})],
        parameters=[ParameterRecord(task_id, "General", "lr", "0.1", "float")],
        configurations=[ConfigurationRecord(task_id, "cfg", "dictionary", '{"a": 1}')],
        events=[
            event(task_id, 1),
            event(
                task_id,
                2,
                kind=LOG,
                metric=None,
                variant=None,
                iter=None,
                value=None,
                level=20,
                text="a line",
            ),
            event(task_id, 3, kind=TABLE, data=json.dumps({"columns": ["a"], "data": [[1]]})),
        ],
        artifacts=[ArtifactRecord(task_id, "art", "json", "file:///x", 3, "abc", 2.0)],
        models=[ModelRecord(uuid.uuid4().hex, task_id, "model", 3.0)],
    )


# -- picking the backend ----------------------------------------------------------------------


def test_default_store_is_sqlite_in_wal_mode_under_chaintrack_home(chaintrack_home: Path) -> None:
    store = open_store()
    assert isinstance(store, Store)
    assert isinstance(store, SqlStore)
    assert store.path == chaintrack_home / "chaintrack.db"
    assert store.path.is_file()
    assert isinstance(store.blobs, LocalBlobStore)
    assert store.blobs.root == (chaintrack_home / "files").resolve()
    with contextlib.closing(sqlite3.connect(store.path)) as conn, conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert open_store() is store  # one store object per URI and process


def test_tracking_uri_picks_another_sqlite_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chaintrack_home: Path
) -> None:
    db = tmp_path / "elsewhere" / "tasks.db"
    monkeypatch.setenv("CHAINTRACK_TRACKING_URI", sqlite_uri(db))
    task = Task.init("uri", "picked")
    task.get_logger().report_scalar("a", "b", 1.0, 0)
    task.close()
    assert db.is_file()
    assert not (chaintrack_home / "chaintrack.db").exists()
    assert counts(db)["events"] == 1
    blob_root = open_store().blobs.root  # type: ignore[attr-defined]
    assert blob_root == (db.parent / "files").resolve()


@pytest.mark.parametrize(
    ("uri", "error"),
    [
        ("mysql://u@h/db", ConfigurationError),
        ("s4://bucket/x", ConfigurationError),
        ("sqlite://", StoreError),
        ("sqlite:///:memory:", StoreError),
    ],
)
def test_unusable_tracking_uris_are_refused_with_the_fix(
    monkeypatch: pytest.MonkeyPatch, uri: str, error: type[Exception]
) -> None:
    monkeypatch.setenv("CHAINTRACK_TRACKING_URI", uri)
    with pytest.raises(error) as info:
        open_store()
    assert "sqlite:///" in str(info.value)  # the message shows a URI that works


def test_an_unknown_scheme_error_does_not_show_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHAINTRACK_TRACKING_URI", "mysql://app:s3cret@db.example/tasks")
    with pytest.raises(ConfigurationError) as info:
        open_store()
    assert "s3cret" not in str(info.value)
    assert "mysql://app:***@db.example/tasks" in str(info.value)


def test_a_postgresql_uri_without_the_driver_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The driver is hidden from this process: `import psycopg` raises ImportError.
    monkeypatch.setitem(sys.modules, "psycopg", None)
    monkeypatch.setenv("CHAINTRACK_TRACKING_URI", "postgresql://app:s3cret@127.0.0.1:1/tasks")
    with pytest.raises(MissingDependencyError) as info:
        open_store()
    assert "pip install 'chaintrack[postgres]'" in str(info.value)
    assert "'psycopg'" in str(info.value)  # the [postgres] extra's driver, not psycopg2
    assert "s3cret" not in str(info.value)


def test_store_path_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "a.db"
    folder.mkdir()
    with pytest.raises(StoreError, match="is a folder"):
        SqlStore(sqlite_uri(folder))


# -- idempotent writes ------------------------------------------------------------------------


def test_writing_the_same_batch_twice_stores_it_once(store: SqlStore) -> None:
    batch = full_batch("t1")
    store.write(batch)
    once = counts(store)
    assert once == dict.fromkeys(TABLES, 1) | {"events": 3}
    store.write(batch)
    assert counts(store) == once

    task = store.get_task("t1")
    assert task.tags == ["a", "b"]
    assert task.comment == "hello"
    assert task.script == {"entry": "x.py"}
    assert [e.kind for e in store.get_events("t1", SCALAR)] == [SCALAR]
    assert [e.text for e in store.get_events("t1", LOG)] == ["a line"]
    assert store.get_events("t1", TABLE)[0].data == {"columns": ["a"], "data": [[1]]}
    assert store.get_parameters("t1") == batch.parameters
    assert store.get_configurations("t1") == batch.configurations
    assert store.get_artifacts("t1") == batch.artifacts
    assert store.get_models("t1") == batch.models


def test_a_new_task_written_again_does_not_undo_later_updates(store: SqlStore) -> None:
    """A replayed batch (after a crash) must not reset a task that has moved on."""
    store.write(WriteBatch(new_tasks=[task_record("t1")]))
    store.write(WriteBatch(task_updates=[("t1", {"status": "completed"})]))
    store.write(WriteBatch(new_tasks=[task_record("t1")]))
    assert store.get_task("t1").status == "completed"


def test_event_identity_is_task_writer_and_sequence(store: SqlStore) -> None:
    store.write(WriteBatch(events=[event("t1", 1, writer=1)]))
    # Same sequence number from another process (writer), and in another task: new events.
    store.write(WriteBatch(events=[event("t1", 1, writer=2), event("t2", 1, writer=1)]))
    # Same identity, different content: a replay, stored once (the first write wins).
    store.write(WriteBatch(events=[event("t1", 1, writer=1, value=99.0)]))
    assert [e.value for e in store.get_events("t1", SCALAR)] == [1.0, 1.0]
    assert len(store.get_events("t2", SCALAR)) == 1


def test_parameters_configurations_artifacts_and_models_are_upserts(store: SqlStore) -> None:
    store.write(full_batch("t1"))
    model_id = store.get_models("t1")[0].id
    store.write(
        WriteBatch(
            parameters=[ParameterRecord("t1", "General", "lr", "0.2", "float")],
            configurations=[ConfigurationRecord("t1", "cfg", "text", "v2")],
            artifacts=[ArtifactRecord("t1", "art", "json", "file:///y", 4, "def", 3.0)],
            models=[ModelRecord(model_id, "t1", "renamed", 3.0)],
        )
    )
    assert [p.value for p in store.get_parameters("t1")] == ["0.2"]
    assert [c.value for c in store.get_configurations("t1")] == ["v2"]
    assert [a.uri for a in store.get_artifacts("t1")] == ["file:///y"]
    assert [m.name for m in store.get_models("t1")] == ["renamed"]


def test_reset_task_keeps_the_task_and_drops_what_it_reported(store: SqlStore) -> None:
    store.write(full_batch("t1"))
    store.write(full_batch("t2"))
    store.reset_task("t1")
    assert store.get_task("t1").name == "n"
    assert store.get_events("t1", SCALAR) == []
    assert store.get_parameters("t1") == []
    assert store.get_models("t1") == []
    assert len(store.get_events("t2", SCALAR)) == 1  # another task is untouched
    assert counts(store)["models"] == 1


def test_find_tasks_filters_and_orders_newest_first(store: SqlStore) -> None:
    store.write(
        WriteBatch(
            new_tasks=[
                task_record("a", project="p", created=1.0, tags=["x"]),
                task_record("b", project="p/sub", created=2.0),
                task_record("c", project="p", created=3.0, status="failed", tags=["x", "y"]),
                task_record("d", project="p_", created=4.0),
            ]
        )
    )
    ids = lambda q: [t.id for t in store.find_tasks(q)]  # noqa: E731
    assert ids(TaskQuery(project="p")) == ["c", "a"]
    assert ids(TaskQuery(project="p", include_subprojects=True)) == ["c", "b", "a"]
    assert ids(TaskQuery(tags=("x",))) == ["c", "a"]
    assert ids(TaskQuery(tags=("x", "y"))) == ["c"]
    assert ids(TaskQuery(status=("failed",))) == ["c"]
    assert ids(TaskQuery(limit=2)) == ["d", "c"]


# -- refusing databases it cannot use ---------------------------------------------------------


def _random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(64 * 1024))


def _text_file(path: Path) -> None:
    path.write_text("name,value\nlr,0.1\n" * 200)


def _unrelated_tables(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")


def _other_alembic_app(path: Path) -> None:
    """Another application's database, also managed with Alembic."""
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        conn.execute("INSERT INTO alembic_version VALUES ('ae1027a6acf')")
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")


def _lost_revision(path: Path) -> None:
    SqlStore(sqlite_uri(path)).close()
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("DELETE FROM alembic_version")


def _dropped_table(path: Path) -> None:
    SqlStore(sqlite_uri(path)).close()
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("DROP TABLE events")


def _truncated(path: Path) -> None:
    store = SqlStore(sqlite_uri(path))
    store.write(full_batch("t1"))
    store.close()
    path.write_bytes(path.read_bytes()[:5000])


CORRUPT: dict[str, Callable[[Path], None]] = {
    "random bytes": _random_bytes,
    "a text file": _text_file,
    "unrelated tables": _unrelated_tables,
    "another Alembic app": _other_alembic_app,
    "revision row lost": _lost_revision,
    "a table dropped": _dropped_table,
    "truncated file": _truncated,
}


def _newer(path: Path) -> None:
    SqlStore(sqlite_uri(path)).close()
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
        conn.execute("CREATE TABLE evaluations (id TEXT)")  # what a newer version might add


def assert_no_sqlalchemy_traceback(exc: BaseException) -> None:
    shown = "".join(traceback.format_exception(exc))
    assert "sqlalchemy" not in shown.lower(), shown


@pytest.mark.parametrize("make", CORRUPT.values(), ids=CORRUPT.keys())
def test_a_corrupt_database_is_refused_with_what_to_do(
    tmp_path: Path, make: Callable[[Path], None]
) -> None:
    path = tmp_path / "store.db"
    make(path)
    before = path.read_bytes()
    with pytest.raises(StoreCorruptError) as info:
        SqlStore(sqlite_uri(path))
    message = str(info.value)
    assert str(path) in message
    assert "Move the file aside" in message
    assert_no_sqlalchemy_traceback(info.value)
    assert path.read_bytes() == before  # refusing does not touch the file


def test_a_database_of_a_newer_chaintrack_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    _newer(path)
    with pytest.raises(StoreVersionError) as info:
        SqlStore(sqlite_uri(path))
    message = str(info.value)
    assert "'0099'" in message
    assert "newer chaintrack" in message
    assert "pip install -U chaintrack" in message
    assert_no_sqlalchemy_traceback(info.value)


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (_random_bytes, StoreCorruptError),
        (_unrelated_tables, StoreCorruptError),
        (_newer, StoreVersionError),
    ],
    ids=["random bytes", "unrelated tables", "newer"],
)
def test_task_init_on_an_unusable_store_raises_the_clear_error(
    chaintrack_home: Path, make: Callable[[Path], None], error: type[StoreError]
) -> None:
    chaintrack_home.mkdir(parents=True)
    make(chaintrack_home / "chaintrack.db")
    with pytest.raises(error) as info:
        Task.init("p", "n")
    assert_no_sqlalchemy_traceback(info.value)
    assert Task.current_task() is None


def test_a_script_on_a_newer_store_dies_with_one_clear_line(
    tmp_path: Path, chaintrack_home: Path
) -> None:
    """What a user sees: the error type and its message, no SQLAlchemy frames."""
    chaintrack_home.mkdir(parents=True)
    _newer(chaintrack_home / "chaintrack.db")
    script = "from chaintrack import Task\nTask.init('p', 'n')\n"
    env = {**os.environ, "CHAINTRACK_HOME": str(chaintrack_home)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("chaintrack.errors.StoreVersionError: the store at sqlite:///")
    assert "Upgrade chaintrack" in last
    assert "sqlalchemy" not in done.stderr.lower()


def test_a_store_opened_by_another_store_object_is_reused_not_migrated_again(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    first = SqlStore(sqlite_uri(path))
    first.write(full_batch("t1"))
    second = SqlStore(sqlite_uri(path))
    assert second.get_task("t1").comment == "hello"
    first.close()
    second.close()


# -- round trips (Hypothesis) -----------------------------------------------------------------

# Every float, NaN and the infinities included. (SQLite stores -0.0 as 0.0; they compare equal.)
any_float = st.floats(allow_nan=True, allow_infinity=True)
int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
# Every code point except lone surrogates (those are tested below: they cannot be UTF-8).
any_text = st.text(st.characters(codec="utf-8"), max_size=300)
json_scalar = st.one_of(
    st.none(), st.booleans(), int64, st.floats(allow_nan=False, allow_infinity=False), any_text
)
table_payload = st.fixed_dictionaries({
    "columns": st.lists(any_text, max_size=5),
    "data": st.lists(st.lists(json_scalar, max_size=5), max_size=8),
    "index": st.lists(json_scalar, max_size=8),
})  # fmt: skip

SHARED_STORE = settings(
    max_examples=60,
    deadline=None,
    # One store per test function; every example writes to a task id of its own.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def same_float(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return (math.isnan(a) and math.isnan(b)) or a == b


@SHARED_STORE
@given(values=st.lists(st.tuples(any_float, int64), min_size=1, max_size=60))
def test_scalars_round_trip(store: SqlStore, values: list[tuple[float, int]]) -> None:
    task_id = uuid.uuid4().hex
    rows = [event(task_id, i, value=v, iter=it) for i, (v, it) in enumerate(values)]
    store.write(WriteBatch(events=rows))
    back = store.get_events(task_id, SCALAR)
    assert [e.iter for e in back] == [it for _, it in values]
    assert all(same_float(e.value, v) for e, (v, _) in zip(back, values, strict=True)), back
    assert all(e.text is None and e.data is None for e in back)


@SHARED_STORE
@given(lines=st.lists(st.tuples(any_text, any_text, any_text), min_size=1, max_size=40))
def test_text_round_trips(store: SqlStore, lines: list[tuple[str, str, str]]) -> None:
    task_id = uuid.uuid4().hex
    rows = [
        event(task_id, i, kind=LOG, metric=m, variant=v, iter=None, value=None, level=20, text=t)
        for i, (t, m, v) in enumerate(lines)
    ]
    store.write(WriteBatch(events=rows))
    back = store.get_events(task_id, LOG)
    assert [(e.text, e.metric, e.variant) for e in back] == [
        tuple(stored_text(store, x) for x in line) for line in lines
    ]


def stored_text(store: SqlStore, text: str) -> str:
    """PostgreSQL's text cannot hold NUL: it is stored as U+FFFD (see the test below)."""
    return text.replace("\x00", "\ufffd") if store.dialect == "postgresql" else text


def test_nul_characters_are_kept_by_sqlite_and_replaced_in_postgresql(store: SqlStore) -> None:
    """Decision: PostgreSQL refuses NUL in text; rather than lose the batch (a console line with
    a stray NUL byte, a task name), the store keeps the rest of the text and U+FFFD in place."""
    store.write(
        WriteBatch(
            new_tasks=[task_record("t1", name="a\x00b")],
            events=[event("t1", 1, kind=LOG, value=None, text="x\x00y"), event("t1", 2)],
            parameters=[ParameterRecord("t1", "General", "p", "v\x00", "str")],
        )
    )
    assert [e.text for e in store.get_events("t1", LOG)] == [stored_text(store, "x\x00y")]
    assert len(store.get_events("t1", SCALAR)) == 1  # the rest of the batch is stored
    assert store.get_task("t1").name == stored_text(store, "a\x00b")
    assert store.get_parameters("t1")[0].value == stored_text(store, "v\x00")


@SHARED_STORE
@given(tables=st.lists(table_payload, min_size=1, max_size=5))
def test_table_payloads_round_trip(store: SqlStore, tables: list[dict[str, object]]) -> None:
    task_id = uuid.uuid4().hex
    rows = [event(task_id, i, kind=TABLE, data=json.dumps(t)) for i, t in enumerate(tables)]
    store.write(WriteBatch(events=rows))
    assert [e.data for e in store.get_events(task_id, TABLE)] == tables


def test_a_large_batch_stores_exactly_what_row_by_row_writes_store(store: SqlStore) -> None:
    """SQLite takes a batch in multi-row statements (sqlitebulk.py): a batch holding
    infinities, NUL characters, 64-bit integers or very small floats reads back exactly as the
    same rows written one at a time."""
    odd: list[dict[str, object]] = [
        {"value": math.inf}, {"value": -math.inf}, {"value": math.nan}, {"value": 5e-324},
        {"value": 1 / 3}, {"iter": 2**62}, {"iter": -(2**63)}, {"kind": LOG, "text": "a\x00b"},
        {"kind": LOG, "text": "é 😀 \\u0000"}, {"ts": 1.7e9 + 1 / 7},
    ]  # fmt: skip
    for extra in [{}, *odd]:
        kind = {"kind": extra.get("kind", SCALAR)}  # one group of 40 rows: one statement
        batch = [event("bulk", i, **(extra if i == 20 else kind)) for i in range(40)]
        single = [event("single", i, **(extra if i == 20 else kind)) for i in range(40)]
        store.write(WriteBatch(events=batch))
        for row in single:
            store.write(WriteBatch(events=[row]))
        for kind in (SCALAR, LOG):
            got = [(e.iter, e.ts, e.value, e.text) for e in store.get_events("bulk", kind)]
            want = [(e.iter, e.ts, e.value, e.text) for e in store.get_events("single", kind)]
            assert len(got) == len(want)
            for g, w in zip(got, want, strict=True):
                assert g[0] == w[0] and g[1] == w[1] and g[3] == w[3] and same_float(g[2], w[2])
        if "text" in extra and store.dialect == "sqlite":
            texts = [e.text for e in store.get_events("bulk", LOG)]
            assert extra["text"] in texts
        store.reset_task("bulk")
        store.reset_task("single")


def test_a_batch_of_many_tasks_writers_and_kinds_keeps_each_rows_own_columns(
    store: SqlStore,
) -> None:
    """A batch mixing tasks, writers and kinds, large enough for SQLite to cut each group into
    statements of several sizes and a row-by-row tail (sqlitebulk.py), stores every column of
    every row as written, once; a replay of the same batch stores nothing twice."""
    batch = [
        event(task, seq, writer=writer, kind=kind, metric=f"m{seq % 3}", variant=f"v{writer}",
              text=f"line {seq}" if kind == LOG else None)
        for task, size in (("ta", 20), ("tb", 1_111)) for writer in (7, 2**40)
        for kind in (SCALAR, LOG) for seq in range(size)
    ]  # fmt: skip
    batch.sort(key=lambda row: row[2])  # groups interleaved, as a writer's batch can be
    store.write(WriteBatch(events=batch))
    store.write(WriteBatch(events=batch))  # a replay: every key is stored already
    columns = ", ".join(EVENT_COLUMNS)
    with store._read_engine.connect() as conn:
        stored = conn.exec_driver_sql(f"SELECT {columns} FROM events").fetchall()
    assert sorted(tuple(r) for r in stored) == sorted(batch)


@given(count=st.integers(0, 50_000), parameters=st.integers(1, 40))
def test_a_batch_is_cut_into_few_statement_sizes_that_sqlite_accepts(
    count: int, parameters: int
) -> None:
    sizes = list(sqlitebulk.chunk_sizes(count, parameters))
    assert sum(sizes) == count
    assert all(size * parameters <= sqlitebulk.MAX_PARAMETERS for size in sizes)
    statements = [size for size in sizes if size >= sqlitebulk.MIN_ROWS]
    assert all(size & (size - 1) == 0 for size in statements)  # powers of two: few to prepare
    assert len(sizes) - len(statements) <= 1  # one row-by-row tail at most, under MIN_ROWS
    assert all(size < sqlitebulk.MIN_ROWS for size in sizes[len(statements) :])


def test_a_nan_scalar_reads_back_as_nan_not_none(store: SqlStore) -> None:
    """SQLite turns NaN into NULL; a diverged loss must still read back as NaN."""
    store.write(WriteBatch(events=[event("t1", 1, value=math.nan), event("t1", 2, value=1.5)]))
    values = [e.value for e in store.get_events("t1", SCALAR)]
    assert values[0] is not None and math.isnan(values[0])
    assert values[1] == 1.5


def test_lone_surrogates_are_stored_as_replacement_characters(store: SqlStore) -> None:
    """Decision: a string that is not valid Unicode (a lone surrogate, e.g. a file name decoded
    with surrogateescape) is stored with U+FFFD in its place rather than refused, so a console
    line or a task name is never lost for one bad character. Valid pairs are joined."""
    store.write(
        WriteBatch(
            new_tasks=[task_record("t1", name="run-\udcff")],
            events=[
                event("t1", 1, kind=LOG, value=None, text="bad \ud800 byte"),
                event("t1", 2, kind=LOG, value=None, text="pair \ud83d\ude00"),
            ],
            parameters=[ParameterRecord("t1", "General", "path\udc80", "x", "str")],
        )
    )
    assert [e.text for e in store.get_events("t1", LOG)] == ["bad \ufffd byte", "pair 😀"]
    assert store.get_task("t1").name == "run-\ufffd"
    assert store.get_parameters("t1")[0].name == "path\ufffd"


def test_default_tracking_uri_follows_chaintrack_home(chaintrack_home: Path) -> None:
    assert config.tracking_uri() == sqlite_uri(chaintrack_home / "chaintrack.db")


# -- replays in bulk (PostgreSQL copies a batch straight into events unless a key is stored) ---


def test_a_batch_partly_stored_before_stores_only_its_new_events(store: SqlStore) -> None:
    store.write(WriteBatch(events=[event("t1", seq) for seq in range(0, 100, 2)]))
    replay = [event("t1", seq, value=-1.0) for seq in range(100)]
    store.write(WriteBatch(events=replay))  # type: ignore[arg-type]
    values = [e.value for e in store.get_events("t1", SCALAR)]
    # The even events were stored first and keep their values; the odd ones are new.
    assert values == [float(s) if s % 2 == 0 else -1.0 for s in range(100)]
    store.write(WriteBatch(events=replay))  # type: ignore[arg-type]
    assert counts(store)["events"] == 100
    assert store.task_summary("t1").event_counts == {SCALAR: 100}


def test_a_key_twice_in_one_batch_is_stored_once_the_first_kept(store: SqlStore) -> None:
    batch = [event("t1", 1, value=1.0), event("t1", 2), event("t1", 1, value=99.0)]
    store.write(WriteBatch(events=batch))
    assert [e.value for e in store.get_events("t1", SCALAR)] == [1.0, 2.0]
    assert store.task_summary("t1").event_counts == {SCALAR: 2}


def test_a_replayed_batch_after_new_ones_changes_nothing(store: SqlStore) -> None:
    """Batches of new keys go the direct way; the replay of the first, once others followed,
    must still be recognised as stored."""
    batches = [[event("t1", b * 10 + i, writer=w) for i in range(10) for w in (1, 2)]
               for b in range(3)]  # fmt: skip
    for batch in batches:
        store.write(WriteBatch(events=batch))  # type: ignore[arg-type]
    before = counts(store)
    store.write(WriteBatch(events=batches[0] + [event("t1", 500)]))  # type: ignore[arg-type]
    assert counts(store) == before | {"events": before["events"] + 1}
    assert len(store.get_events("t1", SCALAR)) == 61
    mixed = [event("t1", 1, writer=1), event("t2", 1, kind=LOG, text="x"), event("t1", 900)]
    store.write(WriteBatch(events=mixed))  # one stored before, two new, in two tasks
    assert store.task_summary("t1").event_counts == {SCALAR: 62}
    assert store.task_summary("t2").event_counts == {LOG: 1}
    store.reset_task("t1")
    assert store.task_summary("t1").event_counts == {}


def test_spans_keep_thread_trace_and_cost_and_an_unknown_cost_is_not_zero(
    store: SqlStore,
) -> None:
    """Revision 0004: a span's thread, trace and cost are indexed; a task's cost sums only the
    priced calls, stays NULL (unknown) while none was priced, and replays count once."""
    from old_stores import span_event

    store.write(WriteBatch(new_tasks=[task_record("a"), task_record("b")]))
    priced = [
        span_event("a", 1, "s1", kind="llm", thread_id="t-1", trace_id="r", cost_usd=0.25),
        span_event("a", 2, "s2", kind="llm", thread_id="t-1", trace_id="r"),  # no price
        span_event("a", 3, "s3", kind="chat_model", thread_id="t-2", cost_usd=0.5),
    ]
    unpriced = [span_event("b", 1, "u1", kind="llm")]
    for _ in range(2):  # a replay changes nothing
        store.write(WriteBatch(events=[*priced, *unpriced]))
    with store._read_engine.connect() as conn:
        spans = conn.exec_driver_sql(
            "SELECT span_id, thread_id, trace_id, cost_usd FROM spans ORDER BY span_id"
        ).all()
        costs = dict(conn.exec_driver_sql("SELECT task_id, cost_usd FROM task_stats").all())
    assert [tuple(r) for r in spans] == [
        ("s1", "t-1", "r", 0.25),
        ("s2", "t-1", "r", None),
        ("s3", "t-2", None, 0.5),
        ("u1", None, None, None),
    ]
    assert costs == {"a": 0.75, "b": None}
