"""``evaluate`` on every backend: results stored row by row with scores, errors recorded on
their row or cell, the experiment's task, repetitions, concurrency, Ctrl-C and resume."""

from __future__ import annotations

import _thread
import math
import threading
import time
from typing import Any

import pytest
from eval_helpers import adder, qa_rows

from chaintrack import Dataset, Experiment, Task, evaluate
from chaintrack import scorers as s
from chaintrack.errors import InvalidArgumentError


def _dataset(n: int = 6) -> Dataset:
    return Dataset.create("arith", "evals").add_rows(qa_rows(n)).finalize()


def test_an_experiment_stores_a_scored_row_per_example_and_a_testing_task(backend: str) -> None:
    ds = Dataset.create("arith", "evals").add_rows(
        [*qa_rows(4), {"inputs": {"question": "no numbers"}, "expected": "?", "id": "bad"}]
    ).finalize()  # fmt: skip

    def half_right(output: str, expected: str, inputs: dict[str, Any],
                   metadata: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
        return {"score": 0.5 if metadata["level"] == "easy" else 1.0, "comment": inputs["question"]}

    def broken(output: str) -> float:
        raise RuntimeError("scorer bug")

    experiment = evaluate(
        adder, ds, [s.exact_match(), s.contains(), half_right, broken, s.latency()],
        experiment_name="adder v1", params={"model": "none", "temperature": 0.0},
        tags=["nightly"], progress=False,
    )  # fmt: skip
    results = experiment.results
    assert list(results.columns) == [
        "example_id", "repetition", "inputs", "expected", "output", "exact_match", "contains",
        "half_right", "broken", "latency", "latency_ms", "total_tokens", "cost_usd", "error",
        "trace_id", "score_errors", "comments",
    ]  # fmt: skip
    assert len(results) == 5
    ok = results[results["example_id"] != "bad"]
    assert list(ok["output"]) == ["0", "2", "4", "6"]
    assert list(ok["exact_match"]) == [1.0, 1.0, 1.0, 1.0]
    assert list(ok["half_right"]) == [0.5, 0.5, 0.5, 1.0]
    assert ok["comments"].iloc[0] == {"half_right": "0 + 0"}
    # a failing scorer marks its cell, never the run
    assert all(math.isnan(v) for v in ok["broken"])
    assert ok["score_errors"].iloc[0] == {"broken": "RuntimeError: scorer bug"}
    # the target's exception is on its row; the experiment went on
    bad = results[results["example_id"] == "bad"].iloc[0]
    assert bad["error"].startswith("ValueError: invalid literal for int()")
    assert math.isnan(bad["exact_match"]) and bad["output"] is None
    assert all(r > 0 for r in ok["latency_ms"]) and list(ok["latency"]) == list(ok["latency_ms"])
    # every row links to its trace: a span of the task with the row's trace id
    spans = experiment.task.get_spans()
    assert set(results["trace_id"]) == set(spans["span_id"])

    summary = experiment.summary
    assert summary.loc["exact_match", "pass_rate"] == 1.0
    assert summary.loc["exact_match", "count"] == 4
    assert summary.loc["half_right", "mean"] == pytest.approx(0.625)
    assert math.isnan(summary.loc["half_right", "pass_rate"])
    assert summary.loc["broken", "errors"] == 4

    task = Task.get_task(task_id=experiment.id)
    assert (task.task_type, task.name, task.get_status()) == ("testing", "adder v1", "completed")
    assert task.get_tags() == ["nightly"] and task.get_project_name() == "evals"
    parameters = task.get_parameters()
    assert parameters["Evaluation/dataset_id"] == ds.id
    assert parameters["Evaluation/dataset_version"] == "1.0.0"
    assert parameters["General/temperature"] == 0.0
    assert experiment.dataset_id == ds.id and experiment.dataset_version == "1.0.0"
    assert Experiment.get(experiment.id).results["output"].tolist()[:2] == ["0", "2"]


def test_an_experiment_freezes_the_draft_version_it_runs_on(backend: str) -> None:
    draft = Dataset.create("draft", "evals").add_rows(qa_rows(2))
    experiment = evaluate(adder, draft, [s.exact_match()], progress=False)
    assert draft.is_final and Dataset.get(dataset_id=draft.id).is_final
    draft.add_rows([{"inputs": {"question": "4 + 4"}, "expected": "8"}])
    assert draft.id != experiment.dataset_id and len(draft) == 3
    assert len(Dataset.get(dataset_id=experiment.dataset_id or "")) == 2


def test_custom_scorers_return_numbers_bools_or_dicts_and_anything_else_is_an_error(
    backend: str,
) -> None:
    experiment = evaluate(
        lambda inputs: "4", _dataset(3),
        {"num": lambda output: 3, "flag": lambda expected: expected == "2",
         "bad": lambda: "not a score", "nodict": lambda: {"comment": "no score"}},
        progress=False,
    )  # fmt: skip
    frame = experiment.results
    assert list(frame["num"]) == [3.0, 3.0, 3.0]
    assert list(frame["flag"]) == [0.0, 1.0, 0.0]
    errors = frame["score_errors"].iloc[0]
    assert errors["bad"].startswith("TypeError: the scorer returned a str")
    assert "without 'score'" in errors["nodict"]
    assert experiment.summary.loc["flag", "pass_rate"] == pytest.approx(1 / 3)
    with pytest.raises(InvalidArgumentError, match="asks for answer"):
        evaluate(adder, _dataset(1), [lambda answer: 1], progress=False)


def test_repetitions_and_concurrency(backend: str) -> None:
    lock = threading.Lock()
    running, most, threads = [0], [0], set()

    def slow(inputs: dict[str, Any]) -> str:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            threads.add(threading.current_thread().name)
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return adder(inputs)

    experiment = evaluate(slow, _dataset(6), [s.exact_match()], max_concurrency=3,
                          repetitions=2, progress=False)  # fmt: skip
    frame = experiment.results
    assert len(frame) == 12 and sorted(set(frame["repetition"])) == [0, 1]
    assert frame.groupby("example_id").size().tolist() == [2] * 6
    assert most[0] == 3  # three examples ran at once
    assert all(name.startswith("chaintrack-eval") for name in threads)
    with pytest.raises(InvalidArgumentError, match="max_concurrency=0"):
        evaluate(slow, _dataset(1), [], max_concurrency=0)


def test_ctrl_c_keeps_what_was_scored_and_resume_runs_only_the_rest(backend: str) -> None:
    ds = _dataset(8)
    calls: list[str] = []
    stopped_app = threading.Event()

    def interrupted(inputs: dict[str, Any]) -> str:
        calls.append(inputs["question"])
        if len(calls) == 4:
            _thread.interrupt_main()  # the user presses Ctrl-C during the fourth example
            time.sleep(0.5)
        elif len(calls) > 4:
            # The example running when Ctrl-C lands is still running when evaluate returns:
            # however slow the machine, it is not kept.
            stopped_app.wait(30)
        return adder(inputs)

    with pytest.raises(KeyboardInterrupt):
        evaluate(interrupted, ds, [s.exact_match()], experiment_name="stopped",
                 max_concurrency=1, progress=False)  # fmt: skip
    stopped_app.set()
    stopped = Task.get_tasks(project_name="evals", task_name="stopped")[0]
    assert stopped.get_status() == "stopped"
    kept = Experiment(stopped.id).results
    assert 3 <= len(kept) < 8 and list(kept["exact_match"]) == [1.0] * len(kept)

    again: list[str] = []

    def counted(inputs: dict[str, Any]) -> str:
        again.append(inputs["question"])
        return adder(inputs)

    resumed = evaluate(counted, ds, [s.exact_match()], resume=stopped.id, progress=False)
    assert resumed.id == stopped.id
    assert len(again) == 8 - len(kept)
    assert not set(again) & {q["question"] for q in kept["inputs"]}
    final = resumed.results
    assert len(final) == 8 and final["example_id"].is_unique
    assert Task.get_task(task_id=stopped.id).get_status() == "completed"
    # resuming on another dataset is refused
    with pytest.raises(InvalidArgumentError, match="ran on dataset"):
        evaluate(counted, _dataset(2), [s.exact_match()], resume=stopped.id, progress=False)
