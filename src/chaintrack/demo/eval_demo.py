"""``chaintrack demo eval``: two prompt versions of a small support bot compared on a bundled
dataset of 20 questions, offline.

The bot is a real LangChain chain (prompt | chat model | parser) whose chat model is a
SCRIPTED STAND-IN (see ``eval_models.py``); the scorers are deterministic (contains, fuzzy
match, tokens) plus an LLM judge played by a scripted stand-in judge.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chaintrack import config

DATA = Path(__file__).with_name("data") / "support_questions.jsonl"
PROJECT = "support-bot-demo"
DATASET = "support-questions"
PROMPTS = {
    "prompt v1": "You are the support bot of an online shop. Answer briefly.",
    "prompt v2": "You are the support bot of an online shop. Cite the relevant policy and give "
    "the customer the next steps.",
}
CRITERIA = "Does the answer give the customer the facts of the expected answer?"


def support_bot(system_prompt: str) -> Any:
    """The bot: a LangChain chain around the scripted stand-in chat model."""
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    from chaintrack.demo.eval_models import ScriptedSupportModel

    prompt = ChatPromptTemplate.from_messages([("system", system_prompt),
                                               ("human", "{question}")])  # fmt: skip
    return prompt | ScriptedSupportModel() | StrOutputParser()


def demo_dataset() -> Any:
    """The bundled dataset, imported once per store (later runs reuse its version)."""
    from chaintrack.errors import DatasetNotFoundError
    from chaintrack.eval import Dataset

    try:
        found = Dataset.get(dataset_name=DATASET, dataset_project=PROJECT)
        if found.is_final:
            return found
    except DatasetNotFoundError:
        pass
    about = "Customer questions of the support bot demo"
    return Dataset.import_file(DATA, DATASET, PROJECT, finalize=True, description=about)


def scorers() -> list[Any]:
    from chaintrack import scorers as s
    from chaintrack.demo.eval_models import ScriptedJudge

    return [s.contains(), s.fuzzy_match(method="partial_ratio"), s.tokens(),
            s.llm_judge(ScriptedJudge(), CRITERIA, scale=(1, 5), name="judge")]  # fmt: skip


def run(progress: bool = True) -> tuple[Any, Any]:
    """Run both prompt versions; returns the two experiments (v1, v2)."""
    from chaintrack.eval import evaluate

    dataset = demo_dataset()
    found = []
    for name, system_prompt in PROMPTS.items():
        found.append(evaluate(
            support_bot(system_prompt), dataset, scorers(), experiment_name=f"support bot {name}",
            project_name=PROJECT, params={"system_prompt": system_prompt},
            tags=["demo", "scripted-stand-in"], progress=progress,
        ))  # fmt: skip
    return found[0], found[1]


def main(progress: bool = True) -> int:
    from chaintrack.eval import compare
    from chaintrack.eval.command import rows_frame, summary_lines
    from chaintrack.store import open_store

    print("chaintrack demo eval: two prompt versions of a support bot, compared example by "
          "example.\n")  # fmt: skip
    print("Models: SCRIPTED STAND-INS, not language models (the bot's answers and the judge's "
          "grades are\nwritten in advance; tagged 'scripted-stand-in').\n")  # fmt: skip
    v1, v2 = run(progress)
    comparison = compare.build(open_store(), [v1.id, v2.id])
    print(f"Dataset {DATASET} ({len(comparison.rows)} examples); means per experiment:\n")
    print("\n".join(summary_lines(comparison)))
    for what in ("worse", "better"):
        rows = compare.select_rows(comparison, sort="delta", score="judge", row_filter=what,
                                   descending=what == "better")  # fmt: skip
        print(f"\nWhere {v2.name!r} got {what} than {v1.name!r} (judge score): {len(rows)}")
        if rows:
            print(rows_frame(comparison, rows, "judge", 1).to_string(index=False))
    print(f"\nStored in {config.tracking_uri()}")
    print(f"On the terminal: chaintrack experiments compare {v1.id} {v2.id}")
    print("In the web UI:   chaintrack ui, then open "
          f"http://127.0.0.1:8600/experiments/compare?ids={v1.id}&ids={v2.id}")  # fmt: skip
    return 0
