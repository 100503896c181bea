"""Span search on SQLite and PostgreSQL: every query returns exactly the spans a brute-force
filter in Python finds on the same data; bad queries fail with a position; no query runs SQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from search_data import NOW, brute, contains, load, make_spans

from chaintrack.query.nodes import QueryError
from chaintrack.query.search import search_page
from chaintrack.store.sql import SqlStore

TASKS, SPANS = make_spans()


@pytest.fixture
def loaded(store_uri: str) -> Iterator[SqlStore]:
    store = SqlStore(store_uri)
    load(store, TASKS, SPANS)
    yield store
    store.close()


def run(store: SqlStore, query: str, project: str | None = None) -> set[str]:
    found: list[str] = []
    with store._read_engine.connect() as conn:
        offset = 0
        while True:
            page = search_page(conn, query, project=project, offset=offset, limit=1000)
            found += [r["span_id"] for r in page.rows]
            if not page.has_more:
                break
            offset += 1000
    assert len(found) == len(set(found)), "a span appears twice in the results"
    return set(found)


def _n(value: Any) -> bool:
    return value is not None


CASES: list[tuple[str, Any]] = [
    ('kind = "chat_model"', lambda s, t: s["kind"] == "chat_model"),
    ("kind = chat_model and latency_ms > 2000",
     lambda s, t: s["kind"] == "chat_model" and _n(s["latency_ms"]) and s["latency_ms"] > 2000),
    ('kind in (llm, "tool") or status = error',
     lambda s, t: s["kind"] in ("llm", "tool") or s["status"] == "error"),
    ('not model = "gpt-4o"', lambda s, t: s["model_name"] != "gpt-4o"),
    ('model != "gpt-4o"', lambda s, t: _n(s["model_name"]) and s["model_name"] != "gpt-4o"),
    ("total_tokens >= 900", lambda s, t: _n(s["total_tokens"]) and s["total_tokens"] >= 900),
    ("prompt_tokens < 100 and completion_tokens <= 100",
     lambda s, t: _n(s["prompt_tokens"]) and s["prompt_tokens"] < 100
     and _n(s["completion_tokens"]) and s["completion_tokens"] <= 100),
    ("cost_usd > 0.05", lambda s, t: _n(s["cost_usd"]) and s["cost_usd"] > 0.05),
    ('output ~ "refund"', lambda s, t: contains(s["output"], "refund")),
    ('input ~ "REFUND" and not output ~ "refund"',
     lambda s, t: contains(s["input"], "refund") and not contains(s["output"], "refund")),
    ('error ~ "boom"', lambda s, t: contains(s["error"], "boom")),
    ('name ~ "ship"', lambda s, t: contains(s["name"], "ship")),
    ('input ~ "100%"', lambda s, t: contains(s["input"], "100%")),
    ('input ~ "a_b"', lambda s, t: contains(s["input"], "a_b")),
    ('input ~ "%"', lambda s, t: contains(s["input"], "%")),
    ('input ~ "_"', lambda s, t: contains(s["input"], "_")),
    ('output = "hello hello hello hello"', lambda s, t: s["output"] == "hello hello hello hello"),
    ('thread_id = th1', lambda s, t: s["thread_id"] == "th1"),
    ("start_time > -7d", lambda s, t: s["start_time"] > NOW - 7 * 86400),
    ("start_time >= -36h and start_time < -12h",
     lambda s, t: NOW - 36 * 3600 <= s["start_time"] < NOW - 12 * 3600),
    ('project = "alpha"', lambda s, t: t.project == "alpha"),
    ('task = "run 1" or task_id = task2', lambda s, t: t.name == "run 1" or t.id == "task2"),
    ("tag = prod", lambda s, t: "prod" in t.tags),
    ("tag != prod", lambda s, t: "prod" not in t.tags),
    ('tag = "x\\"y"', lambda s, t: 'x"y' in t.tags),
    ("attr.user.id >= 5", lambda s, t: s["attributes"]["user.id"] >= 5),
    ('attr.env = "prod" and attr.user.id in (1, 2)',
     lambda s, t: s["attributes"]["env"] == "prod" and s["attributes"]["user.id"] in (1, 2)),
    ("attr.missing = 1", lambda s, t: False),
    ('(kind = llm or kind = chat_model) and not (status = error or latency_ms > 5000)',
     lambda s, t: s["kind"] in ("llm", "chat_model")
     and not (s["status"] == "error" or (_n(s["latency_ms"]) and s["latency_ms"] > 5000))),
    ("", lambda s, t: True),
]  # fmt: skip


@pytest.mark.parametrize(("query", "predicate"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_search_returns_what_a_brute_force_filter_finds(
    loaded: SqlStore, query: str, predicate: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("chaintrack.query.compiler.clock", lambda: NOW)
    expected = brute(SPANS, TASKS, predicate)
    assert run(loaded, query) == expected


def test_project_restricts_the_search(loaded: SqlStore) -> None:
    expected = brute(SPANS, TASKS, lambda s, t: t.project == "beta" and s["kind"] == "tool")
    assert expected
    assert run(loaded, "kind = tool", project="beta") == expected


def test_pages_are_newest_first_and_sorts_apply(loaded: SqlStore) -> None:
    with loaded._read_engine.connect() as conn:
        page = search_page(conn, "", limit=10)
        starts = [r["start_time"] for r in page.rows]
        assert starts == sorted(starts, reverse=True) and page.has_more
        assert starts[0] == max(s["start_time"] for s in SPANS)
        slow = search_page(conn, "latency_ms > 0", sort="-latency_ms", limit=3)
        top = sorted((s["latency_ms"] for s in SPANS if s["latency_ms"]), reverse=True)[:3]
        assert [r["latency_ms"] for r in slow.rows] == pytest.approx(top)
        row = page.rows[0]
        source = next(s for s in SPANS if s["span_id"] == row["span_id"])
        assert (row["input"], row["output"], row["task_id"]) == (
            source["input"],
            source["output"],
            source["task_id"],
        )


@pytest.mark.parametrize(
    ("query", "position", "says"),
    [
        ("kind = ", 7, "expected a value"),
        ("color = red", 0, "unknown field 'color'"),
        ('latency_ms > "slow"', 13, "takes a number"),
        ("kind = llm and", 14, "expected a field"),
        ('kind = "llm', 7, "never closed"),
        ("(kind = llm", 11, "expected ')'"),
        ("latency_ms ~ 5", 11, "~ (text match) applies to text fields"),
        ("start_time > yesterday", 13, "is not a time"),
        ("kind = llm; DROP TABLE spans", 10, "unexpected character ';'"),
        ("attr = 1", 0, "unknown field 'attr'"),
    ],
)
def test_bad_queries_name_the_position_and_the_fields(
    loaded: SqlStore, query: str, position: int, says: str
) -> None:
    with loaded._read_engine.connect() as conn, pytest.raises(QueryError) as caught:
        search_page(conn, query)
    assert caught.value.position == position
    assert says in str(caught.value)
    if "unknown field" in says or "expected a field" in says:
        assert "Allowed fields: kind, name, status, model" in str(caught.value)


@pytest.mark.parametrize(
    "attack",
    [
        "x'); DROP TABLE spans; --",
        "' OR '1'='1",
        '" OR 1=1 --',
        'refund" OR output ~ "',
        "%' UNION SELECT * FROM tasks --",
        'a" * NEAR(b c) OR "',
        "\\",
    ],
)
def test_injection_attempts_are_values_and_change_nothing(loaded: SqlStore, attack: str) -> None:
    quoted = '"' + attack.replace("\\", "\\\\").replace('"', '\\"') + '"'
    for field in ("name", "input", "output", "model", "project", "tag", "attr.env"):
        op = "=" if field == "tag" else "~"
        assert run(loaded, f"{field} {op} {quoted}") == set()
    assert run(loaded, "") == {s["span_id"] for s in SPANS}  # every span is still there


def test_feedback_finds_its_span_the_task_roots_or_the_example_root(loaded: SqlStore) -> None:
    from chaintrack.store.evalrecords import ResultRecord
    from chaintrack.store.feedback import make_feedback

    of_task = {t.id: {s["span_id"] for s in SPANS if s["task_id"] == t.id} for t in TASKS}
    first = SPANS[0]
    on_task = next(t.id for t in TASKS if t.id != first["task_id"])
    example_span = next(s for s in SPANS if s["task_id"] not in (first["task_id"], on_task))
    loaded.add_feedback(make_feedback(first["task_id"], "thumbs", True, span_id=first["span_id"]))
    loaded.add_feedback(make_feedback(on_task, "thumbs", False, comment="whole run"))
    loaded.add_feedback(make_feedback(on_task, "topic", "billing"))
    loaded.write_results([ResultRecord(
        task_id=example_span["task_id"], example_id="ex1", repetition=0, dataset_id="d1",
        position=0, created=NOW, trace_id=example_span["span_id"])])  # fmt: skip
    loaded.add_feedback(make_feedback(example_span["task_id"], "thumbs", 0.5, example_id="ex1"))

    assert run(loaded, "feedback.thumbs = 1") == {first["span_id"]}
    # Every span of this data is a root span, so task feedback holds for all of the task's.
    assert run(loaded, "feedback.thumbs = 0") == of_task[on_task]
    assert run(loaded, "feedback.thumbs > 0.2 and feedback.thumbs < 0.7") == {
        example_span["span_id"]}  # fmt: skip
    assert run(loaded, 'feedback.topic = "billing"') == of_task[on_task]
    assert run(loaded, 'feedback.topic ~ "BILL"') == of_task[on_task]
    assert run(loaded, "feedback.topic = 1") == set()  # a label is not a number
    everything = {s["span_id"] for s in SPANS}
    assert run(loaded, "not feedback.thumbs = 1") == everything - {first["span_id"]}
    assert run(loaded, "feedback.missing = 1") == set()


def test_scores_find_the_root_span_of_each_scored_example(loaded: SqlStore) -> None:
    import json

    from chaintrack.store.evalrecords import ResultRecord

    roots = SPANS[:3]
    scores = [{"accuracy": {"value": 1.0}, 'odd "name"': {"value": 2}},
              {"accuracy": {"value": 0.25, "comment": "partly"}, "grade": {"value": "B"}},
              {"accuracy": {"value": None, "error": "scorer failed"}}]  # fmt: skip
    loaded.write_results([ResultRecord(
        task_id=s["task_id"], example_id=f"ex{n}", repetition=0, dataset_id="d1", position=n,
        created=NOW, scores=json.dumps(sc), trace_id=s["span_id"])
        for n, (s, sc) in enumerate(zip(roots, scores, strict=True))])  # fmt: skip

    assert run(loaded, "score.accuracy > 0.5") == {roots[0]["span_id"]}
    assert run(loaded, "score.accuracy <= 0.5") == {roots[1]["span_id"]}
    assert run(loaded, "score.accuracy >= 0") == {roots[0]["span_id"], roots[1]["span_id"]}
    assert run(loaded, 'score.grade = "B"') == {roots[1]["span_id"]}
    assert run(loaded, "score.grade = 1") == set()
    assert run(loaded, "not score.accuracy > 0.5") == {s["span_id"] for s in SPANS[1:]}


@pytest.mark.parametrize("recent", [20, 120])
@pytest.mark.parametrize(
    "query", ["latency_ms > 6000", "kind = llm or status = error", 'model = "claude"']
)
def test_first_pages_from_the_newest_spans_equal_the_full_plan(
    loaded: SqlStore, monkeypatch: pytest.MonkeyPatch, query: str, recent: int
) -> None:
    """Pages read first among the newest spans (SQLite: the window of ``RECENT`` spans walked
    on the time index) are the pages of the whole store, whether the window holds the page
    (120) or not (20, then the full plan answers)."""
    from chaintrack.query import search

    with loaded._read_engine.connect() as conn:
        expected = [[r["span_id"] for r in search_page(conn, query, offset=o, limit=7).rows]
                    for o in (0, 7, 14)]  # fmt: skip
        monkeypatch.setattr(search, "RECENT", recent)
        used: list[bool] = []
        original = search._recent_first

        def spy(*args: Any) -> Any:
            found = original(*args)
            used.append(found is not None)
            return found

        monkeypatch.setattr(search, "_recent_first", spy)
        got = [[r["span_id"] for r in search_page(conn, query, offset=o, limit=7).rows]
               for o in (0, 7, 14)]  # fmt: skip
    assert got == expected
    assert all(len(page) == 7 for page in got)
    if conn.dialect.name == "sqlite" and recent == 120:
        assert used[0], "the first page came from the newest spans"
    if recent == 20 and query == "latency_ms > 6000":
        assert not any(used), "too few matches among the newest spans: the full plan answers"
    by_time = sorted(SPANS, key=lambda s: (-s["start_time"], s["task_id"], s["span_id"]))
    brute_first = [s["span_id"] for s in by_time if _matches(query, s)][:7]
    assert got[0] == brute_first


def _matches(query: str, span: dict[str, Any]) -> bool:
    if query.startswith("latency_ms"):
        return span["latency_ms"] is not None and span["latency_ms"] > 6000
    if query.startswith("kind"):
        return span["kind"] == "llm" or span["status"] == "error"
    return span["model_name"] == "claude"
