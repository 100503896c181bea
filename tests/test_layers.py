"""Each room of the package knows only the rooms below it (docs: DESIGN's layout): the store
knows no producer of events, and the server, which reads tasks, never imports the SDK, which
writes them (a server process must not start writer threads or console capture by accident)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "chaintrack"

#: room -> rooms it must not import
FORBIDDEN = {
    "store": ("chaintrack.sdk", "chaintrack.langchain", "chaintrack.server", "chaintrack.clearml"),
    "server": ("chaintrack.sdk", "chaintrack.langchain"),
}


def imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return found


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_a_room_imports_no_room_above_it(room: str) -> None:
    offending = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in sorted((PACKAGE / room).rglob("*.py"))
        for name in imports(path)
        if name.startswith(FORBIDDEN[room]) or name in ("chaintrack.Task", "chaintrack.Logger")
    ]
    assert offending == []
