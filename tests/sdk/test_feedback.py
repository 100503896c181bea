"""Human feedback through the SDK: ``task.log_feedback`` on a task, a span or an example, read
back with ``task.get_feedback()`` and ``chaintrack.get_feedback``; bad values get clear errors
and store nothing; on SQLite and PostgreSQL. Also the SDK's cost functions (``trace_costs``,
``reprice``) on spans reported through ``Logger._report_span``."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import genai_prices
import pytest

import chaintrack
from chaintrack import Task
from chaintrack.errors import InvalidArgumentError, TaskNotFoundError
from chaintrack.sdk import writers
from fresh import release_stores


@pytest.fixture(autouse=True)
def tracking_uri(store_uri: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("CHAINTRACK_TRACKING_URI", store_uri)
    monkeypatch.delenv("CHAINTRACK_PRICES", raising=False)
    yield store_uri
    # Before the database goes: every task's events written.
    for task in Task.open_tasks():
        task.close()
    writers.drain_all(10)


def report(task: Task, span_id: str, parent: str | None = None, **fields: Any) -> None:
    now = time.time()
    payload = {"span_id": span_id, "parent_id": parent, "kind": "chain", "name": span_id,
               "start_time": now, "end_time": now + 0.1, "status": "ok"}  # fmt: skip
    payload.update(fields)
    task.get_logger()._report_span(payload)


def test_feedback_on_a_task_a_span_and_an_example_reads_back_as_given() -> None:
    task = Task.init(project_name="fb", task_name="run")
    report(task, "root")
    report(task, "call", "root", kind="chat_model", model_name="gpt-4o-mini",
           prompt_tokens=10, completion_tokens=5)  # fmt: skip
    ids = [
        task.log_feedback("helpful", True, span_id="call", comment="clear answer", author="ana"),
        task.log_feedback("quality", 4.5, example_id="ex-1"),
        task.log_feedback("category", "billing"),
        task.log_feedback("helpful", False, span_id="root"),
    ]
    frame = task.get_feedback()
    assert list(frame["id"]) == ids
    assert list(frame["name"]) == ["helpful", "quality", "category", "helpful"]
    assert list(frame["value"]) == [True, 4.5, "billing", False]
    assert list(frame["value_type"]) == ["bool", "number", "label", "bool"]
    assert frame.loc[0, "span_id"] == "call" and frame.loc[0, "comment"] == "clear answer"
    assert frame.loc[0, "author"] == "ana" and frame.loc[0, "source"] == "sdk"
    assert frame.loc[1, "example_id"] == "ex-1"
    assert str(frame["created"].dt.tz) == "UTC"
    # A task loaded later (another process, the compare view) reads the same feedback.
    task.close()
    again = Task.get_task(task_id=task.id)
    assert list(again.get_feedback()["value"]) == [True, 4.5, "billing", False]
    other = Task.init(project_name="fb", task_name="other")
    other.log_feedback("quality", 2, example_id="ex-1")
    both = chaintrack.get_feedback([task.id, other.id])
    per_example = both[both["name"] == "quality"].set_index("task_id")["value"].to_dict()
    assert per_example == {task.id: 4.5, other.id: 2.0}


@pytest.mark.parametrize(
    ("name", "value", "extra", "message"),
    [
        ("", 1, {}, "non-empty name"),
        ("q", None, {}, "a number (a score), a bool (thumbs up/down) or a string"),
        ("q", {"score": 1}, {}, "a number (a score)"),
        ("q", math.nan, {}, "finite number"),
        ("q", "   ", {}, "non-empty string"),
        ("q", "x" * 300, {}, "at most 256"),
        ("q", 1, {"comment": 5}, "comment=5"),
        ("q", 1, {"span_id": "no-such-span"}, "has no span with this id"),
    ],
)
def test_bad_feedback_is_refused_with_what_to_give_and_nothing_is_stored(
    name: str, value: Any, extra: dict[str, Any], message: str
) -> None:
    task = Task.init(project_name="fb", task_name="bad")
    with pytest.raises(InvalidArgumentError) as caught:
        task.log_feedback(name, value, **extra)
    assert message in str(caught.value)
    assert task.get_feedback().empty


def test_feedback_on_an_unknown_task_is_refused() -> None:
    task = Task.init(project_name="fb", task_name="x")
    ghost = Task(task._store, task.record.__class__(**{**task.record.__dict__, "id": "0" * 32}))
    with pytest.raises(TaskNotFoundError):
        ghost.log_feedback("q", 1)


def test_trace_costs_and_repricing_through_the_sdk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = Task.init(project_name="costs", task_name="run")
    for n in range(2):
        report(task, f"root{n}")
        report(task, f"call{n}", f"root{n}", kind="chat_model", model_name="my-finetune",
               prompt_tokens=1_000_000, completion_tokens=0)  # fmt: skip
    report(task, "root2")
    report(task, "call2", "root2", kind="llm", model_name="gpt-4o-mini", prompt_tokens=1000,
           completion_tokens=100)  # fmt: skip
    task.close()
    mini = float(genai_prices.calc_price(genai_prices.Usage(input_tokens=1000, output_tokens=100),
                                         "gpt-4o-mini").total_price)  # fmt: skip
    spans = task.get_spans().set_index("span_id")
    assert spans.loc["call2", "cost_usd"] == pytest.approx(mini)
    assert spans.loc["call2", "price_source"] == f"genai-prices {genai_prices.__version__}"
    assert math.isnan(spans.loc["call0", "cost_usd"])  # unknown, not 0
    costs = chaintrack.trace_costs(task.id)
    assert costs["root0"] is None and costs["root1"] is None  # unknown model: unknown
    assert costs["root2"] == pytest.approx(mini)
    with pytest.raises(InvalidArgumentError, match="task ids or project"):
        chaintrack.reprice()

    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"models": {"my-finetune": {"input_mtok": 0.4}}}))
    monkeypatch.setenv("CHAINTRACK_PRICES", str(prices))
    release_stores()  # a new process would open the store with the new price file
    result = chaintrack.reprice(project="costs")
    assert list(result["task_id"]) == [task.id]
    assert result.loc[0, "cost_after"] == pytest.approx(0.8 + mini)
    assert result.loc[0, "unknown"] == 0
    assert chaintrack.trace_costs(task.id, ["root0"]) == {"root0": pytest.approx(0.4)}
