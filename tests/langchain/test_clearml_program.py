"""A program written for ClearML runs on chaintrack with only its import lines changed: the
seed page's scenario 1 (the LangChain handler) plus the Task and Logger calls ClearML programs
make beside it (parameters, plots with plotly, matplotlib and numpy, progress, the task's page).

The model is the page's ``OpenAI(temperature=0)``; here the import line brings the demo's
scripted stand-in under that name, since no OpenAI server can be reached from the tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from chaintrack import Task

CLEARML_PROGRAM = """
import json

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import plotly.express as px
from clearml import Logger, Task
from langchain_community.callbacks import ClearMLCallbackHandler
from langchain_core.callbacks import StdOutCallbackHandler
from langchain_openai import OpenAI

task = Task.init(project_name="langchain_callback_demo", task_name="llm",
                 task_type=Task.TaskTypes.inference, tags=["test"])
task.set_parameters_as_dict({"Args": {"temperature": 0, "prompts": 6}})
task.set_parameter("Args/model", "text-davinci-003", description="the completion model")

# Setup and use the ClearML Callback
clearml_callback = ClearMLCallbackHandler(
    task_type="inference",
    project_name="langchain_callback_demo",
    task_name="llm",
    tags=["test"],
    visualize=True,
    complexity_metrics=True,
    stream_logs=True,
)
callbacks = [StdOutCallbackHandler(), clearml_callback]
llm = OpenAI(temperature=0, callbacks=callbacks)

# SCENARIO 1 - LLM
llm_result = llm.generate(["Tell me a joke", "Tell me a poem"] * 3)
clearml_callback.flush_tracker(langchain_asset=llm, name="simple_sequential")

logger = Logger.current_logger()
lengths = [len(g[0].text.split()) for g in llm_result.generations]
logger.report_histogram("answer length", "words", values=lengths, xaxis="answer", yaxis="words")
points = np.array([[i, n] for i, n in enumerate(lengths)], dtype=float)
logger.report_scatter2d("answer length", "by prompt", scatter=points, mode="markers")
logger.report_plotly("answers", "scatter", figure=px.scatter(x=list(range(6)), y=lengths))
figure, axes = plt.subplots()
axes.bar(["joke", "poem"], [lengths[0], lengths[1]])
logger.report_matplotlib_figure("answers", "matplotlib", figure=figure, iteration=0)
logger.report_single_value("generations", len(llm_result.generations))
task.set_progress(100)
page = task.get_output_log_web_page()
task.close()
print(json.dumps({"id": task.id, "page": page}))
"""
IMPORTS = {
    "from clearml import Logger, Task": "from chaintrack import Logger, Task",
    "from langchain_community.callbacks import ClearMLCallbackHandler":
        "from chaintrack.langchain import ClearMLCallbackHandler",
    "from langchain_openai import OpenAI":
        "from chaintrack.demo.models import ScriptedLLM as OpenAI",
}  # fmt: skip


def test_a_clearml_program_runs_with_only_its_imports_changed(tmp_path: Path) -> None:
    program = CLEARML_PROGRAM
    for original, replacement in IMPORTS.items():
        assert original in program
        program = program.replace(original, replacement)
    changed = [
        (a, b)
        for a, b in zip(CLEARML_PROGRAM.splitlines(), program.splitlines(), strict=True)
        if a != b
    ]
    assert [a for a, _ in changed] == list(IMPORTS)  # the import lines, nothing else
    script = tmp_path / "summarize.py"
    script.write_text(program, encoding="utf-8")
    env = {**os.environ, "CHAINTRACK_UI_URL": "http://127.0.0.1:8600"}
    run = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])

    task = Task.get_task(task_id=result["id"])
    assert result["page"] == f"http://127.0.0.1:8600/tasks/{task.id}"
    assert (task.get_project_name(), task.name, task.task_type) == (
        "langchain_callback_demo", "llm", "inference")  # fmt: skip
    assert task.get_status() == "completed" and task.get_progress() == 100
    assert task.get_parameter("Args/model") == "text-davinci-003"
    assert task.get_parameter("Args/prompts", cast=True) == 6
    tables = task.get_reported_tables()
    assert list(tables["Action Records"]["simple_sequential"]["action"]) == (
        ["on_llm_start"] * 6 + ["on_llm_end"] * 6
    )
    plots = {(p["metric"], p["variant"]): json.loads(p["plot_str"])
             for p in task.get_reported_plots()}  # fmt: skip
    assert set(plots) == {("answer length", "words"), ("answer length", "by prompt"),
                          ("answers", "scatter"), ("answers", "matplotlib")}  # fmt: skip
    assert plots[("answer length", "words")]["data"][0]["type"] == "bar"
    assert len(plots[("answer length", "words")]["data"][0]["y"]) == 6
    assert plots[("answers", "matplotlib")]["data"][0]["type"] == "bar"
    assert task.get_reported_single_value("generations") == 6.0
