"""A run killed mid-way (SIGKILL of the process running ``evaluate``) keeps every result it
stored, and ``resume=`` runs only the examples without one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from eval_helpers import adder, qa_rows

from chaintrack import Dataset, Task, evaluate
from chaintrack import scorers as s
from chaintrack.store import open_store

WAIT = 60.0
CHILD = """
import sys, time
from chaintrack import Dataset, evaluate
from chaintrack import scorers as s
sys.path.insert(0, {helpers!r})
from eval_helpers import adder

def slow(inputs):
    time.sleep(0.05)
    return adder(inputs)

evaluate(slow, Dataset.get(dataset_id={dataset!r}), [s.exact_match()],
         experiment_name="killed", max_concurrency=1, progress=False)
"""


def test_resume_after_the_process_was_killed_runs_only_what_is_missing(tmp_path: Path) -> None:
    ds = Dataset.create("arith", "evals").add_rows(qa_rows(60)).finalize()
    code = CHILD.format(helpers=str(Path(__file__).parent), dataset=ds.id)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    log = tmp_path / "child.log"
    with log.open("wb") as out:
        child = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=out)
    store = open_store()
    stored = 0
    deadline = time.monotonic() + WAIT
    experiment_id = None
    while stored < 10:
        assert child.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the child stored too few results"
        found = Task.get_tasks(project_name="evals", task_name="killed")
        if found:
            experiment_id = found[0].id
            stored = len(store.get_results(experiment_id))
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(WAIT)
    assert experiment_id is not None
    kept = {r.example_id for r in store.get_results(experiment_id)}
    assert 10 <= len(kept) < 60

    ran: list[str] = []

    def counted(inputs: dict[str, Any]) -> str:
        ran.append(inputs["question"])
        return adder(inputs)

    resumed = evaluate(counted, ds, [s.exact_match()], resume=experiment_id, progress=False)
    assert len(ran) == 60 - len(kept)
    results = resumed.results
    assert len(results) == 60 and results["example_id"].is_unique
    assert list(results["exact_match"]) == [1.0] * 60
    assert Task.get_task(task_id=experiment_id).get_status() == "completed"
