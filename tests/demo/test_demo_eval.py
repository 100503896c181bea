"""``chaintrack demo eval``: two prompt versions of the support bot (scripted stand-in models,
labelled as such), evaluated on the bundled dataset and compared example by example."""

from __future__ import annotations

import re

import pytest

from chaintrack import Dataset, Task, cli
from chaintrack.demo.eval_models import overlap, support_answer


def test_demo_eval_compares_two_prompt_versions_and_says_how_to_open_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["demo", "eval"]) == 0
    out = capsys.readouterr().out
    assert "SCRIPTED STAND-INS, not language models" in out
    assert "Dataset support-questions (20 examples)" in out
    judge = re.search(r"^judge\s+([\d.]+)\s+([\d.]+)$", out, re.MULTILINE)
    assert judge is not None and float(judge[2]) > float(judge[1])  # v2 is better overall
    assert re.search(r"^cost_usd\s+unknown\s+unknown$", out, re.MULTILINE)  # no price: unknown
    worse = out.split("got worse than", 1)[1].split("got better than", 1)[0]
    assert ": 2\n" in worse and "warranty-1" in worse and "address-2" in worse
    ids = re.search(r"chaintrack experiments compare (\w+) (\w+)", out)
    assert ids is not None
    assert f"/experiments/compare?ids={ids[1]}&ids={ids[2]}" in out
    first, second = (Task.get_task(task_id=i) for i in (ids[1], ids[2]))
    assert (first.name, second.name) == ("support bot prompt v1", "support bot prompt v2")
    assert "scripted-stand-in" in first.get_tags() and first.task_type == "testing"
    dataset = Dataset.get(dataset_name="support-questions", dataset_project="support-bot-demo")
    assert len(dataset) == 20 and dataset.is_final
    # a second run reuses the dataset's version
    assert cli.main(["demo", "eval"]) == 0
    capsys.readouterr()
    assert len(Dataset.list_datasets("support-bot-demo")) == 1


def test_the_stand_ins_follow_their_script() -> None:
    assert support_answer("Answer briefly.", "How long is the warranty?") == (
        "The warranty lasts 2 years.")  # fmt: skip
    assert "policy" in support_answer("Cite the policy.", "How do I get a refund?")
    assert overlap("within 30 days", "refund within 30 days") == 0.75
