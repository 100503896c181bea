"""The spool folder's own disk is full while the database cannot be written.

The spool folder is a tiny tmpfs filled to the last byte, and the database file is made
immutable for a while under a running application. Reports are then held in memory, bounded by
CHAINTRACK_QUEUE_SIZE: when they fit, nothing is lost once the database is writable again;
when they do not, the newest are dropped, counted, and the count is told.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_writer_unwritable_store import can_make_immutable, database_files
from writer_children import WAIT, child, immutable, stored, task_id_of, wait_for_line

__all__ = ["can_make_immutable"]  # a fixture, used by name


@pytest.fixture
def full_spool(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "spool-disk"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(folder)],
                             capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"no small file system can be mounted here: {mounted.stderr.strip()}")
    try:
        with (folder / "filler").open("wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 512)
            except OSError:
                pass  # the disk is full
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def outage(home: Path, spool_folder: Path, queue_size: int) -> tuple[str, str | None, list[int]]:
    app = child(home, "report", "5000", "2", CHAINTRACK_SPOOL_DIR=str(spool_folder),
                CHAINTRACK_QUEUE_SIZE=str(queue_size))  # fmt: skip
    with app:
        task_id = task_id_of(wait_for_line(app, "reported 1000"))
        immutable(database_files(home), True)
        try:
            wait_for_line(app, "reported 4000")
        finally:
            immutable(database_files(home), False)
        _, err = app.communicate(timeout=WAIT)
    assert app.returncode == 0, err
    return err, *stored(home, task_id)


@pytest.mark.slow
def test_a_full_spool_disk_holds_reports_in_memory_and_loses_none_that_fit(
    chaintrack_home: Path, full_spool: Path, can_make_immutable: None
) -> None:
    err, status, iterations = outage(chaintrack_home, full_spool, queue_size=10_000)
    assert iterations == list(range(5000)), err
    assert status == "completed"
    assert err.count(f"the spool folder {full_spool} cannot be written") == 1, err
    assert "No space left on device" in err
    assert "dropped" not in err


@pytest.mark.slow
def test_past_the_memory_bound_the_dropped_reports_are_counted_and_told(
    chaintrack_home: Path, full_spool: Path, can_make_immutable: None
) -> None:
    err, status, iterations = outage(chaintrack_home, full_spool, queue_size=200)
    assert status == "completed"
    assert len(iterations) == len(set(iterations)) and len(iterations) < 5000
    said = err.split(" reports of this process were dropped in all")[0].rsplit(" ", 1)[-1]
    assert int(said) == 5000 - len(iterations), err
