"""Dashboards on SQLite and PostgreSQL: the aggregates equal those computed in Python from the
same spans (percentiles within the histogram's 4.5%), and an old store gets them on upgrade."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from search_data import NOW, load, make_spans

from chaintrack.query.stats import parse_range, project_stats
from chaintrack.store.sql import SqlStore

TASKS, SPANS = make_spans(seed=11, count=400)


@pytest.fixture
def loaded(store_uri: str) -> Iterator[SqlStore]:
    store = SqlStore(store_uri)
    load(store, TASKS, SPANS)
    yield store
    store.close()


def exact_percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def test_project_dashboard_matches_the_spans(loaded: SqlStore) -> None:
    start, end = NOW - 30 * 86400 - 3600, NOW + 1
    with loaded._read_engine.connect() as conn:
        stats = project_stats(conn, "alpha", start, end)
    ids = {t.id for t in TASKS if t.project == "alpha"}
    mine = [s for s in SPANS if s["task_id"] in ids]
    totals = stats["totals"]
    assert totals["calls"] == len(mine)
    assert totals["errors"] == sum(s["status"] == "error" for s in mine)
    assert totals["total_tokens"] == sum(s["total_tokens"] or 0 for s in mine)
    # Costs as stored: the payload's own, or the store's price of a model call without one.
    with loaded._read_engine.connect() as conn:
        stored_costs = [c for (t, c) in conn.exec_driver_sql("SELECT task_id, cost_usd FROM spans")
                        if t in ids and c is not None]  # fmt: skip
    assert totals["cost_usd"] == pytest.approx(sum(stored_costs))
    latencies = [s["latency_ms"] for s in mine if s["latency_ms"] is not None]
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        assert totals[f"latency_{name}_ms"] == pytest.approx(exact_percentile(latencies, q),
                                                             rel=0.05)  # fmt: skip
    assert stats["bucket"] == "day"
    assert sum(p["calls"] for p in stats["series"]) == len(mine)
    by_model = {r["model"]: r["calls"] for r in stats["by_model"]}
    assert by_model == {m or "(none)": sum((s["model_name"] or None) == m for s in mine)
                        for m in {s["model_name"] for s in mine}}  # fmt: skip
    by_kind = {r["kind"]: r["calls"] for r in stats["by_kind"]}
    assert sum(by_kind.values()) == len(mine)
    by_tag = {r["tag"]: r["calls"] for r in stats["by_tag"]}
    assert by_tag["prod"] == sum("prod" in t.tags for s in mine for t in TASKS
                                 if t.id == s["task_id"])  # fmt: skip
    assert stats["scores"] == []


def test_short_ranges_use_hours_and_all_projects_cover_every_span(loaded: SqlStore) -> None:
    with loaded._read_engine.connect() as conn:
        day = project_stats(conn, None, NOW - 86400, NOW + 1)
        everything = project_stats(conn, None, NOW - 31 * 86400, NOW + 1)
    assert day["bucket"] == "hour"
    assert everything["totals"]["calls"] == len(SPANS)
    assert day["totals"]["calls"] == sum(s["start_time"] >= (NOW - 86400) // 3600 * 3600
                                         for s in SPANS)  # fmt: skip


def test_score_averages_follow_the_project_experiments_by_day(loaded: SqlStore) -> None:
    import json

    from chaintrack.store.evalrecords import ResultRecord

    alpha = next(t for t in TASKS if t.project == "alpha")
    other = next(t for t in TASKS if t.project != "alpha")
    day = 86400
    cells = [(alpha.id, NOW - 2 * day, {"exact": {"value": 1.0}, "judge": {"value": 0.5}}),
             (alpha.id, NOW - 2 * day, {"exact": {"value": 0.0}, "judge": {"value": None}}),
             (alpha.id, NOW - 1 * day, {"exact": {"value": True}, "grade": {"value": "B"}}),
             (other.id, NOW - 1 * day, {"exact": {"value": 0.0}})]  # fmt: skip
    loaded.write_results([
        ResultRecord(task_id=task, example_id=f"ex{n}", repetition=0, dataset_id="d",
                     position=n, created=when, scores=json.dumps(scores))
        for n, (task, when, scores) in enumerate(cells)])  # fmt: skip
    with loaded._read_engine.connect() as conn:
        stats = project_stats(conn, "alpha", NOW - 7 * day, NOW + 1)
    got = [(p["time"][:10], p["name"], p["average"], p["count"]) for p in stats["scores"]]
    import datetime as dt

    def date(ts: float) -> str:
        return dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc).date().isoformat()

    assert got == [(date(NOW - 2 * day), "exact", 0.5, 2), (date(NOW - 2 * day), "judge", 0.5, 1),
                   (date(NOW - day), "exact", 1.0, 1)]  # fmt: skip


def test_moving_a_task_moves_its_totals_and_a_reset_removes_them(loaded: SqlStore) -> None:
    """The daily totals are kept per project: a task moved to another project takes its spans
    along, and a reset task's spans leave every total (hourly and daily)."""
    from chaintrack.store.records import WriteBatch

    month = (NOW - 31 * 86400, NOW + 1)

    def calls(project: str, start: float = month[0]) -> int:
        with loaded._read_engine.connect() as conn:
            return int(project_stats(conn, project, start, month[1])["totals"]["calls"])

    count = {t.id: sum(s["task_id"] == t.id for s in SPANS) for t in TASKS}
    assert calls("alpha") == count["task0"] + count["task3"]
    loaded.write(WriteBatch(task_updates=[("task0", {"project": "gamma"})]))
    assert calls("alpha") == count["task3"]
    assert calls("gamma") == count["task0"]
    with loaded._read_engine.connect() as conn:
        everything = project_stats(conn, None, *month)
    assert everything["totals"]["calls"] == len(SPANS)
    loaded.reset_task("task3")
    assert calls("alpha") == 0
    day_ago = NOW - 86400
    recent = sum(s["task_id"] == "task0" and s["start_time"] >= day_ago // 3600 * 3600
                 for s in SPANS)  # fmt: skip
    assert calls("gamma", day_ago) == recent  # the hourly totals (a one-day range)
    with loaded._read_engine.connect() as conn:
        after = project_stats(conn, None, *month)
    assert after["totals"]["calls"] == len(SPANS) - count["task3"]
    assert 'x"y' not in {r["tag"] for r in after["by_tag"]}  # task3's tag, its spans gone


def test_ranges_parse_and_bad_ones_say_how() -> None:
    assert parse_range("7d", now=1_000_000.0) == (1_000_000.0 - 7 * 86400, 1_000_000.0)
    assert parse_range("24h", now=100_000.0)[0] == 100_000.0 - 86400
    with pytest.raises(ValueError, match=r"e\.g\. 24h, 7d"):
        parse_range("yesterday")


def test_upgrading_a_revision_4_store_builds_the_search_index_and_totals(
    store_uri: str,
) -> None:
    from alembic import command
    from sqlalchemy import create_engine

    from chaintrack.store import migrate

    engine = create_engine(store_uri.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), "0004")  # type: ignore[arg-type]
    engine.dispose()
    import json

    from chaintrack.store.schema import events, spans, tasks

    engine = create_engine(store_uri.replace("postgresql://", "postgresql+psycopg://", 1))
    mine = [s for s in SPANS if s["task_id"] in ("task0", "task1")]
    with engine.begin() as conn:
        conn.execute(tasks.insert(), [t.to_row() for t in TASKS[:2]])
        conn.execute(
            events.insert(),
            [
                {
                    "task_id": s["task_id"],
                    "kind": "span",
                    "writer": 1,
                    "seq": seq,
                    "ts": s["end_time"],
                    "data": json.dumps(s),
                }
                for seq, s in enumerate(mine, start=1)
            ],
        )
        conn.execute(spans.insert(), [
            {"task_id": s["task_id"], "span_id": s["span_id"], "kind": s["kind"],
             "name": s["name"], "status": s["status"], "start_time": s["start_time"],
             "end_time": s["end_time"], "latency_ms": s["latency_ms"], "writer": 1, "seq": seq}
            for seq, s in enumerate(mine, start=1)])  # fmt: skip
    engine.dispose()
    store = SqlStore(store_uri)  # opening upgrades to revision 0007
    try:
        with store._read_engine.connect() as conn:
            from chaintrack.query.search import search_page

            found = {r["span_id"] for r in search_page(conn, 'output ~ "refund"',
                                                       limit=1000).rows}  # fmt: skip
            stats = project_stats(conn, None, NOW - 31 * 86400, NOW + 1)
        assert found == {s["span_id"] for s in mine
                         if s["output"] and "refund" in s["output"].lower()}  # fmt: skip
        assert found
        assert stats["totals"]["calls"] == len(mine)
    finally:
        store.close()
