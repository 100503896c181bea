"""Tables for ``report_table``: anything tabular becomes ``{"columns": [...], "rows": [...]}``."""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chaintrack.errors import InvalidArgumentError, invalid, unsupported


def json_cell(value: Any) -> Any:
    """A JSON-safe version of one cell: numbers, strings, booleans and None stay; NaN -> None."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        try:
            return json_cell(item())
        except (TypeError, ValueError):
            pass
    try:
        import pandas as pd

        # Before the datetime test: pandas.NaT is a datetime whose isoformat() is "NaT".
        if value is pd.NaT or (not isinstance(value, (list, dict)) and pd.isna(value)):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


def _from_dataframe(frame: Any) -> dict[str, Any]:
    columns = [str(c) for c in frame.columns]
    rows = [[json_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    index = [json_cell(v) for v in frame.index]
    has_index = not (frame.index.dtype.kind == "i" and index == list(range(len(index))))
    table: dict[str, Any] = {"columns": columns, "rows": rows}
    if has_index:
        table["index"] = index
        table["index_name"] = str(frame.index.name) if frame.index.name is not None else ""
    return table


def _from_rows(rows: Sequence[Any], argument: str) -> dict[str, Any]:
    if not rows:
        raise invalid(argument, rows, "a table needs a header row (a list of column names)")
    header, *body = rows
    if not isinstance(header, (list, tuple)):
        raise invalid(argument, rows, "a list of rows must be a list of lists, header first")
    width = len(header)
    for number, row in enumerate(body, start=1):
        if not isinstance(row, (list, tuple)) or len(row) != width:
            raise InvalidArgumentError(
                f"{argument}: row {number} has "
                f"{len(row) if isinstance(row, (list, tuple)) else 'no'} cells but the header "
                f"has {width}; every row must have as many cells as the header."
            )
    return {
        "columns": [str(c) for c in header],
        "rows": [[json_cell(v) for v in row] for row in body],
    }


def _from_csv(path: Path, argument: str) -> dict[str, Any]:
    if not path.is_file():
        raise invalid(argument, str(path), "the path of an existing CSV file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:  # -sig: Excel's BOM is not a cell
            rows = list(csv.reader(f))
    except UnicodeDecodeError as exc:
        raise invalid(argument, str(path), f"a CSV file in UTF-8 ({exc.reason})") from None
    return _from_rows(rows, argument)


def to_table(table_plot: Any = None, csv_path: str | Path | None = None) -> dict[str, Any]:
    """Normalize a DataFrame, a CSV path or a list of rows (header first)."""
    if csv_path is not None:
        return _from_csv(Path(csv_path), "csv")
    if table_plot is None:
        raise InvalidArgumentError(
            "report_table needs table_plot= (a pandas DataFrame or a list of rows, header first) "
            "or csv= (a path to a CSV file)"
        )
    if hasattr(table_plot, "itertuples") and hasattr(table_plot, "columns"):
        return _from_dataframe(table_plot)
    if isinstance(table_plot, (str, Path)):
        return _from_csv(Path(table_plot), "table_plot")
    if isinstance(table_plot, (list, tuple)):
        return _from_rows(table_plot, "table_plot")
    raise unsupported(
        "table_plot",
        table_plot,
        "it is not tabular; pass a pandas DataFrame, a list of rows (header first) or the path "
        "of a CSV file",
    )


def to_dataframe(table: dict[str, Any]) -> Any:
    import pandas as pd

    frame = pd.DataFrame(table["rows"], columns=table["columns"])
    if len(frame):
        # A column with no value at all (NaN and None are both stored as null) comes back as
        # floats (NaN), as pandas.read_csv reads an empty column, not as objects (None).
        for position in range(frame.shape[1]):
            if frame.iloc[:, position].isna().all():
                frame.isetitem(position, frame.iloc[:, position].astype("float64").to_numpy())
    if "index" in table:
        frame.index = pd.Index(table["index"], name=table.get("index_name") or None)
    return frame
