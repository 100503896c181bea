"""Running tests/sdk/chaintrack_child.py as the application under fault, and reading its store."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

CHILD = Path(__file__).resolve().parent.parent / "sdk" / "chaintrack_child.py"
WAIT = 120.0  # a guard against hangs, not a speed requirement


def child(home: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    variables = {
        "CHAINTRACK_HOME": str(home),
        "CHAINTRACK_AUTO_CONNECT_STREAMS": "0",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    if "PYTHONPATH" in os.environ:
        variables["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        env=variables,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_line(process: subprocess.Popen[str], wanted: str) -> list[str]:
    """Read the child's output up to the line ``wanted`` (its lines so far)."""
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line.strip())
        if line.strip() == wanted:
            return seen
    raise AssertionError(f"the child ended before {wanted!r}: {seen[-5:]}")


def task_id_of(lines: list[str]) -> str:
    assert lines[0].startswith("task "), lines
    return lines[0].split()[1]


def stored(home: Path, task_id: str) -> tuple[str | None, list[int]]:
    """The task's status and its scalars' iterations, read with sqlite3 itself."""
    with contextlib.closing(sqlite3.connect(home / "chaintrack.db")) as conn:
        row = conn.execute("SELECT status FROM tasks WHERE id = ?", (task_id,)).fetchone()
        iters = [r[0] for r in conn.execute(
            "SELECT iter FROM events WHERE task_id = ? AND kind = 'scalar' ORDER BY iter",
            (task_id,),
        )]  # fmt: skip
    return (row[0] if row else None), iters


def immutable(paths: list[Path], on: bool) -> None:
    """chattr +i / -i (root, on a file system that has the attribute)."""
    for path in paths:
        if path.exists():
            subprocess.run(["chattr", "+i" if on else "-i", str(path)], check=True)
