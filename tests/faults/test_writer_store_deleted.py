"""The store folder is deleted while a process writes (``rm -rf ~/.chaintrack``).

SQLite would go on writing into the unlinked file and everything would vanish with the
process. The writer notices within a second, says loudly what was lost, creates a new store at
the same place and goes on: the task and everything reported since are there.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from writer_children import WAIT, child, stored, task_id_of, wait_for_line


@pytest.mark.slow
def test_a_deleted_store_folder_is_recreated_with_the_task_and_what_follows(
    chaintrack_home: Path,
) -> None:
    app = child(chaintrack_home, "report", "20000", "5")
    with app:
        task_id = task_id_of(wait_for_line(app, "reported 3000"))
        shutil.rmtree(chaintrack_home)
        wait_for_line(app, "reported 12000")  # about 2 s later
        wait_for_line(app, "closing")
        out, err = app.communicate(timeout=WAIT)
    assert app.returncode == 0, err
    assert "was deleted" in err and "A new store is created at the same place" in err
    assert "closed in" in out
    status, iterations = stored(chaintrack_home, task_id)
    assert status == "completed"
    # Everything reported from a second after the deletion on is in the new store, once.
    assert iterations == sorted(set(iterations))
    assert set(range(12000, 20000)) <= set(iterations)
