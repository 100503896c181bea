"""The ``chaintrack`` command, run in-process (``cli.main``) and once as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from chaintrack import OutputModel, Task, __version__, cli

COMMANDS = ("tasks", "show", "demo")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def make_task(
    project: str = "proj", name: str = "run", tags: list[str] | None = None, fail: bool = False
) -> Task:
    task = Task.init(project_name=project, task_name=name, tags=tags)
    if fail:
        task.mark_failed(status_reason="boom")
    else:
        task.close()
    return task


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"chaintrack {__version__}\n"


def test_version_in_a_real_process(chaintrack_home: Path) -> None:
    executable = Path(sys.executable).with_name("chaintrack")
    assert executable.exists(), "the console script is installed with the package"
    done = subprocess.run(
        [str(executable), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "CHAINTRACK_HOME": str(chaintrack_home)},
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, f"chaintrack {__version__}\n", "")


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys)
    assert code == 2
    assert out.startswith("usage: chaintrack")
    for command in COMMANDS:
        assert command in out


@pytest.mark.parametrize("argv", [["--help"], *[[c, "--help"] for c in COMMANDS]])
def test_help_on_every_command(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 0
    out = capsys.readouterr().out
    prog = " ".join(["chaintrack", *argv[:-1]])
    assert out.startswith(f"usage: {prog}")
    assert "-h, --help" in out


def test_tasks_with_an_empty_store(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "tasks")
    assert code == 0
    assert out.startswith("No tasks in sqlite:///")
    assert err == ""


def test_tasks_prints_a_table_newest_first(capsys: pytest.CaptureFixture[str]) -> None:
    older = make_task("rag/eval", "baseline", tags=["nightly", "gpt"])
    newer = make_task("rag/eval", "top-k 8", tags=["nightly"], fail=True)

    code, out, err = run(capsys, "tasks")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == [
        "id", "project", "name", "type", "status", "tags", "started", "duration",
    ]  # fmt: skip
    assert set(lines[1]) <= {"-", " "}
    assert len(lines) == 4
    assert lines[2].startswith(newer.id)
    assert "top-k 8" in lines[2]
    assert "failed" in lines[2]
    assert lines[3].startswith(older.id)
    assert "rag/eval" in lines[3]
    assert "completed" in lines[3]
    assert "nightly,gpt" in lines[3]


def test_tasks_filters(capsys: pytest.CaptureFixture[str]) -> None:
    a = make_task("p1", "a", tags=["x", "y"])
    b = make_task("p1", "b", tags=["x"], fail=True)
    c = make_task("p2", "c", tags=["y"])

    def listed(*argv: str) -> set[str]:
        code, out, err = run(capsys, "tasks", *argv)
        assert (code, err) == (0, "")
        if out.startswith("No tasks"):
            return set()
        return {line.split()[0] for line in out.splitlines()[2:]}

    assert listed() == {a.id, b.id, c.id}
    assert listed("--project", "p1") == {a.id, b.id}
    assert listed("-p", "p2") == {c.id}
    assert listed("--status", "failed") == {b.id}
    assert listed("-s", "failed", "-s", "completed") == {a.id, b.id, c.id}
    assert listed("--tag", "x") == {a.id, b.id}
    assert listed("-t", "x", "-t", "y") == {a.id}  # every tag must match
    assert listed("--project", "p1", "--status", "completed", "--tag", "y") == {a.id}
    assert listed("--limit", "1") == {c.id}
    assert listed("-p", "p3") == set()


def test_tasks_with_an_unknown_status_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "tasks", "--status", "running")
    assert (code, out) == (1, "")
    assert err.startswith("chaintrack: error: status='running' is not valid")
    assert "in_progress" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("argv", "bad"), [(["tasks", "--limit", "0"], "--limit"),
                                           (["tasks", "-n", "many"], "--limit"),
                                           (["show", "x", "--rows", "-1"], "--rows")])  # fmt: skip
def test_bad_numbers_are_usage_errors(
    argv: list[str], bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    assert bad in capsys.readouterr().err


def test_show_prints_everything_a_task_reported(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    task = Task.init(project_name="rag/eval", task_name="show me", tags=["nightly"])
    task.connect({"retriever": {"k": 4}, "temperature": 0.25})
    task.set_comment("a comment")
    logger = task.get_logger()
    for i, loss in enumerate([0.9, 0.4, 0.6]):
        logger.report_scalar("loss", "train", loss, i)
    logger.report_single_value("questions", 250)
    logger.report_table(
        "Session Analysis", "run 1", table_plot=pd.DataFrame({"prompt": ["p1"], "tokens": [12]})
    )
    task.upload_artifact("failures", {"q7": "wrong"})
    weights = tmp_path / "chain.json"
    weights.write_text("{}", encoding="utf-8")
    model = OutputModel(task=task, name="chain", config_text="k: 4")
    model.update_weights(weights_filename=weights)
    task.close()

    code, out, err = run(capsys, "show", task.id)
    assert (code, err) == (0, "")
    assert out.startswith(f"Task {task.id}: show me\n")
    for expected in ["project:        rag/eval", "status:         completed",
                     "tags:           nightly", "comment:        a comment"]:  # fmt: skip
        assert expected in out

    def section(title: str) -> list[list[str]]:
        block = out.split(f"\n{title}\n", 1)[1].split("\n\n", 1)[0]
        return [line.split() for line in block.splitlines()[2:]]

    assert section("Parameters") == [["General/retriever/k", "4"], ["General/temperature", "0.25"]]
    # last, min, max and the last iteration
    assert section("Scalars (last values)") == [["loss", "train", "0.6", "0.4", "0.9", "2"]]
    assert section("Single values") == [["questions", "250.0"]]
    assert "Table Session Analysis / run 1 (1 rows)" in out
    assert "p1" in out
    artifacts = section("Artifacts")
    assert artifacts[0][:2] == ["failures", "dict"]
    assert artifacts[0][3] == task.artifacts["failures"].hash[:12]
    models = section("Output models")
    assert models[0][:2] == ["chain", model.id]
    assert models[0][2].startswith("file://")


def test_show_limits_table_rows(capsys: pytest.CaptureFixture[str]) -> None:
    task = Task.init(project_name="p", task_name="big table")
    rows: list[list[object]] = [["n"], *[[f"row-{i}"] for i in range(30)]]
    task.get_logger().report_table("t", "s", table_plot=rows)
    task.close()

    _, out, _ = run(capsys, "show", task.id)
    assert "Table t / s (30 rows)" in out
    assert "row-19" in out
    assert "row-20" not in out  # 20 rows by default
    _, out, _ = run(capsys, "show", task.id, "--rows", "2")
    assert "row-1" in out
    assert "row-2" not in out


def test_show_a_task_with_nothing_reported(capsys: pytest.CaptureFixture[str]) -> None:
    task = make_task("p", "empty")
    code, out, _ = run(capsys, "show", task.id)
    assert code == 0
    for absent in ["Parameters", "Scalars", "Artifacts", "Output models", "Table "]:
        assert absent not in out


def test_show_does_not_pass_terminal_escapes_through(capsys: pytest.CaptureFixture[str]) -> None:
    # Reported text is untrusted (LLM output): an escape sequence in it must not reach the
    # terminal, where it could recolor, retitle or hide lines.
    evil = "\x1b[2J\x1b]0;pwned\x07"
    task = Task.init(project_name="p", task_name=f"name{evil}")
    task.set_comment(f"comment{evil}")
    task.connect({"prompt": f"say{evil}"})
    task.get_logger().report_table(f"title{evil}", "s", table_plot=[["output"], [f"cell{evil}"]])
    task.close()

    code, out, _ = run(capsys, "show", task.id)
    assert code == 0
    assert "\x1b" not in out
    assert "\x07" not in out
    for visible in ["name", "comment", "say", "title", "cell"]:
        assert f"{visible} [2J ]0;pwned" in out


def test_show_an_unknown_task_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "show", "0123456789abcdef")
    assert code == 1
    assert out == ""
    assert err.startswith("chaintrack: error: no task with id '0123456789abcdef'")
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1


def test_demo_stores_a_task(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "demo")
    assert code == 0
    task_id = out.split("Stored task ", 1)[1].split()[0]
    assert f"chaintrack show {task_id}" in out

    task = Task.get_task(task_id=task_id)
    assert task.get_status() == "completed"
    assert set(task.get_reported_tables()["Session Analysis"]) == {
        "simple_sequential",
        "Agent with Tools",
    }

    code, out, _ = run(capsys, "show", task_id)
    assert code == 0
    assert "Table Session Analysis / simple_sequential (6 rows)" in out


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("postgresql://app:s3cret@db.internal:5432/tasks", "postgresql://app:***@db.internal:5432/tasks"),
        ("postgresql+psycopg://app:p%40ss@db/tasks", "postgresql+psycopg://app:***@db/tasks"),
        ("https://token@tracking.example.com/", "https://***@tracking.example.com/"),
        ("sqlite:////home/me/.chaintrack/chaintrack.db", "sqlite:////home/me/.chaintrack/chaintrack.db"),
    ],
)  # fmt: skip
def test_the_tracking_uri_is_shown_without_secrets(uri: str, shown: str) -> None:
    assert cli._display_uri(uri) == shown


def test_a_missing_postgres_driver_names_the_extra(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The driver is hidden from this process: `import psycopg` raises ImportError.
    monkeypatch.setitem(sys.modules, "psycopg", None)
    monkeypatch.setenv("CHAINTRACK_TRACKING_URI", "postgresql://app:s3cret@127.0.0.1:1/tasks")
    code, _, err = run(capsys, "tasks")
    assert code == 1
    assert "chaintrack[postgres]" in err
    assert "s3cret" not in err


def test_an_unusable_tracking_uri_does_not_print_its_password(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAINTRACK_TRACKING_URI", "http://app:s3cret@127.0.0.1:1/")
    code, _, err = run(capsys, "tasks")
    assert code == 1
    assert err.startswith("chaintrack: error:")
    assert "s3cret" not in err
