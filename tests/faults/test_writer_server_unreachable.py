"""close() with the tracking server unreachable waits a few seconds, not the drain timeout.

Reports stay in the spool folder for the next process that logs to the server.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from writer_children import WAIT, child, task_id_of, wait_for_line


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens there once the socket is closed


@pytest.mark.slow
def test_close_with_the_server_unreachable_returns_within_seconds_and_keeps_the_reports(
    chaintrack_home: Path,
) -> None:
    uri = f"http://127.0.0.1:{closed_port()}"
    app = child(
        chaintrack_home, "report", "2000", "0.5",
        CHAINTRACK_TRACKING_URI=uri, CHAINTRACK_DRAIN_TIMEOUT="30",
    )  # fmt: skip
    with app:
        task_id_of(wait_for_line(app, "closing"))
        out, err = app.communicate(timeout=WAIT)
    assert app.returncode == 0, err
    closed_in = float(out.split("closed in ")[1].split()[0])
    assert closed_in < 10, f"close() took {closed_in} s with the server unreachable"
    spooled = list((chaintrack_home / "spool").glob("*.spool"))
    assert spooled and sum(p.stat().st_size for p in spooled) > 10_000
