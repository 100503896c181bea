"""The database cannot be written for a while, or until the process ends: nothing is lost.

The database file and its WAL are made immutable (``chattr +i``) under a running application:
every write fails with an I/O error, as on a full disk or a read-only remount. The writer keeps
what is reported in the spool folder, says so once, and writes it when the file can be written
again; a process that ends first leaves it to the next process, final status included.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from writer_children import WAIT, child, immutable, stored, task_id_of, wait_for_line

from chaintrack import Task


@pytest.fixture
def can_make_immutable(tmp_path: Path) -> None:
    probe = tmp_path / "probe"
    probe.write_text("x")
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed: no way to make the database unwritable here")
    done = subprocess.run(["chattr", "+i", str(probe)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"files cannot be made immutable here: {done.stderr.strip()}")
    subprocess.run(["chattr", "-i", str(probe)], check=True)


def database_files(home: Path) -> list[Path]:
    # Not the -shm file: SQLite maps it into memory, and an immutable mapping kills the
    # process with SIGBUS (a fault of this test's making, not one a disk produces).
    return [home / "chaintrack.db", home / "chaintrack.db-wal"]


@pytest.mark.slow
def test_an_unwritable_database_for_a_few_seconds_loses_nothing(
    chaintrack_home: Path, can_make_immutable: None
) -> None:
    app = child(chaintrack_home, "report", "20000", "4")
    with app:
        task_id = task_id_of(wait_for_line(app, "reported 3000"))
        immutable(database_files(chaintrack_home), True)
        try:
            wait_for_line(app, "reported 12000")
        finally:
            immutable(database_files(chaintrack_home), False)
        wait_for_line(app, "closing")
        _, err = app.communicate(timeout=WAIT)
    assert app.returncode == 0, err
    status, iterations = stored(chaintrack_home, task_id)
    assert iterations == list(range(20000))
    assert status == "completed"
    # Told once that the store could not be written, with the reason and where reports wait.
    assert err.count("cannot be written now") == 1, err
    assert "disk I/O error" in err or "readonly" in err
    assert str(chaintrack_home / "spool") in err
    assert "is reachable again" in err
    assert not list((chaintrack_home / "spool").glob("*.failed"))


@pytest.mark.slow
def test_unwritable_until_exit_the_next_process_writes_the_rest_and_the_final_status(
    chaintrack_home: Path, can_make_immutable: None
) -> None:
    app = child(chaintrack_home, "report", "5000", "1", CHAINTRACK_DRAIN_TIMEOUT="30")
    with app:
        task_id = task_id_of(wait_for_line(app, "reported 1000"))
        immutable(database_files(chaintrack_home), True)
        try:
            lines = wait_for_line(app, "closing")
            out, err = app.communicate(timeout=WAIT)
        finally:
            immutable(database_files(chaintrack_home), False)
    assert app.returncode == 0, err
    closed_in = float(out.split("closed in ")[1].split()[0])
    assert closed_in < 10, "close() waits at most about 5 s for a store it cannot write"
    status, iterations = stored(chaintrack_home, task_id)
    assert status == "in_progress" and len(iterations) < 5000 and lines
    assert list((chaintrack_home / "spool").glob("*.spool"))
    # The next chaintrack process of this store writes what was left, final status included.
    Task.init("faults", "next process").close()
    deadline = time.monotonic() + 30
    while stored(chaintrack_home, task_id)[0] != "completed" and time.monotonic() < deadline:
        time.sleep(0.2)
    status, iterations = stored(chaintrack_home, task_id)
    assert iterations == list(range(5000))
    assert status == "completed"
