"""The background writer: no I/O on the caller's thread, spilling, replays, retries, poison items,
and the spool format (Hypothesis)."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chaintrack import Task, config
from chaintrack.sdk import spool, writers
from chaintrack.sdk.writer import SPILL_BLOCK, Writer
from chaintrack.store import open_store
from chaintrack.store.records import (
    SCALAR,
    ArtifactRecord,
    ConfigurationRecord,
    EventRow,
    ModelRecord,
    ParameterRecord,
    TaskRecord,
    WriteBatch,
)
from chaintrack.store.sql import SqlStore

WAIT = 60.0  # seconds: a bound for hangs only, never a speed requirement


class Gate:
    """Holds the writer thread inside ``Store.write`` until the test lets it through."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._permits = 0
        self._open = False
        self.entered = 0  # writes that reached the gate so far
        self.threads: set[str] = set()

    def passage(self) -> None:
        with self._cond:
            self.threads.add(threading.current_thread().name)
            self.entered += 1
            self._cond.notify_all()
            ok = self._cond.wait_for(lambda: self._open or self._permits > 0, WAIT)
            assert ok, "the test never opened the gate"
            if not self._open:
                self._permits -= 1

    def allow(self, n: int = 1) -> None:
        with self._cond:
            self._permits += n
            self._cond.notify_all()

    def open(self) -> None:
        with self._cond:
            self._open = True
            self._cond.notify_all()

    def wait_for_writer(self, write: int = 1) -> None:
        """Until the ``write``-th write (counting from 1) has reached the gate."""
        with self._cond:
            assert self._cond.wait_for(lambda: self.entered >= write, WAIT)


class WrappedStore:
    """A real SqlStore whose writes pass a gate and may fail on purpose (named as a stand-in)."""

    def __init__(self, inner: SqlStore, fail: Callable[[WriteBatch], bool] | None = None) -> None:
        self.inner = inner
        self.uri = inner.uri
        self.gate: Gate | None = None
        self.fail = fail
        self.calls = 0

    @property
    def blobs(self) -> Any:
        return self.inner.blobs

    def write(self, batch: WriteBatch) -> None:
        self.calls += 1
        if self.gate is not None:
            self.gate.passage()
        if self.fail is not None and self.fail(batch):
            raise RuntimeError("injected failure")
        self.inner.write(batch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    """Every SqlStore write of this test passes this gate (closed until the test opens it)."""
    gate = Gate()
    original = SqlStore.write

    def gated(self: SqlStore, batch: WriteBatch) -> None:
        gate.passage()
        original(self, batch)

    monkeypatch.setattr(SqlStore, "write", gated)
    yield gate
    gate.open()


@pytest.fixture
def sql_store() -> SqlStore:
    store = open_store()
    assert isinstance(store, SqlStore)
    return store


@pytest.fixture
def make_writer(sql_store: SqlStore) -> Iterator[Callable[..., tuple[Writer, WrappedStore]]]:
    made: list[tuple[Writer, WrappedStore]] = []

    def make(max_items: int = 100_000, fail: Callable[[WriteBatch], bool] | None = None) -> Any:
        wrapped = WrappedStore(sql_store, fail)
        w = Writer(wrapped, config.spool_dir(), max_items)  # type: ignore[arg-type]
        made.append((w, wrapped))
        return w, wrapped

    yield make
    for w, wrapped in made:
        if wrapped.gate is not None:
            wrapped.gate.open()
        w.shutdown(WAIT)


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting (a hang, not a speed check)"
        time.sleep(0.001)


def ev(w: Writer, task_id: str, i: int, value: float | None = None) -> spool.Item:
    row = (task_id, w.wid, next(w.seq), SCALAR, 1000.0 + i, "m", "v", i,
           float(i) if value is None else value, None, None, None)  # fmt: skip
    return (spool.EVENT, row)


def new_task(task_id: str) -> spool.Item:
    record = TaskRecord(task_id, "p", task_id, "training", "in_progress", 1.0, 1.0)
    return (spool.NEW_TASK, record)


def event_count(task_id: str | None = None) -> int:
    with contextlib.closing(sqlite3.connect(config.home() / "chaintrack.db")) as conn, conn:
        if task_id is None:
            return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
        sql = "SELECT count(*) FROM events WHERE task_id = ?"
        return int(conn.execute(sql, (task_id,)).fetchone()[0])


def iterations(task_id: str) -> list[int]:
    with contextlib.closing(sqlite3.connect(config.home() / "chaintrack.db")) as conn, conn:
        sql = "SELECT iter FROM events WHERE task_id = ? AND kind = 'scalar' ORDER BY iter"
        return [r[0] for r in conn.execute(sql, (task_id,))]


def spool_files(pattern: str = "*") -> list[Path]:
    folder = config.spool_dir()
    return sorted(folder.glob(pattern)) if folder.is_dir() else []


# -- the caller's thread ---------------------------------------------------------------------


def test_reports_return_while_the_store_is_blocked_and_are_written_by_the_writer_thread(
    gate: Gate,
) -> None:
    task = Task.init("writer", "blocked")
    logger = task.get_logger()
    for i in range(1000):
        logger.report_scalar("loss", "train", float(i), i)  # would hang if it wrote itself
    logger.report_text("done")
    gate.wait_for_writer()
    assert event_count() == 0
    assert "chaintrack-writer" in {t.name for t in threading.enumerate()}
    gate.open()
    task.close()
    assert gate.threads == {"chaintrack-writer"}
    assert iterations(task.id) == list(range(1000))
    # Batched: the task row, the 1,001 reports queued behind it, the environment and the close
    # take a handful of transactions, not one per report.
    assert gate.entered <= 5


def test_media_and_artifacts_are_written_to_files_on_the_writer_thread(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from chaintrack.store.blobs import LocalBlobStore

    threads: list[str] = []
    put_bytes, put_file = LocalBlobStore.put_bytes, LocalBlobStore.put_file

    def recording_bytes(self: LocalBlobStore, key: str, data: bytes) -> str:
        threads.append(threading.current_thread().name)
        return put_bytes(self, key, data)

    def recording_file(self: LocalBlobStore, key: str, path: Path) -> str:
        threads.append(threading.current_thread().name)
        return put_file(self, key, path)

    monkeypatch.setattr(LocalBlobStore, "put_bytes", recording_bytes)
    monkeypatch.setattr(LocalBlobStore, "put_file", recording_file)
    sample = tmp_path / "plot.html"
    sample.write_text("<p>file</p>")
    task = Task.init("writer", "media")
    task.get_logger().report_media("sample", "html", 0, stream="<p>hi</p>", file_extension="html")
    task.get_logger().report_media("sample", "file", 0, local_path=sample)
    task.upload_artifact("data", {"a": 1})
    task.upload_artifact("file", sample)
    task.close()
    loaded = Task.get_task(task_id=task.id)
    samples = loaded.get_debug_samples()
    assert [Path(s.local_path or "").read_text() for s in samples] == ["<p>hi</p>", "<p>file</p>"]
    assert loaded.artifacts["data"].get() == {"a": 1}
    assert Path(loaded.artifacts["file"].get_local_copy()).read_text() == "<p>file</p>"
    assert threads == ["chaintrack-writer"] * 4


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads Linux's /proc")
def test_the_writer_thread_leaves_the_applications_signals_to_the_application() -> None:
    """SIGTERM and SIGINT must reach a thread that runs Python handlers, never the writer."""
    task = Task.init("writer", "signals")
    task.get_logger().report_text("start the writer", print_console=False)
    assert task.flush(wait_for_uploads=True)  # the thread is past its start
    thread = task._writer._thread  # other tests' writer threads may still be ending
    assert thread is not None
    assert thread.name == "chaintrack-writer"
    status = Path(f"/proc/self/task/{thread.native_id}/status").read_text()
    blocked = int(status.split("SigBlk:")[1].split()[0], 16)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        assert blocked & (1 << (signum - 1)), signum
    main = Path(f"/proc/self/task/{threading.main_thread().native_id}/status").read_text()
    main_blocked = int(main.split("SigBlk:")[1].split()[0], 16)
    assert not main_blocked & (1 << (signal.SIGTERM - 1))


# -- spilling ---------------------------------------------------------------------------------


def test_a_full_queue_spills_to_the_spool_and_flush_writes_everything_once(
    monkeypatch: pytest.MonkeyPatch, gate: Gate
) -> None:
    monkeypatch.setenv("CHAINTRACK_QUEUE_SIZE", "50")
    task = Task.init("writer", "spill")
    logger = task.get_logger()
    for i in range(5000):
        logger.report_scalar("loss", "train", float(i), i)
    w = task._writer
    assert w.spilled_total > 4000
    [spooled] = spool_files("*.spool")
    in_file = spool.read_file(spooled)
    assert len(in_file) > 4000 - SPILL_BLOCK  # the rest is held until it fills a block
    gate.open()
    assert task.flush(wait_for_uploads=True)
    assert iterations(task.id) == list(range(5000))
    assert spool_files() == []  # replayed and deleted
    task.close()
    assert Task.get_task(task_id=task.id).get_status() == "completed"


def test_spilled_items_keep_their_order_relative_to_later_items(
    make_writer: Callable[..., tuple[Writer, WrappedStore]],
) -> None:
    """A task created while the queue was full, then closed: it must end completed.

    Regression: the update went to the (drained) queue and was applied before the spooled
    task row was inserted, so the task stayed in_progress forever."""
    w, store = make_writer(max_items=50)
    store.gate = gate = Gate()
    w.put(ev(w, "other", 0))
    gate.wait_for_writer()  # batch 1 (one event) is being written
    for i in range(1, 51):
        w.put(ev(w, "other", i))  # the queue is full
    w.put(new_task("late"))  # spilled
    gate.allow(1)  # batch 1 done; the writer takes the 50 queued events as batch 2
    gate.wait_for_writer(2)
    w.put((spool.TASK_UPDATE, "late", {"status": "completed", "last_update": 5.0}))
    gate.open()
    assert w.flush(WAIT)
    assert store.inner.get_task("late").status == "completed"
    assert event_count("other") == 51


def test_flush_waits_for_spilled_items_even_while_other_threads_keep_reporting(
    make_writer: Callable[..., tuple[Writer, WrappedStore]],
) -> None:
    w, store = make_writer(max_items=50)
    store.gate = gate = Gate()
    w.put(ev(w, "noise", 0))
    gate.wait_for_writer()
    for i in range(1, 51):
        w.put(ev(w, "noise", i))  # the queue is full
    for i in range(10):
        w.put(ev(w, "mine", i))  # spilled
    flushed: list[bool] = []
    flusher = threading.Thread(target=lambda: flushed.append(w.flush(WAIT)))
    flusher.start()
    wait_until(lambda: w.pending() == 50 + 1 + 10)  # the flush's barrier is queued
    gate.allow(1)  # batch 1 done; batch 2 = the 50 noise events and the flush's barrier
    gate.wait_for_writer(2)
    w.put(ev(w, "noise", 51))  # another thread reports while batch 2 is written
    gate.open()
    flusher.join(WAIT)
    assert flushed == [True]
    assert event_count("mine") == 10  # everything put before flush() is in the store


def test_many_threads_through_a_tiny_queue_every_event_exactly_once(
    monkeypatch: pytest.MonkeyPatch, gate: Gate
) -> None:
    monkeypatch.setenv("CHAINTRACK_QUEUE_SIZE", "50")
    task = Task.init("writer", "threads")
    logger = task.get_logger()

    def work(t: int) -> None:
        for i in range(2000):
            logger.report_scalar("loss", f"thread-{t}", float(i), i)
            if t == 0 and i == 1000:
                gate.open()  # the queue surely overflowed; from now on spill and drain overlap

    workers = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(WAIT)
    task.close()
    assert task._writer.spilled_total >= 1000 - 50  # the spool was used on the way
    scalars = Task.get_task(task_id=task.id).get_reported_scalars()["loss"]
    assert {s: v["x"] for s, v in scalars.items()} == {
        f"thread-{t}": list(range(2000)) for t in range(4)
    }
    assert event_count(task.id) == 8000
    assert spool_files() == []


def test_reporting_after_a_drain_still_reaches_the_store() -> None:
    """drain_all() (run by the SIGTERM handler, whose chained app handler may keep the process
    running) must not leave a writer that silently stops writing."""
    task = Task.init("writer", "after drain")
    logger = task.get_logger()
    logger.report_scalar("loss", "train", 1.0, 0)
    drained = task._writer._thread
    assert drained is not None
    writers.drain_all(WAIT)
    drained.join(WAIT)  # this task's drained writer thread has ended (other tests' may not)
    assert not drained.is_alive()
    logger.report_scalar("loss", "train", 2.0, 1)
    assert task._writer.flush(WAIT)
    assert iterations(task.id) == [0, 1]


def test_shutdown_with_a_hung_store_ends_in_time_and_keeps_every_item_in_the_spool(
    make_writer: Callable[..., tuple[Writer, WrappedStore]],
) -> None:
    w, store = make_writer()
    store.gate = gate = Gate()
    items = [ev(w, "t", i) for i in range(100)]
    w.put(items[0])
    gate.wait_for_writer()  # the first item is in flight, the store does not answer
    for item in items[1:]:
        w.put(item)
    w.shutdown(0.2)  # returns although the store hangs (the test would time out otherwise)
    [spooled] = spool_files("*.spool")
    kept = spool.read_file(spooled)
    assert kept == items  # the in-flight item too, in order


# -- replays of dead processes ----------------------------------------------------------------


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def write_spool(path: Path, items: list[spool.Item]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(spool.encode(i) + "\n" for i in items))


def store_key() -> str:
    return Writer(open_store(), config.spool_dir(), 1)._key


@pytest.mark.parametrize("suffix", [".jsonl", ".replaying", ".recovering-{pid}"])
def test_spool_files_of_a_dead_process_are_replayed_by_the_next_writer(suffix: str) -> None:
    pid = dead_pid()
    rows: list[spool.Item] = [new_task("orphan")]
    rows += [(spool.EVENT, ("orphan", 42, i, SCALAR, 1.0 + i, "m", "v", i, 1.0, None, None,
                            None)) for i in range(300)]  # fmt: skip
    path = config.spool_dir() / f"{store_key()}-{pid}-2a{suffix.format(pid=pid)}"
    write_spool(path, rows)
    # Also a file of a live process (this one's parent) and of another store: left alone.
    alive = config.spool_dir() / f"{store_key()}-{os.getppid()}-1.jsonl"
    write_spool(alive, [new_task("alive")])
    other = config.spool_dir() / f"0123456789ab-{pid}-3.jsonl"
    write_spool(other, [new_task("other store")])

    task = Task.init("writer", "next process")
    task.close()
    assert event_count("orphan") == 300
    assert Task.get_task(task_id="orphan").name == "orphan"
    assert not path.exists()
    assert alive.exists() and other.exists()
    assert [p.name for p in spool_files()] == sorted([alive.name, other.name])


def test_damaged_lines_of_an_orphan_spool_file_are_skipped_not_fatal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = [(spool.EVENT, ("t", 42, i, SCALAR, 1.0, "m", "v", i, 1.0, None, None, None))
            for i in range(3)]  # fmt: skip
    lines = [spool.encode(good[0]), '["e"]', '["zz", {}]', "not json", spool.encode(good[1]),
             "", spool.encode(good[2])[:-7]]  # fmt: skip
    path = config.spool_dir() / f"{store_key()}-{dead_pid()}-1.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(lines))  # the last line was cut short by the crash
    with caplog.at_level(logging.WARNING, logger="chaintrack"):
        Task.init("writer", "next").close()
    assert iterations("t") == [0, 1]
    assert caplog.text.count("skipping a damaged part") == 4
    assert spool_files() == []


def test_damaged_blocks_of_an_orphan_spool_file_are_skipped_not_fatal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def block(first: int, count: int) -> bytes:
        return spool.pack_block(
            [(spool.EVENT, ("t", 42, i, SCALAR, 1.0, "m", "v", i, 1.0, None, None, None))
             for i in range(first, first + count)]
        )  # fmt: skip

    garbage = (12).to_bytes(4, "little") + b"not marshal!"
    content = spool.MAGIC + block(0, 3) + garbage + block(3, 2) + block(5, 4)[:-5]
    path = config.spool_dir() / f"{store_key()}-{dead_pid()}-1.spool"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)  # the last block was cut short by the crash
    with caplog.at_level(logging.WARNING, logger="chaintrack"):
        Task.init("writer", "next").close()
    assert iterations("t") == [0, 1, 2, 3, 4]
    assert caplog.text.count("skipping a damaged part") == 2
    assert spool_files() == []


def test_a_killed_process_leaves_its_spilled_events_for_the_next_one(
    chaintrack_home: Path,
) -> None:
    """A real crash: the child spills (its store hangs), then dies by SIGKILL; the next process
    that writes to the store replays what the child had spilled."""
    script = Path(__file__).with_name("chaintrack_child.py")
    env = {"CHAINTRACK_HOME": str(chaintrack_home), "CHAINTRACK_QUEUE_SIZE": "50",
           "CHAINTRACK_AUTO_CONNECT_STREAMS": "0", "PATH": "/usr/bin:/bin"}  # fmt: skip
    child = subprocess.Popen(
        [sys.executable, str(script), "hung-store", "3000"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    with child:
        assert child.stdout is not None
        task_id = child.stdout.readline().split()[1]
        assert child.stdout.readline().strip() == "reported all"
        child.kill()
    assert event_count(task_id) == 1  # only the line flushed before the store hung
    [spooled] = spool_files("*.spool")
    spilled = [i[1][7] for i in spool.read_file(spooled)]
    # Not in the file: the in-flight batch, a full queue, and a block still filling in memory.
    assert len(spilled) >= 3000 - 51 - 50 - SPILL_BLOCK

    Task.init("writer", "next").close()
    # What the child held in memory died with it; what it had spilled did not.
    assert iterations(task_id) == spilled
    assert spool_files() == []


# -- failures ---------------------------------------------------------------------------------


def test_a_failing_batch_is_retried_and_then_written_one_by_one_with_the_poison_item_saved(
    make_writer: Callable[..., tuple[Writer, WrappedStore]], caplog: pytest.LogCaptureFixture
) -> None:
    tries: list[int] = []  # size of each batch that held the poison item

    def poison(batch: WriteBatch) -> bool:
        if any(row[7] == 13 for row in batch.events):
            tries.append(len(batch.events))
            return True
        return False

    w, store = make_writer(fail=poison)
    store.gate = gate = Gate()
    w.put(new_task("t"))
    gate.wait_for_writer()  # the task row is in flight; the events queue up behind it
    items = [ev(w, "t", i) for i in range(40)]
    for item in items:
        w.put(item)
    with caplog.at_level(logging.ERROR, logger="chaintrack"):
        gate.open()
        assert w.flush(WAIT)
    assert tries == [40, 40, 40, 1]  # three tries of the batch, then the item alone
    assert iterations("t") == [i for i in range(40) if i != 13]
    [failed] = spool_files("*.failed")
    assert spool.read_file(failed) == [items[13]]
    assert w.failed_total == 1
    assert str(failed) in caplog.text
    assert "injected failure" in caplog.text
    # Not a file that nothing reads: once its process is gone, the next writer of the store
    # writes it (here the store takes it: the failure was the wrapper's).
    Task.init("writer", "same process").close()
    assert failed.exists() and event_count("t") == 39  # its owner is alive: left alone
    dead = failed.with_name(failed.name.replace(f"-{os.getpid()}-", "-999999999-"))
    failed.rename(dead)
    writers.drain_all(WAIT)
    writers.forget_writers()  # as in a new process: a new writer, which looks for orphans
    Task.init("writer", "next process").close()
    assert not dead.exists()
    assert event_count("t") == 40


def test_a_batch_whose_outcome_was_lost_is_retried_without_duplicates(
    make_writer: Callable[..., tuple[Writer, WrappedStore]],
) -> None:
    """The first write commits, then fails (as when a connection drops after COMMIT): the retry
    writes the same batch again, and identities keep it from being stored twice."""
    w, store = make_writer()
    first = [True]

    def lose_outcome(batch: WriteBatch) -> bool:
        if first and batch.events:
            first.clear()
            store.inner.write(batch)
            return True
        return False

    store.fail = lose_outcome
    store.gate = gate = Gate()
    w.put(ev(w, "t", 0))
    gate.wait_for_writer()
    for i in range(1, 100):
        w.put(ev(w, "t", i))
    gate.open()
    assert w.flush(WAIT)
    assert not first  # the failure did happen
    assert iterations("t") == list(range(100))
    assert spool_files() == []
    assert w.failed_total == 0


# -- the spool format (Hypothesis) ------------------------------------------------------------

any_text = st.text(st.characters(exclude_categories=()), max_size=50)  # surrogates too
opt_text = st.none() | any_text
int64 = st.integers(-(2**63), 2**63 - 1)
json_value = st.recursive(
    st.none() | st.booleans() | int64 | st.floats(allow_nan=False) | any_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=10,
)

event_rows = st.tuples(
    any_text, st.integers(0, 2**62), st.integers(1, 2**62), st.sampled_from(["scalar", "log"]),
    st.floats(allow_nan=False), opt_text, opt_text, st.none() | int64,
    st.none() | st.floats(), st.none() | st.integers(0, 50), opt_text, opt_text,
)  # fmt: skip
task_records = st.builds(
    TaskRecord,
    id=any_text, project=any_text, name=any_text, type=any_text, status=any_text,
    created=st.floats(allow_nan=False), last_update=st.floats(allow_nan=False),
    tags=st.lists(any_text, max_size=3), script=st.dictionaries(any_text, json_value, max_size=3),
    started=st.none() | st.floats(allow_nan=False),
)  # fmt: skip
items = st.one_of(
    st.tuples(st.just(spool.EVENT), event_rows),
    st.tuples(st.just(spool.NEW_TASK), task_records),
    st.tuples(
        st.just(spool.TASK_UPDATE), any_text, st.dictionaries(any_text, json_value, max_size=4)
    ),
    st.tuples(
        st.just(spool.PARAMETER),
        st.builds(ParameterRecord, any_text, any_text, any_text, any_text, any_text, any_text),
    ),
    st.tuples(
        st.just(spool.CONFIGURATION),
        st.builds(ConfigurationRecord, any_text, any_text, any_text, any_text, any_text),
    ),
    st.tuples(
        st.just(spool.ARTIFACT),
        st.builds(
            ArtifactRecord,
            any_text,
            any_text,
            any_text,
            any_text,
            int64,
            any_text,
            st.floats(allow_nan=False),
            any_text,
            any_text,
            any_text,
        ),
    ),
    st.tuples(
        st.just(spool.MODEL),
        st.builds(ModelRecord, any_text, any_text, any_text, st.floats(allow_nan=False)),
    ),
)  # fmt: skip


def same(a: Any, b: Any) -> bool:
    """Equality where NaN equals NaN (an event's value may be NaN)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    return bool(a == b) and type(a) is type(b)


@given(item=items)
def test_spool_lines_decode_to_the_item_that_was_encoded(item: spool.Item) -> None:
    line = spool.encode(item)
    assert "\n" not in line  # one item per line, whatever the text holds
    json.loads(line)  # plain JSON
    assert same(spool.decode(line), item)


def test_a_barrier_cannot_be_spilled() -> None:
    with pytest.raises(ValueError, match="cannot be spilled"):
        spool.encode((spool.BARRIER, threading.Event()))


def test_event_row_is_a_tuple_after_decoding() -> None:
    row: EventRow = ("t", 1, 2, "scalar", 1.0, "m", "v", 3, 4.0, None, None, None)
    decoded = spool.decode(spool.encode((spool.EVENT, row)))
    assert decoded == (spool.EVENT, row)
    assert isinstance(decoded[1], tuple)


def test_spool_blocks_of_the_earlier_list_format_are_still_replayed() -> None:
    """Events are marshalled as tuples now (cheaper to write and read); a spool file that an
    earlier version left behind holds them as lists, and is replayed all the same."""
    import marshal

    old = [[spool.EVENT, ["t", 42, i, SCALAR, 1.0, "m", "v", i, 1.0, None, None, None]]
           for i in range(3)]  # fmt: skip
    payload = marshal.dumps(old)
    new = spool.pack_block(
        [(spool.EVENT, ("t", 42, i, SCALAR, 1.0, "m", "v", i, 1.0, None, None, None))
         for i in range(3, 5)]
    )  # fmt: skip
    path = config.spool_dir() / f"{store_key()}-{dead_pid()}-1.spool"
    path.parent.mkdir(parents=True)
    path.write_bytes(spool.MAGIC + len(payload).to_bytes(4, "little") + payload + new)
    assert [item[1][2] for item in spool.read_file(path)] == [0, 1, 2, 3, 4]
    assert all(type(item[1]) is tuple for item in spool.read_file(path))
    Task.init("writer", "next").close()
    assert iterations("t") == [0, 1, 2, 3, 4]
