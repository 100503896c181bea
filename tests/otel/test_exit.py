"""Nothing lost at exit or on SIGTERM: a child process records spans through
``chaintrack.otel.register`` in a tight loop and ends at once (normally, or by SIGTERM while
its spans still wait to be converted); every span is in the store afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from chaintrack.store.records import SPAN
from chaintrack.store.sql import SqlStore

SPANS = 10_000
CHILD = textwrap.dedent("""
    import os, signal, sys, time
    from chaintrack.otel import register

    provider = register(project_name="exit", task_name=sys.argv[1], set_global=False)
    tracer = provider.get_tracer("tests.exit")
    for i in range(int(sys.argv[2])):
        with tracer.start_as_current_span(f"step {i}", attributes={
            "openinference.span.kind": "CHAIN", "input.value": f"input {i}"}):
            pass
    from chaintrack import Task
    print(Task.current_task().id, flush=True)
    if sys.argv[1] == "sigterm":
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(60)
""")


@pytest.mark.parametrize("ending", ["exit", "sigterm"])
def test_every_span_is_stored_when_the_process_ends(tmp_path: Path, ending: str) -> None:
    home = tmp_path / "child-home"
    env = {**os.environ, "CHAINTRACK_HOME": str(home), "CHAINTRACK_AUTO_CONNECT_STREAMS": "0"}
    env.pop("CHAINTRACK_TRACKING_URI", None)
    child = subprocess.run([sys.executable, "-c", CHILD, ending, str(SPANS)], env=env,
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    expected = -signal.SIGTERM if ending == "sigterm" else 0
    assert child.returncode == expected, child.stderr
    task_id = child.stdout.split()[0]
    store = SqlStore(f"sqlite:///{home / 'chaintrack.db'}")
    try:
        names = {e.data["name"] for e in store.get_events(task_id, SPAN)}
        assert names == {f"step {i}" for i in range(SPANS)}
        status = store.get_task(task_id).status
        assert status == ("stopped" if ending == "sigterm" else "completed")
    finally:
        store.close()
