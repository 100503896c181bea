"""The two tables of a session: "Action Records" and "Session Analysis"."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chaintrack.langchain.records import SESSION_COLUMNS, SESSION_EXTRA_COLUMNS
from chaintrack.text import METRIC_NAMES


def columns_of(records: Sequence[dict[str, Any]]) -> list[str]:
    """Every key of the records, in the order they first appear (as pandas would)."""
    seen: dict[str, None] = {}
    for record in records:
        for key in record:
            if key not in seen:
                seen[key] = None
    return list(seen)


def rows_table(records: Sequence[dict[str, Any]], columns: Sequence[str]) -> list[list[Any]]:
    """A table for ``report_table``: the header, then one row per record. Nothing is dropped:
    a record without a column has None there (the original dropped every column with one empty
    cell, seed defect 3)."""
    return [list(columns), *([record.get(c) for c in columns] for record in records)]


def action_records_table(records: Sequence[dict[str, Any]]) -> list[list[Any]]:
    return rows_table(records, columns_of(records) or ["action"])


def session_columns(complexity: bool) -> list[str]:
    return [*SESSION_COLUMNS, *(METRIC_NAMES if complexity else ()), *SESSION_EXTRA_COLUMNS]


def session_analysis_table(rows: Sequence[dict[str, Any]], complexity: bool) -> list[list[Any]]:
    """One row per LLM generation: its prompt (and the step of its start record), the model's
    name, its output (and the step of its end record), its token usage and its metrics."""
    return rows_table(rows, session_columns(complexity))


def as_text(table: list[list[Any]], max_colwidth: int = 40) -> str:
    """A table as plain text for the console (control characters shown escaped)."""
    import pandas as pd

    frame = pd.DataFrame(table[1:], columns=table[0])
    if frame.empty:
        return f"(no rows; columns: {', '.join(map(str, table[0]))})"
    text: str = frame.to_string(max_colwidth=max_colwidth)
    return "".join(ch if ch.isprintable() or ch == "\n" else " " for ch in text)
