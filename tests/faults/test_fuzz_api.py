"""Fuzzing the REST API of a real `chaintrack server` process.

- Every operation of its OpenAPI schema (``/api/v1/openapi.json``), with requests that
  schemathesis (Hypothesis) derives from the schema: no answer is a 500.
- Write batches, which the schema leaves open (the body is read as JSON by hand): Hypothesis
  builds events of every shape, valid or not. An answer of 200 means each event is in the
  database and reads back; anything else is a 4xx, and nothing of the batch is stored.

The number of examples is bounded so that the module runs in about a minute.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fault_helpers import ServerProcess, running_server
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

T = "f" * 32
EXAMPLES_PER_OPERATION = 40
BATCHES = 300


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("fuzz")
    with running_server(tmp, f"sqlite:///{tmp / 'server.db'}") as server:
        task = {"id": T, "project": "fuzz", "name": "target", "type": "training",
                "status": "in_progress", "created": 1_000.0, "last_update": 1_000.0}  # fmt: skip
        assert httpx.post(server.url + "/api/v1/batches",
                          json={"new_tasks": [task]}).status_code == 200  # fmt: skip
        yield server


def test_no_operation_answers_500(server: ServerProcess) -> None:
    """Each operation in turn, with Hypothesis driving schemathesis's strategies (its pytest
    plugin does not load under this pytest)."""
    schema = schemathesis.openapi.from_url(server.url + "/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 15
    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        @given(case=operation.as_strategy())
        def call(case: Any) -> None:
            response = case.call(timeout=30)
            shown = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500, f"{shown}: {response.text}"
            assert response.headers.get("x-content-type-options") == ["nosniff"], shown

        call()


_text = st.text(max_size=40) | st.sampled_from(["", "=1+1", "\x00", "é" * 600])
_ints = st.integers(min_value=-(2**70), max_value=2**70) | st.integers(-5, 5)
_floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([1e308, -1.0, 0.0])
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=8,
)  # fmt: skip
_payload = st.none() | _json.map(json.dumps) | _text | st.sampled_from(["[" * 200 + "]" * 200])
_event = st.tuples(
    st.just(T) | st.sampled_from(["u" * 32, "", "x" * 40]),
    _ints,
    _ints,
    st.sampled_from(["scalar", "log", "table", "span", "media", "plot"]) | _text,
    _floats | _text,
    st.none() | _text,
    st.none() | _text,
    st.none() | _ints,
    st.none() | _floats | st.sampled_from(["NaN", "Infinity", "nan"]),
    st.none() | _ints,
    st.none() | _text,
    _payload,
).map(list)


@settings(max_examples=BATCHES, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=True, database=None)  # fmt: skip
@given(events=st.lists(_event, min_size=1, max_size=3))
@example(events=[[T, 1, 1, "scalar", 1_000.0, "loss", "train", 0, "NaN", None, None, None]])
@example(events=[[T, 1, 2, "span", 1_000.0, None, None, None, None, None, None, '{"span_id": 1}']])
def test_a_batch_answered_200_is_stored_and_reads_back(
    server: ServerProcess, events: list[list[Any]]
) -> None:
    body = json.dumps({"events": events})
    answer = httpx.post(server.url + "/api/v1/batches", content=body, timeout=30)
    assert answer.status_code in (200, 400), answer.text
    db = Path(server.store.removeprefix("sqlite:///"))
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        for row in events:
            stored = conn.execute(
                "SELECT count(*) FROM events WHERE task_id = ? AND kind = ? AND writer = ? "
                "AND seq = ?",
                (row[0], row[3], row[1], row[2]),
            ).fetchone()[0] if all(isinstance(v, (int, str)) and not isinstance(v, bool)
                                   and (not isinstance(v, int) or abs(v) < 2**63)
                                   for v in (row[1], row[2], row[3])) else 0  # fmt: skip
            if answer.status_code == 200:
                assert stored == 1, f"accepted but not stored: {row!r}"
    if answer.status_code == 200:
        for kind in {row[3] for row in events}:
            read = httpx.get(f"{server.url}/api/v1/tasks/{T}/events", params={"kind": kind},
                             timeout=30)  # fmt: skip
            assert read.status_code == 200, read.text
        assert httpx.get(f"{server.url}/tasks/{T}", timeout=30).status_code == 200
