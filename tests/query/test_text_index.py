"""The full-text index off the write path: stored spans' text waits in ``span_text_pending``
until a catch-up indexes it (``store/textindex.py``), a text search catches up first so that
what was stored is found at once, and a broad needle on SQLite is tested span by span newest
first, with the same results as the brute-force filter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from search_data import NOW, brute, contains, load, make_spans
from sqlalchemy import text

from chaintrack.query import search
from chaintrack.query.search import search_page
from chaintrack.store.sql import SqlStore

TASKS, SPANS = make_spans()
BROAD_DEFAULT = search.BROAD


def _count(store: SqlStore, table: str) -> int:
    with store._read_engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


@pytest.fixture
def loaded(store_uri: str) -> Iterator[SqlStore]:
    store = SqlStore(store_uri)
    load(store, TASKS, SPANS)
    yield store
    store.close()


def test_stored_text_waits_for_the_index_and_a_search_indexes_it_first(loaded: SqlStore) -> None:
    # The write stored the spans and queued their text; nothing was tokenized.
    assert _count(loaded, "span_text_pending") == len(SPANS)
    assert _count(loaded, "span_text") == 0
    expected = brute(SPANS, TASKS, lambda s, t: contains(s["output"], "refund"))
    assert expected
    with loaded._read_engine.connect() as conn:
        page = search_page(conn, 'output ~ "refund"', limit=1000)
    assert {r["span_id"] for r in page.rows} == expected
    assert _count(loaded, "span_text_pending") == 0
    assert _count(loaded, "span_text") == len(SPANS)
    # Spans stored after that are found by the next search at once.
    more = [dict(s, span_id=f"late{n}", output="a late refund") for n, s in enumerate(SPANS[:3])]
    load(loaded, [], more)
    assert _count(loaded, "span_text_pending") == 3
    with loaded._read_engine.connect() as conn:
        page = search_page(conn, 'output ~ "LATE REFUND"', limit=1000)
    assert {r["span_id"] for r in page.rows} == {"late0", "late1", "late2"}


def test_resetting_a_task_drops_its_waiting_text(loaded: SqlStore) -> None:
    task_id = TASKS[0].id
    loaded.reset_task(task_id)
    with loaded._read_engine.connect() as conn:
        left = conn.execute(
            text("SELECT count(*) FROM span_text_pending WHERE task_id = :t"), {"t": task_id}
        ).scalar_one()
    assert left == 0
    assert loaded.index_text() == len([s for s in SPANS if s["task_id"] != task_id])


TEXT_CASES: list[tuple[str, Any]] = [
    ('output ~ "refund"', lambda s: contains(s["output"], "refund")),
    ('input ~ "REFUND" and not output ~ "refund"',
     lambda s: contains(s["input"], "refund") and not contains(s["output"], "refund")),
    ('output ~ "refund" and kind = chat_model',
     lambda s: contains(s["output"], "refund") and s["kind"] == "chat_model"),
    ('name ~ "ship" or output ~ "order"',
     lambda s: contains(s["name"], "ship") or contains(s["output"], "order")),
    ('output = "hello hello hello hello"', lambda s: s["output"] == "hello hello hello hello"),
    ('not input ~ "café"', lambda s: not contains(s["input"], "café")),
]  # fmt: skip


@pytest.mark.parametrize("recent", [20, 250])
@pytest.mark.parametrize(("query", "predicate"), TEXT_CASES, ids=[c[0] for c in TEXT_CASES])
def test_broad_needles_tested_span_by_span_give_the_brute_force_pages(
    loaded: SqlStore, monkeypatch: pytest.MonkeyPatch, query: str, predicate: Any, recent: int
) -> None:
    """With every needle taken as broad (``BROAD`` = 1, ``WALK_RATIO`` = 0), SQLite tests each
    span against the index by rowid while walking the newest spans: the pages are the
    brute-force filter's, in time order, whether the newest spans hold the page (250 of 300) or
    not (20: the index's matches answer)."""
    monkeypatch.setattr("chaintrack.query.compiler.clock", lambda: NOW)
    monkeypatch.setattr(search, "BROAD", 1)
    monkeypatch.setattr(search, "WALK_RATIO", 0)
    monkeypatch.setattr(search, "RECENT", recent)
    walked: list[bool] = []
    original = search._recent_first

    def spy(*args: Any) -> Any:
        found = original(*args)
        walked.append(found is not None)
        return found

    monkeypatch.setattr(search, "_recent_first", spy)
    by_time = sorted(SPANS, key=lambda s: (-s["start_time"], s["task_id"], s["span_id"]))
    expected = [s["span_id"] for s in by_time if predicate(s)]
    assert expected
    with loaded._read_engine.connect() as conn:
        got = [r["span_id"] for o in (0, 7, 14)
               for r in search_page(conn, query, offset=o, limit=7).rows]  # fmt: skip
        probes = search._broad(conn, search.parse(query))
    assert got == expected[:21]
    if loaded.dialect == "sqlite":
        assert probes, "the needles were taken as broad"
        if recent == 250 and len(expected) > 30:
            assert walked[0], "the first page came from the walk over the newest spans"


def test_a_rare_needle_is_answered_from_the_index_matches(loaded: SqlStore) -> None:
    with loaded._read_engine.connect() as conn:
        search.ensure_indexed(conn)
        assert search._broad(conn, search.parse('output ~ "refund"')) == frozenset()


def test_a_0008_store_with_spans_upgrades_into_a_searchable_0009_store(
    store_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Revision 0009 on a store of revision 0008 that holds spans (indexed and totalled the old
    way): every text search still finds what the brute-force filter does, span by span too
    (SQLite re-indexes the old rows under their spans' rowids), and no total counts twice."""
    from alembic import command
    from sqlalchemy import create_engine, inspect

    from chaintrack.store import migrate, schema

    store = SqlStore(store_uri)
    load(store, TASKS, SPANS)
    assert store.index_text() == len(SPANS)
    store.close()
    engine = create_engine(store_uri.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "0008")  # type: ignore[arg-type]
    assert migrate.current_revision(engine) == "0008"
    assert "span_text_pending" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM span_text")).scalar_one() == len(SPANS)
        if engine.dialect.name == "sqlite":
            # Revision 0008 numbered its index rows in its own order, not as the spans: here
            # the reverse of theirs.
            columns = "task_id, span_id, name, input, output, error"
            rows = conn.execute(text(f"SELECT {columns} FROM span_text ORDER BY rowid DESC")).all()
            conn.execute(text("DELETE FROM span_text"))
            conn.execute(
                text(f"INSERT INTO span_text ({columns}) VALUES (:a, :b, :c, :d, :e, :f)"),
                [dict(zip("abcdef", r, strict=True)) for r in rows],
            )
    engine.dispose()

    upgraded = SqlStore(store_uri)  # opening upgrades
    try:
        assert upgraded.opened_at_revision == "0008"
        assert migrate.current_revision(upgraded._write_engine) == schema.HEAD_REVISION
        monkeypatch.setattr("chaintrack.query.compiler.clock", lambda: NOW)
        by_time = sorted(SPANS, key=lambda s: (-s["start_time"], s["task_id"], s["span_id"]))
        for broad in (BROAD_DEFAULT, 1):
            monkeypatch.setattr(search, "BROAD", broad)
            monkeypatch.setattr(search, "WALK_RATIO", 0 if broad == 1 else search.WALK_RATIO)
            monkeypatch.setattr(search, "RECENT", 250)
            for query, predicate in TEXT_CASES:
                expected = [s["span_id"] for s in by_time if predicate(s)]
                with upgraded._read_engine.connect() as conn:
                    every = [r["span_id"] for r in search_page(conn, query, limit=1000).rows]
                    first = [r["span_id"] for o in (0, 7, 14)
                             for r in search_page(conn, query, offset=o, limit=7).rows]  # fmt: skip
                assert every == expected, query
                assert first == expected[:21], query
        assert _count(upgraded, "span_text_pending") == 0
        assert _count(upgraded, "span_text") == len(SPANS)
        with upgraded._read_engine.connect() as conn:
            calls = conn.execute(text("SELECT sum(calls) FROM span_rollups")).scalar_one()
        assert calls == len(SPANS), "the spans totalled before the upgrade count once"
    finally:
        upgraded.close()


def test_a_repaired_store_finds_the_text_of_the_recovered_spans(tmp_path: Any) -> None:
    """`chaintrack store repair` copies the tables (the spans get new rowids) and queues the
    index's texts again: the recovered store's searches find what the original's did."""
    from chaintrack.store import repair

    path = tmp_path / "original.db"
    original = SqlStore(f"sqlite:///{path}")
    load(original, TASKS, SPANS)
    assert original.index_text() == len(SPANS)
    original.close()
    report = repair.repair(path, output=tmp_path / "recovered.db")
    assert report.copied["span_text"] == len(SPANS)
    recovered = SqlStore(f"sqlite:///{tmp_path / 'recovered.db'}")
    try:
        assert _count(recovered, "span_text_pending") == len(SPANS)
        expected = brute(SPANS, TASKS, lambda s, t: contains(s["output"], "refund"))
        with recovered._read_engine.connect() as conn:
            page = search_page(conn, 'output ~ "refund"', limit=1000)
        assert {r["span_id"] for r in page.rows} == expected
        with recovered._read_engine.connect() as conn:
            calls = conn.execute(text("SELECT sum(calls) FROM span_rollups")).scalar_one()
        assert calls == len(SPANS), "the recovered totals count each span once"
    finally:
        recovered.close()
