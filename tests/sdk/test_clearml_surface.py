"""The table of ClearML's Task and Logger names in docs/sdk.md stays true: it lists every public
name of the installed clearml SDK's classes, and what it says of each holds on chaintrack's."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

import chaintrack
from chaintrack.errors import NotSupportedError
from chaintrack.sdk import clearml_surface as surface

clearml = pytest.importorskip("clearml")
DOC = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"
CLASSES = [
    ("Task", clearml.Task, chaintrack.Task, surface.TASK),
    ("Logger", clearml.Logger, chaintrack.Logger, surface.LOGGER),
]


def _public(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


def test_the_doc_holds_the_table_as_generated() -> None:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("<!-- clearml-surface: start -->\n") + len(
        "<!-- clearml-surface: start -->\n"
    )
    end = text.index("<!-- clearml-surface: end -->")
    assert text[start:end] == surface.render_markdown(), (
        "docs/sdk.md's ClearML table is stale: paste the output of "
        "chaintrack.sdk.clearml_surface.render_markdown() between its markers"
    )


@pytest.mark.parametrize(("title", "theirs", "ours", "table"), CLASSES)
def test_every_public_name_of_clearml_is_in_the_table(
    title: str, theirs: type, ours: type, table: dict[str, tuple[str, str]]
) -> None:
    names = _public(theirs)
    assert len(names) > 25  # the walk sees ClearML's classes, not an empty stand-in
    assert sorted(names - set(table)) == [], f"ClearML's {title} has names the table lacks"
    assert sorted(set(table) - names) == [], f"the table lists names ClearML's {title} lacks"
    for name, (status, note) in table.items():
        assert status in (surface.WORKS, surface.DIFFERENT, surface.REFUSED), name
        if status != surface.WORKS:
            assert note, f"{title}.{name}: say how it differs, or why it is refused"


@pytest.mark.parametrize(("title", "theirs", "ours", "table"), CLASSES)
def test_what_the_table_says_holds(
    title: str, theirs: type, ours: type, table: dict[str, tuple[str, str]]
) -> None:
    task = chaintrack.Task.init(project_name="surface", task_name="walk")
    instance: Any = task if title == "Task" else task.get_logger()
    for name, (status, note) in table.items():
        attribute = inspect.getattr_static(ours, name)
        refusal = getattr(getattr(attribute, "__func__", attribute), "__doc__", "") or ""
        if isinstance(attribute, property):
            refusal = attribute.fget.__doc__ or "" if attribute.fget else ""
        if status != surface.REFUSED:
            assert not refusal.startswith("Refused"), f"{title}.{name} is said to work"
            continue
        with pytest.raises(NotSupportedError) as raised:
            value = getattr(instance, name)  # a refused property raises here
            value()
        assert note in str(raised.value) and f"{title}.{name}" in str(raised.value)
    task.close()


def test_methods_that_work_take_clearmls_arguments() -> None:
    """Every argument name ClearML's method takes, chaintrack's takes too, for every method the
    table says works (one that lacks some is "works differently" and its note says which)."""
    checked = 0
    for _, theirs, ours, table in CLASSES:
        for name, (status, _) in table.items():
            if status != surface.WORKS or not callable(getattr(theirs, name, None)):
                continue
            if inspect.isclass(getattr(theirs, name)):
                continue
            try:
                wanted = inspect.signature(getattr(theirs, name)).parameters
                have = inspect.signature(getattr(ours, name)).parameters
            except (TypeError, ValueError):
                continue
            if any(p.kind is p.VAR_KEYWORD for p in have.values()):
                continue
            missing = [a for a, p in wanted.items() if a not in have and a != "self"
                       and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]  # fmt: skip
            assert missing == [], f"{name} lacks ClearML's arguments {missing}"
            checked += 1
    assert checked > 50
