"""The grammar under generated queries: each one either runs or fails with a QueryError that
has a position inside the query; never another exception (an API 500)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from search_data import load, make_spans

from chaintrack.query.fields import FIELDS
from chaintrack.query.nodes import QueryError
from chaintrack.query.search import search_page
from chaintrack.store.sql import SqlStore

FIELD_NAMES = [f"{n}.k" if FIELDS[n] == "key" else n for n in FIELDS] + ["attr.user.id", "nope"]
OPS = ["=", "!=", "<", "<=", ">", ">=", "~"]
values = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.text(max_size=8).map(lambda t: '"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"'),
    st.sampled_from(["-7d", "-3h", "2026-01-31", "2026-01-31T08:00:00Z", "llm", "'x'"]),
)


@st.composite
def conditions(draw: st.DrawFn) -> str:
    field = draw(st.sampled_from(FIELD_NAMES))
    if draw(st.booleans()):
        items = draw(st.lists(values, min_size=1, max_size=3))
        return f"{field} in ({', '.join(items)})"
    return f"{field} {draw(st.sampled_from(OPS))} {draw(values)}"


queries = st.recursive(
    conditions(),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(" ".join),
        inner.map(lambda q: f"not {q}"),
        inner.map(lambda q: f"({q})"),
    ),
    max_leaves=6,
)
garbage = st.text(alphabet=st.sampled_from(list("abkind=<>!~()\"' ,.-7dnotr;%_\\")), max_size=40)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlStore]:
    path: Path = tmp_path_factory.mktemp("grammar") / "s.db"
    s = SqlStore(f"sqlite:///{path}")
    tasks, spans = make_spans(count=60)
    load(s, tasks, spans)
    yield s
    s.close()


def _check(store: SqlStore, query: str) -> None:
    try:
        with store._read_engine.connect() as conn:
            page = search_page(conn, query, limit=5)
        assert len(page.rows) <= 5
    except QueryError as exc:
        assert 0 <= exc.position <= len(query)
        assert "invalid span query at position" in str(exc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(query=queries)
def test_generated_queries_run_or_fail_with_a_position(store: SqlStore, query: str) -> None:
    _check(store, query)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(query=garbage)
def test_random_text_runs_or_fails_with_a_position(store: SqlStore, query: str) -> None:
    _check(store, query)
