"""Hyperparameter flattening and encoding, table normalization, and store round trips."""

from __future__ import annotations

import itertools
import json
import logging
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaintrack import Task
from chaintrack.errors import InvalidArgumentError, UnsupportedTypeError
from chaintrack.sdk.tables import json_cell, to_dataframe, to_table
from chaintrack.store import params

# Keys without the separator: flatten/unflatten are inverses only for those (documented).
keys = st.text(st.characters(blacklist_characters="/", blacklist_categories=("Cs",)), max_size=8)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)
# Parameter values that are not themselves dicts (those are flattened into keys).
leaf_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4), max_leaves=8)
nested_params = st.recursive(
    st.dictionaries(keys, json_scalars, max_size=3),
    lambda inner: st.dictionaries(keys, inner | json_scalars, max_size=3),
    max_leaves=10,
)


# -- flatten / unflatten ------------------------------------------------------------------


def test_flatten_examples() -> None:
    assert params.flatten({"a": {"b": 1, "c": {"d": [1]}}, "e": {}, "f": None}) == {
        "a/b": 1,
        "a/c/d": [1],
        "e": {},  # an empty section stays visible as an empty value
        "f": None,
    }
    assert params.flatten({"k": 4}, prefix="General/") == {"General/k": 4}


@given(nested_params)
def test_unflatten_inverts_flatten(value: dict[str, Any]) -> None:
    flat = params.flatten(value)
    assert all(not isinstance(v, dict) or v == {} for v in flat.values())
    assert params.unflatten(flat) == value


# -- encode / decode ----------------------------------------------------------------------


@given(json_values)
def test_decode_inverts_encode(value: Any) -> None:
    text, type_name = params.encode(value, "General/x")
    assert isinstance(text, str)
    assert type_name == type(value).__name__
    assert params.decode(text, type_name) == value


@given(st.lists(json_scalars, max_size=4).map(tuple))
def test_tuples_stay_tuples(value: tuple[Any, ...]) -> None:
    text, type_name = params.encode(value, "General/shape")
    decoded = params.decode(text, type_name)
    assert type(decoded) is tuple
    assert decoded == value


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_survive(value: float) -> None:
    decoded = params.decode(*params.encode(value, "General/x"))
    assert decoded == value or (math.isnan(value) and math.isnan(decoded))


def test_text_that_is_not_json_decodes_as_itself() -> None:
    # Values written by other tools (e.g. a ClearML mirror) are plain text.
    assert params.decode("0.1 # learning rate") == "0.1 # learning rate"
    assert params.decode('"quoted"') == "quoted"


def test_unserializable_values_are_stored_as_repr_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="chaintrack"):
        text, type_name = params.encode({1, 2}, "Args/ids")
    assert json.loads(text) == "{1, 2}"
    assert type_name == "set"
    assert "'Args/ids'" in caplog.text
    assert "set" in caplog.text


# -- tables -------------------------------------------------------------------------------

column_names = st.lists(st.text(max_size=6), min_size=1, max_size=4, unique=True)
cells_by_kind = {
    "int": st.integers(min_value=-(2**53), max_value=2**53),
    "float": st.floats(allow_nan=False, allow_infinity=False) | st.just(math.nan),
    "str": st.text(max_size=10),
    "bool": st.booleans(),
}


@st.composite
def dataframes(draw: st.DrawFn) -> pd.DataFrame:
    columns = draw(column_names)
    kinds = [draw(st.sampled_from(sorted(cells_by_kind))) for _ in columns]
    n_rows = draw(st.integers(min_value=1, max_value=5))
    data = {
        c: [draw(cells_by_kind[k]) for _ in range(n_rows)]
        for c, k in zip(columns, kinds, strict=True)
    }
    frame = pd.DataFrame(data)
    if draw(st.booleans()):
        labels = draw(st.lists(st.text(max_size=4), min_size=n_rows, max_size=n_rows))
        frame.index = pd.Index(labels, name=draw(st.none() | st.text(min_size=1, max_size=4)))
    return frame


@given(dataframes())
def test_a_dataframe_table_comes_back_equal(frame: pd.DataFrame) -> None:
    stored = json.loads(json.dumps(to_table(frame), allow_nan=False))  # strict JSON, no NaN
    pd.testing.assert_frame_equal(to_dataframe(stored), frame)


@given(
    st.lists(st.text(max_size=5), min_size=1, max_size=4).flatmap(
        lambda header: st.tuples(
            st.just(header),
            st.lists(
                st.lists(json_scalars, min_size=len(header), max_size=len(header)), max_size=5
            ),
        )
    )
)
def test_rows_become_a_table_with_json_cells(header_and_rows: tuple[list[str], Any]) -> None:
    header, rows = header_and_rows
    table = to_table([header, *rows])
    assert table["columns"] == header
    assert table["rows"] == [[json_cell(v) for v in row] for row in rows]
    json.dumps(table, allow_nan=False)  # what the store receives is strict JSON
    assert len(to_dataframe(table)) == len(rows)


def test_cells_become_json() -> None:
    import datetime as dt

    import numpy as np

    assert json_cell(np.int64(3)) == 3
    assert json_cell(np.float32(0.5)) == 0.5
    assert json_cell(math.inf) is None
    assert json_cell(pd.NaT) is None
    assert json_cell(dt.date(2026, 1, 2)) == "2026-01-02"
    assert json_cell(pd.Timestamp("2026-01-02 03:04:05")) == "2026-01-02T03:04:05"
    assert json_cell({"a": 1}) == "{'a': 1}"


def test_table_errors() -> None:
    with pytest.raises(UnsupportedTypeError, match=r"table_plot=3 \(a int\)"):
        to_table(3)
    with pytest.raises(InvalidArgumentError, match=r"row 1 has no cells"):
        to_table([["a"], "b"])
    with pytest.raises(InvalidArgumentError, match=r"csv='nope\.csv' is not valid"):
        to_table(csv_path=Path("nope.csv"))


# -- store round trips through the SDK ----------------------------------------------------

finite = st.floats(allow_nan=False, width=64)
sdk_params = st.dictionaries(
    st.text(st.characters(blacklist_characters="/", blacklist_categories=("Cs",)), min_size=1,
            max_size=8),
    leaf_values,
    min_size=1,
    max_size=5,
)  # fmt: skip
scalar_points = st.lists(st.tuples(st.integers(-(2**31) + 1, 2**31), finite), max_size=8)
console_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")), min_size=0, max_size=30
)  # a line: no control characters, so no newline either


@pytest.fixture
def round_trip_task() -> Task:
    return Task.init(project_name="round trip", task_name="hypothesis")


# One task serves every example (each example reports under its own names): starting a task
# per example would record the environment each time and make the test slow.
_example = itertools.count()
ROUND_TRIP = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@ROUND_TRIP
@given(values=sdk_params)
def test_parameters_round_trip_through_the_store(
    round_trip_task: Task, values: dict[str, Any]
) -> None:
    section = f"S{next(_example)}"
    round_trip_task.connect(values, name=section)
    stored = {
        k.partition("/")[2]: v
        for k, v in round_trip_task.get_parameters().items()
        if k.startswith(section + "/")
    }
    assert stored == values


@ROUND_TRIP
@given(points=scalar_points, single=finite)
def test_scalars_round_trip_through_the_store(
    round_trip_task: Task, points: list[tuple[int, float]], single: float
) -> None:
    title = f"T{next(_example)}"
    logger = round_trip_task.get_logger()
    for iteration, value in points:
        logger.report_scalar(title, "series", value, iteration)
    logger.report_single_value(title, single)

    reported = round_trip_task.get_reported_scalars().get(title)
    if points:
        assert reported == {"series": {"x": [i for i, _ in points], "y": [v for _, v in points]}}
    else:
        assert reported is None
    assert round_trip_task.get_reported_single_values()[title] == single


@ROUND_TRIP
@given(lines=st.lists(console_text, min_size=1, max_size=4))
def test_text_round_trips_through_the_store(round_trip_task: Task, lines: list[str]) -> None:
    marker = f"--- example {next(_example)} ---"
    logger = round_trip_task.get_logger()
    logger.report_text(marker, print_console=False)
    logger.report_text("\n".join(lines), print_console=False)
    console = round_trip_task.get_reported_console_output()
    assert console[console.index(marker) + 1 :] == lines


@ROUND_TRIP
@given(frame=dataframes())
def test_tables_round_trip_through_the_store(round_trip_task: Task, frame: pd.DataFrame) -> None:
    title = f"T{next(_example)}"
    round_trip_task.get_logger().report_table(title, "s", table_plot=frame)
    pd.testing.assert_frame_equal(round_trip_task.get_reported_tables()[title]["s"], frame)
