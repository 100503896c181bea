"""`chaintrack reprice`: stored tasks priced again from the command line."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from chaintrack import Task, cli
from fresh import release_stores


def test_reprice_prices_a_stored_task_again_and_prints_before_and_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CHAINTRACK_PRICES", raising=False)
    task = Task.init(project_name="cli/costs", task_name="run")
    now = time.time()
    task.get_logger()._report_span({
        "span_id": "s", "parent_id": None, "kind": "llm", "name": "call", "start_time": now,
        "end_time": now + 1, "model_name": "house-model-7b", "prompt_tokens": 2_000_000,
        "completion_tokens": 0})  # fmt: skip
    task.close()
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"models": {"house-model-7b": {"input_mtok": 0.25}}}))
    monkeypatch.setenv("CHAINTRACK_PRICES", str(prices))
    release_stores()  # as a new process: the store opens with the price file

    assert cli.main(["reprice", "--project", "cli"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith(task.id))
    assert row.split()[1:] == ["1", "1", "0", "unknown", "$0.5"]
    assert "priced with CHAINTRACK_PRICES prices.json" in out
    assert cli.main(["reprice", "0" * 32]) == 1
    assert "no task with id" in capsys.readouterr().err
