"""The SQL store: SQLite (embedded default) on SQLAlchemy Core; PostgreSQL shares the schema."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Engine, and_, create_engine, delete, event, or_, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.pool import NullPool

from chaintrack import config
from chaintrack.errors import (
    StoreError,
    StoreUnavailableError,
    TaskNotFoundError,
    missing_dependency,
)
from chaintrack.store import migrate, pgcopy, repair, rollups, searchtext, sqlitebulk, textindex
from chaintrack.store.base import BlobStore
from chaintrack.store.blobs import LocalBlobStore
from chaintrack.store.costs import CostMixin
from chaintrack.store.evalsql import EvalSqlMixin
from chaintrack.store.evaltables import eval_results
from chaintrack.store.feedback import FeedbackMixin
from chaintrack.store.queries import QueryMixin, event_from_row
from chaintrack.store.records import (
    DELETED_PARAMETER,
    ArtifactRecord,
    ConfigurationRecord,
    Event,
    EventRow,
    ModelRecord,
    ParameterRecord,
    TaskQuery,
    TaskRecord,
    WriteBatch,
)
from chaintrack.store.schema import (
    artifacts,
    configurations,
    event_counts,
    events,
    feedback,
    models,
    parameters,
    spans,
    task_stats,
    tasks,
)
from chaintrack.store.spanindex import index_spans
from chaintrack.store.sqlitefile import SqliteFileWatch
from chaintrack.store.threads import ThreadsMixin
from chaintrack.text.prices import default_table

#: How long a writer waits for another process's write transaction before retrying.
SQLITE_BUSY_TIMEOUT_MS = 60_000
_LOCK_RETRIES = 20


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    # Wait for another process's write lock instead of failing with "database is locked".
    # First, so that the journal_mode switch below waits too when another process holds a lock.
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # WAL lets readers (the UI, other processes) read while one process writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL is durable across application crashes; only an OS crash or power loss
    # can lose the last transactions. FULL would fsync every commit and halve write throughput.
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Keep temporary b-trees of sorts and indexes in memory.
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()
    # Let chaintrack open transactions itself (see _begin_immediate), instead of pysqlite's
    # implicit deferred BEGIN.
    dbapi_connection.isolation_level = None


def _begin_immediate(conn: Connection) -> None:
    # Take the write lock when the transaction starts: a deferred transaction that later needs
    # to write can fail at once with SQLITE_BUSY, without waiting for busy_timeout.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _begin_deferred(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        # UTF-16 with surrogatepass joins valid surrogate pairs; lone ones become U+FFFD.
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def _clean_nul(value: Any) -> Any:
    value = _clean(value)
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


def _without_surrogates(batch: WriteBatch, nul: bool = False) -> WriteBatch:
    """``batch`` with lone surrogates (and with ``nul``, NUL characters) as U+FFFD."""
    clean = _clean_nul if nul else _clean

    def record(r: Any) -> Any:
        return dataclasses.replace(r, **{k: clean(v) for k, v in r.__dict__.items()})

    return WriteBatch(
        new_tasks=[record(t) for t in batch.new_tasks],
        task_updates=[
            (clean(i), {k: clean(v) for k, v in f.items()}) for i, f in batch.task_updates
        ],
        parameters=[record(p) for p in batch.parameters],
        configurations=[record(c) for c in batch.configurations],
        events=[cast(EventRow, tuple(clean(v) for v in e)) for e in batch.events],
        artifacts=[record(a) for a in batch.artifacts],
        models=[record(m) for m in batch.models],
    )


#: PostgreSQL's SQLSTATEs of a transaction it rolled back for another's sake (a deadlock, a
#: serialization failure): run again, it succeeds.
_RETRY_SQLSTATES = frozenset({"40P01", "40001"})


def _is_locked(exc: OperationalError) -> bool:
    if getattr(exc.orig, "sqlstate", None) in _RETRY_SQLSTATES:
        return True
    message = str(exc.orig).lower()
    return "locked" in message or "busy" in message


def _unstorable(exc: Exception) -> bool:
    """A string the database cannot store: a lone surrogate (not UTF-8), or for PostgreSQL a
    NUL character."""
    return isinstance(exc, UnicodeEncodeError) or pgcopy.is_unstorable_text(exc)


class SqlStore(QueryMixin, EvalSqlMixin, FeedbackMixin, CostMixin, ThreadsMixin, SqliteFileWatch):
    """A store in a SQL database; blobs in a local folder. The paginated reads of the web UI
    are in :class:`~chaintrack.store.queries.QueryMixin`, feedback and costs in their mixins."""

    def __init__(
        self, uri: str, blob_root: Path | None = None, blobs: BlobStore | None = None
    ) -> None:
        self.uri = uri
        # Model calls stored without a cost are priced with this table (CHAINTRACK_PRICES
        # checked now: a bad price file is reported where the store is opened).
        self.prices = default_table()
        url = make_url(uri)
        self.dialect = url.get_backend_name()
        if self.dialect == "sqlite":
            database = url.database or ""
            if not database or database == ":memory:":
                raise StoreError(
                    f"{uri!r}: the embedded store needs a file path, e.g. sqlite:///tasks.db"
                )
            path = Path(database).expanduser()
            if path.is_dir():
                raise StoreError(
                    f"{uri!r}: {path} is a folder, not a database file; point "
                    "CHAINTRACK_TRACKING_URI at a file (or CHAINTRACK_HOME at the folder)"
                )
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the folder of the store {uri!r}: {exc}. Set CHAINTRACK_HOME "
                    "(or CHAINTRACK_TRACKING_URI) to a writable place."
                ) from None
            self.path: Path | None = path
            self._write_engine = self._sqlite_engine(path, _begin_immediate)
            self._read_engine = self._sqlite_engine(path, _begin_deferred)
            for engine in (self._write_engine, self._read_engine):
                repair.install_damage_mapping(engine, path)
            textindex.register(self._read_engine, self._write_engine)
            default_blobs = path.parent / "files"
        else:
            self.path = None
            if url.drivername == "postgresql":
                # The [postgres] extra installs psycopg (3); SQLAlchemy's default is psycopg2.
                url = url.set(drivername="postgresql+psycopg")
            try:
                engine = create_engine(url, pool_pre_ping=True)
            except ModuleNotFoundError as exc:
                raise missing_dependency(
                    exc.name or "psycopg", "postgres", f"The tracking URI {self.display_uri}"
                ) from None
            event.listen(engine, "connect", pgcopy.prepare_connection)
            self._write_engine = self._read_engine = engine
            # Artifacts of a database store stay on this machine, under CHAINTRACK_HOME.
            default_blobs = config.home() / "files"
        self.blobs: BlobStore = blobs or LocalBlobStore(blob_root or default_blobs)
        try:
            with self._schema_lock():
                if self.path is not None:
                    repair.quick_check(self.path, config.quick_check_bytes())
                    self._check_before_wal(self.path)
                #: The revision the store had when opened (None: it was new), before upgrading.
                self.opened_at_revision = migrate.ensure_schema(self._write_engine)
        except BaseException:
            self.close()  # no connection outlives a store that could not be opened
            raise
        self._remember_file()

    @staticmethod
    def _check_before_wal(path: Path) -> None:
        """Refuse a file that is not a usable store before the first connection switches it to
        WAL mode: another application's database must be left exactly as it was."""
        if not path.exists() or path.stat().st_size == 0:
            return
        probe = create_engine(f"sqlite:///{path}", poolclass=NullPool)
        event.listen(
            probe,
            "connect",
            lambda conn, _: conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}"),
        )
        try:
            migrate.current_revision(probe)
        finally:
            probe.dispose()

    @staticmethod
    def _sqlite_engine(path: Path, begin: Any) -> Engine:
        engine = create_engine(f"sqlite:///{path}")
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", begin)
        return engine

    @contextlib.contextmanager
    def _schema_lock(self) -> Iterator[None]:
        """Serialize schema creation between processes that open a new store at once."""
        if self.path is None:
            yield
            return
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: rely on SQLite's own locking
            yield
            return
        lock_path = self.path.with_name(self.path.name + ".lock")
        with lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def before_fork(self) -> None:
        """Close idle SQLite connections so that a forked child starts from a clean slate
        (SQLite's lock state lives in process memory). They reopen on the next use."""
        if self.path is not None:
            self._write_engine.dispose()
            self._read_engine.dispose()

    def after_fork(self) -> None:
        """Drop connections inherited from the parent process (they must not be shared)."""
        self._write_engine.dispose(close=False)
        self._read_engine.dispose(close=False)

    def close(self) -> None:
        self._write_engine.dispose()
        self._read_engine.dispose()

    # -- writing ---------------------------------------------------------------------------

    def write(self, batch: WriteBatch) -> None:
        """Store ``batch`` in one transaction. A database that cannot be written for now (a
        full disk, a read-only file or file system, an I/O error, PostgreSQL down or out of
        connections) raises StoreUnavailableError: the SDK's writer keeps the batch on disk and
        writes it again until it succeeds, and a server answers 503."""
        try:
            self._write_batch(batch)
        except OperationalError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise StoreUnavailableError(
                f"the store {self.display_uri} cannot be written now ({reason})"
            ) from exc

    def _write_batch(self, batch: WriteBatch) -> None:
        try:
            self._transaction(lambda conn: self._apply(conn, batch))
        except (UnicodeEncodeError, DataError, pgcopy.UnstorableTextError) as exc:
            # A lone surrogate (e.g. from a file name decoded with surrogateescape) cannot be
            # stored as UTF-8, nor a NUL character in PostgreSQL. Rather than lose the whole
            # record, store U+FFFD in its place; the scan runs only when the fast path failed.
            if not _unstorable(exc):
                raise
            clean = _without_surrogates(batch, nul=self.dialect == "postgresql")
            self._transaction(lambda conn: self._apply(conn, clean))

    def _transaction(self, apply: Any) -> None:
        """Run ``apply(conn)`` in one write transaction, retrying while another holds the lock."""
        for attempt in range(_LOCK_RETRIES):
            try:
                with self._write_engine.begin() as conn:
                    apply(conn)
                return
            except OperationalError as exc:
                if not _is_locked(exc) or attempt == _LOCK_RETRIES - 1:
                    raise
                time.sleep(min(0.05 * 2**attempt, 2.0))

    def _insert(self, table: Any) -> Any:
        if self.dialect == "postgresql":
            # Imported here: importing the PostgreSQL dialect adds ~30 ms to the first Task.init
            # of every process that uses the embedded store.
            from sqlalchemy.dialects import postgresql

            return postgresql.insert(table)
        return sqlite.insert(table)

    def _upsert(self, table: Any, rows: list[dict[str, Any]], keys: list[str]) -> Any:
        stmt = self._insert(table)
        updates = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
        return stmt.on_conflict_do_update(index_elements=keys, set_=updates)

    def _apply(self, conn: Connection, batch: WriteBatch) -> None:
        if batch.new_tasks:
            rows = [t.to_row() for t in batch.new_tasks]
            conn.execute(self._insert(tasks).on_conflict_do_nothing(), rows)
        for task_id, fields in batch.task_updates:
            moved = None
            if "project" in fields:  # the task's share of the project's daily totals moves
                moved = conn.execute(select(tasks.c.project).where(tasks.c.id == task_id)).first()
            conn.execute(update(tasks).where(tasks.c.id == task_id).values(**fields))
            if moved is not None:
                rollups.move_task(conn, task_id, moved[0], fields["project"])
        if batch.parameters:
            rows = [p.__dict__ for p in batch.parameters]
            conn.execute(self._upsert(parameters, rows, ["task_id", "section", "name"]), rows)
        if batch.configurations:
            rows = [c.__dict__ for c in batch.configurations]
            conn.execute(self._upsert(configurations, rows, ["task_id", "name"]), rows)
        if batch.events:
            if self.dialect == "sqlite":
                stored = sqlitebulk.insert_events(conn, batch.events)
            else:
                stored = pgcopy.copy_events(conn, batch.events)
            self._count_events(conn, stored)
            index_spans(conn, self._insert, batch.events, prices=self.prices)
        if batch.artifacts:
            rows = [a.__dict__ for a in batch.artifacts]
            conn.execute(self._upsert(artifacts, rows, ["task_id", "name"]), rows)
        if batch.models:
            rows = [m.__dict__ for m in batch.models]
            conn.execute(self._upsert(models, rows, ["id"]), rows)

    def _count_events(self, conn: Connection, stored: Counter[tuple[str, str]]) -> None:
        """Add the events just stored (not those stored before) to their tasks' counts."""
        if not stored:
            return
        stmt = self._insert(event_counts)
        stmt = stmt.on_conflict_do_update(
            index_elements=["task_id", "kind"],
            set_={"events": event_counts.c.events + stmt.excluded.events},
        )
        # In key order: concurrent writers take their row locks in one order (no deadlock).
        rows = [{"task_id": t, "kind": k, "events": stored[t, k]} for t, k in sorted(stored)]
        conn.execute(stmt, rows)

    def index_text(self, limit: int | None = None, background: bool = False) -> int:
        """Move the spans waiting for the full-text index and the dashboards' totals into them
        (at most ``limit`` spans); how many were moved. See ``store/textindex.py``."""
        return textindex.catch_up(self._write_engine, limit=limit, background=background)

    def text_backlog(self) -> int:
        """About how many spans wait for the index and the totals."""
        return textindex.backlog(self._write_engine)

    def reset_task(self, task_id: str) -> None:
        def apply(conn: Connection) -> None:
            rollups.remove_task(conn, task_id)
            for table in (parameters, configurations, events, artifacts, models, spans,
                          task_stats, event_counts, eval_results, feedback):  # fmt: skip
                conn.execute(delete(table).where(table.c.task_id == task_id))
            searchtext.delete_task(conn, task_id)

        self._transaction(apply)

    # -- reading ---------------------------------------------------------------------------

    def get_task(self, task_id: str) -> TaskRecord:
        with self._read_engine.connect() as conn:
            row = conn.execute(select(tasks).where(tasks.c.id == task_id)).mappings().first()
        if row is None:
            raise TaskNotFoundError(f"no task with id {task_id!r} in {self.display_uri}")
        return TaskRecord.from_row(dict(row))

    @property
    def display_uri(self) -> str:
        return make_url(self.uri).render_as_string(hide_password=True)

    def find_tasks(self, query: TaskQuery) -> list[TaskRecord]:
        stmt = select(tasks)
        if query.project is not None:
            if query.include_subprojects:
                stmt = stmt.where(
                    or_(
                        tasks.c.project == query.project,
                        tasks.c.project.startswith(query.project + "/", autoescape=True),
                    )
                )
            else:
                stmt = stmt.where(tasks.c.project == query.project)
        if query.name is not None:
            stmt = stmt.where(tasks.c.name == query.name)
        if query.status:
            stmt = stmt.where(tasks.c.status.in_(query.status))
        stmt = stmt.order_by(tasks.c.created.desc(), tasks.c.id.desc())
        with self._read_engine.connect() as conn:
            found = [TaskRecord.from_row(dict(r)) for r in conn.execute(stmt).mappings()]
        if query.tags:
            wanted = set(query.tags)
            found = [t for t in found if wanted.issubset(t.tags)]
        if query.limit is not None:
            found = found[: query.limit]
        return found

    def get_parameters(self, task_id: str) -> list[ParameterRecord]:
        stmt = select(parameters).where(
            parameters.c.task_id == task_id, parameters.c.type != DELETED_PARAMETER
        )
        with self._read_engine.connect() as conn:
            rows = conn.execute(stmt.order_by(parameters.c.section, parameters.c.name)).mappings()
            return [ParameterRecord(**dict(r)) for r in rows]

    def get_configurations(self, task_id: str) -> list[ConfigurationRecord]:
        stmt = select(configurations).where(configurations.c.task_id == task_id)
        with self._read_engine.connect() as conn:
            rows = conn.execute(stmt.order_by(configurations.c.name)).mappings()
            return [ConfigurationRecord(**dict(r)) for r in rows]

    def get_events(
        self, task_id: str, kind: str, metric: str | None = None, variant: str | None = None
    ) -> list[Event]:
        conditions = [events.c.task_id == task_id, events.c.kind == kind]
        if metric is not None:
            conditions.append(events.c.metric == metric)
        if variant is not None:
            conditions.append(events.c.variant == variant)
        stmt = (
            select(
                events.c.kind,
                events.c.ts,
                events.c.metric,
                events.c.variant,
                events.c.iter,
                events.c.value,
                events.c.level,
                events.c.text,
                events.c.data,
            )
            .where(and_(*conditions))
            .order_by(events.c.ts, events.c.writer, events.c.seq)
        )
        with self._read_engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [event_from_row(row) for row in rows]

    def get_artifacts(self, task_id: str) -> list[ArtifactRecord]:
        stmt = select(artifacts).where(artifacts.c.task_id == task_id).order_by(artifacts.c.name)
        with self._read_engine.connect() as conn:
            return [ArtifactRecord(**dict(r)) for r in conn.execute(stmt).mappings()]

    def get_models(self, task_id: str) -> list[ModelRecord]:
        stmt = select(models).where(models.c.task_id == task_id).order_by(models.c.created)
        with self._read_engine.connect() as conn:
            return [ModelRecord(**dict(r)) for r in conn.execute(stmt).mappings()]
