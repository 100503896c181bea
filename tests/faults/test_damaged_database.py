"""Issue point 7: a store with damaged interior pages (real SQLite files, pages overwritten on
disk) gives one clear line from `chaintrack tasks` and from `Task.init` (which no longer writes
into it), naming `chaintrack store repair`, which recovers every row that can be read."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from fault_helpers import child_env

from chaintrack.store.records import SCALAR, TaskRecord, WriteBatch
from chaintrack.store.sql import SqlStore

TASKS = 6_000
EVENTS = 60_000


def _make_store(db: Path) -> None:
    store = SqlStore(f"sqlite:///{db}", blob_root=db.parent / "files")
    records = [
        TaskRecord(id=f"{i:032x}", project="p", name=f"run {i} " + "x" * 400, type="training",
                   status="completed", created=1_000.0 + i, last_update=1_000.0 + i)
        for i in range(TASKS)
    ]  # fmt: skip
    events = [
        (records[0].id, 1, i, SCALAR, 1_000.0 + i, "loss", "train", i, float(i), None,
         "x" * 60, None)
        for i in range(EVENTS)
    ]  # fmt: skip
    store.write(WriteBatch(new_tasks=records, events=events))  # type: ignore[arg-type]
    store.close()
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")


def _damage(db: Path, table: str) -> int:
    """Overwrite one interior page of ``table``'s b-tree with garbage; returns its number."""
    with sqlite3.connect(db) as conn:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?",
                            (table,)).fetchone()[0]  # fmt: skip
        pages = [r[0] for r in conn.execute(
            "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'internal' ORDER BY pageno",
            (table,)) if r[0] != root]  # fmt: skip
    assert pages, f"{table} has no interior page below its root: make more rows"
    page = pages[len(pages) // 2]
    with db.open("r+b") as f:
        f.seek((page - 1) * size + 8)
        f.write(b"\xa5" * (size - 16))
    return int(page)


def _chaintrack(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chaintrack.cli", *args],
        env=child_env(home, **env), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _task_init(home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    code = (
        "from chaintrack import Task\n"
        "from chaintrack.errors import StoreCorruptError\n"
        "try:\n"
        "    Task.init(project_name='p', task_name='after damage')\n"
        "except StoreCorruptError as exc:\n"
        "    print('refused:', exc)\n"
    )
    return subprocess.run([sys.executable, "-c", code], env=child_env(home, **env),
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip


def test_damaged_interior_pages_give_one_line_and_repair_recovers(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    db = home / "chaintrack.db"
    _make_store(db)
    _damage(db, "events")

    listed = _chaintrack(home, "tasks")
    assert listed.returncode == 1
    lines = listed.stderr.strip().splitlines()
    assert len(lines) == 1, listed.stderr  # not a 42-line traceback
    assert lines[0].startswith(f"chaintrack: error: the store {db} is damaged")
    assert f"chaintrack store repair {db}" in lines[0]

    init = _task_init(home)
    assert init.returncode == 0, init.stderr
    assert init.stdout.startswith(f"refused: the store {db} is damaged")
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        assert conn.execute("SELECT count(*) FROM tasks").fetchone()[0] == TASKS  # not written

    repaired = _chaintrack(home, "store", "repair")
    assert repaired.returncode == 0, repaired.stderr
    assert repaired.stdout.startswith(f"recovered into {db}: ")
    assert f" {TASKS} tasks" in repaired.stdout
    assert re.search(r"  events: \d+ damaged place\(s\) skipped", repaired.stdout)
    kept = list(home.glob("chaintrack.db.damaged-*"))
    assert len(kept) == 1

    store = SqlStore(f"sqlite:///{db}", blob_root=home / "files")
    try:
        recovered = store.get_events(f"{0:032x}", SCALAR)
        assert 0 < len(recovered) < EVENTS  # what the damaged page held is lost, the rest kept
        assert store.task_summary(f"{0:032x}").event_counts[SCALAR] == len(recovered)
    finally:
        store.close()
    assert _chaintrack(home, "tasks", "-n", "1").returncode == 0
    init = _task_init(home)
    assert init.returncode == 0 and not init.stdout, init.stdout + init.stderr


def test_damage_found_by_a_read_is_the_same_one_line(tmp_path: Path) -> None:
    """Stores above CHAINTRACK_QUICK_CHECK_MB are not checked at open: the damage a read runs
    into gives the same error."""
    home = tmp_path / "home"
    home.mkdir()
    db = home / "chaintrack.db"
    _make_store(db)
    _damage(db, "tasks")
    listed = _chaintrack(home, "tasks", "-n", "5000", CHAINTRACK_QUICK_CHECK_MB="0")
    assert listed.returncode == 1
    lines = listed.stderr.strip().splitlines()
    assert len(lines) == 1, listed.stderr
    assert "is damaged (database disk image is malformed)" in lines[0]
    assert f"chaintrack store repair {db}" in lines[0]
