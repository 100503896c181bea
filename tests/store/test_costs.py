"""Costs of model calls: priced by the store when spans are stored (whoever produced them), with
genai-prices' own numbers, the price table's version recorded, unknown models unknown (never
$0), an override file (CHAINTRACK_PRICES), re-pricing, and each trace's cost; on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import genai_prices
import pytest
from genai_prices import Usage
from old_stores import span_event

from chaintrack.errors import ConfigurationError
from chaintrack.server.forms import usd
from chaintrack.store.records import TaskRecord, WriteBatch
from chaintrack.store.sql import SqlStore
from chaintrack.store.views import TaskPageQuery
from chaintrack.text.prices import PriceTable, TokenUsage

GENAI = f"genai-prices {genai_prices.__version__}"


@pytest.fixture
def store(store_uri: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlStore]:
    monkeypatch.delenv("CHAINTRACK_PRICES", raising=False)
    s = SqlStore(store_uri)
    yield s
    s.close()


def task(task_id: str, created: float = 1.0) -> TaskRecord:
    return TaskRecord(id=task_id, project="p", name=task_id, type="testing",
                      status="completed", created=created, last_update=created)  # fmt: skip


def llm(task_id: str, seq: int, span_id: str, model: str | None, prompt: int, completion: int,
        parent: str | None = None, **fields: Any) -> Any:  # fmt: skip
    return span_event(task_id, seq, span_id, parent, kind="chat_model", model_name=model,
                      prompt_tokens=prompt, completion_tokens=completion,
                      total_tokens=prompt + completion, **fields)  # fmt: skip


def genai_cost(model: str, when: float, **usage: int) -> float:
    """What genai-prices itself says the call cost."""
    at = datetime.fromtimestamp(when, timezone.utc)
    return float(genai_prices.calc_price(Usage(**usage), model, genai_request_timestamp=at)
                 .total_price)  # fmt: skip


def stored(store: SqlStore, task_id: str) -> dict[str, tuple[float | None, str | None]]:
    return store.span_costs(task_id)


def test_model_calls_are_priced_with_genai_prices_own_numbers(store: SqlStore) -> None:
    store.write(WriteBatch(new_tasks=[task("a")]))
    store.write(WriteBatch(events=[
        llm("a", 1, "mini", "gpt-4o-mini", 1200, 300),
        llm("a", 2, "sonnet", "claude-3-5-sonnet-20241022", 2000, 500),
        # LangChain's usage_metadata details: 800 of the 1,000 prompt tokens were cached.
        llm("a", 3, "cached", "gpt-4o", 1000, 100,
            input_token_details={"cache_read": 800}, output_token_details={"reasoning": 0}),
        span_event("a", 4, "chain"),  # not a model call: no cost
    ]))  # fmt: skip
    costs = stored(store, "a")
    expected = {
        "mini": genai_cost("gpt-4o-mini", 101.0, input_tokens=1200, output_tokens=300),
        "sonnet": genai_cost(
            "claude-3-5-sonnet-20241022", 102.0, input_tokens=2000, output_tokens=500
        ),
        "cached": genai_cost(
            "gpt-4o", 103.0, input_tokens=1000, output_tokens=100, cache_read_tokens=800
        ),
    }
    for span_id, cost in expected.items():
        assert costs[span_id][0] == pytest.approx(cost, rel=1e-12), span_id
        assert costs[span_id][1] == GENAI
    assert costs["chain"] == (None, None)
    # Cached tokens are cheaper: pricing them all as plain input would cost more.
    assert expected["cached"] < genai_cost("gpt-4o", 103.0, input_tokens=1000, output_tokens=100)
    stats = store.task_summary("a").stats
    assert stats.cost_usd == pytest.approx(sum(expected.values()))
    assert stats.price_source == GENAI


def test_an_unknown_model_is_unknown_never_zero(store: SqlStore) -> None:
    store.write(WriteBatch(new_tasks=[task("u"), task("m", 2.0)]))
    store.write(WriteBatch(events=[
        llm("u", 1, "x", "house-model-7b", 100, 10),
        llm("u", 2, "y", None, 100, 10),  # no model name at all
        llm("m", 1, "known", "gpt-4o-mini", 100, 10),
        llm("m", 2, "unknown", "house-model-7b", 100, 10),
    ]))  # fmt: skip
    assert stored(store, "u") == {"x": (None, None), "y": (None, None)}
    summary = store.task_summary("u").stats
    assert summary.cost_usd is None and usd(summary.cost_usd) == "unknown"
    # A task with priced and unpriced calls sums what is known.
    assert store.task_summary("m").stats.cost_usd == pytest.approx(
        genai_cost("gpt-4o-mini", 101.0, input_tokens=100, output_tokens=10)
    )
    # The trace view shows the stored cost, None for the unknown model.
    spans = {v.span["span_id"]: v.span for v in store.trace_page("u").spans}
    assert spans["x"]["cost_usd"] is None


def test_a_cost_the_producer_reported_wins_and_is_marked(store: SqlStore) -> None:
    store.write(WriteBatch(new_tasks=[task("r")]))
    store.write(WriteBatch(events=[llm("r", 1, "s", "gpt-4o-mini", 100, 10, cost_usd=0.5)]))
    assert stored(store, "r") == {"s": (0.5, "reported")}


def test_the_tasks_table_sorts_by_cost_with_unknown_last(store: SqlStore) -> None:
    store.write(WriteBatch(new_tasks=[task("cheap", 1), task("dear", 2), task("none", 3)]))
    store.write(WriteBatch(events=[
        llm("cheap", 1, "a", "gpt-4o-mini", 100, 10),
        llm("dear", 1, "b", "gpt-4o", 10_000, 1_000),
        llm("none", 1, "c", "house-model-7b", 100, 10),
    ]))  # fmt: skip
    for descending, order in ((True, ["dear", "cheap", "none"]),
                              (False, ["cheap", "dear", "none"])):  # fmt: skip
        page = store.task_page(TaskPageQuery(sort="cost", descending=descending))
        assert [r.task.id for r in page.rows] == order
    assert page.rows[2].stats.cost_usd is None


def test_each_trace_costs_the_sum_of_its_spans(store: SqlStore) -> None:
    store.write(WriteBatch(new_tasks=[task("t")]))
    store.write(WriteBatch(events=[
        span_event("t", 1, "root1"),
        span_event("t", 2, "agent", "root1"),
        llm("t", 3, "call1", "gpt-4o-mini", 1000, 100, parent="agent"),
        llm("t", 4, "call2", "gpt-4o-mini", 2000, 200, parent="agent"),
        span_event("t", 5, "root2"),
        llm("t", 6, "call3", "house-model-7b", 10, 1, parent="root2"),
    ]))  # fmt: skip
    one = genai_cost("gpt-4o-mini", 103.0, input_tokens=1000, output_tokens=100)
    two = genai_cost("gpt-4o-mini", 104.0, input_tokens=2000, output_tokens=200)
    costs = store.trace_costs("t")
    assert costs["root1"] == pytest.approx(one + two)
    assert costs["root2"] is None  # nothing in it has a known price
    assert set(costs) == {"root1", "root2"}
    assert store.trace_costs("t", ["root2"]) == {"root2": None}


def write_prices(path: Path, models: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"models": models}), encoding="utf-8")
    return path


def test_an_override_file_prices_unknown_models_and_wins_over_the_table(
    store_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prices = write_prices(tmp_path / "prices.json", {
        "house-model-7b": {"input_mtok": 2.0, "output_mtok": 10.0, "cache_read_mtok": 0.5},
        "GPT-4o-mini": {"input_mtok": 1.0, "output_mtok": 1.0},
    })  # fmt: skip
    monkeypatch.setenv("CHAINTRACK_PRICES", str(prices))
    store = SqlStore(store_uri)
    try:
        store.write(WriteBatch(new_tasks=[task("o")]))
        store.write(WriteBatch(events=[
            llm("o", 1, "house", "house-model-7b", 1_000_000, 100_000,
                input_token_details={"cache_read": 400_000}),
            llm("o", 2, "mini", "gpt-4o-mini", 1_000_000, 1_000_000),
            llm("o", 3, "table", "gpt-4o", 1000, 100),
        ]))  # fmt: skip
        costs = stored(store, "o")
    finally:
        store.close()
    # 600k plain input at $2, 400k cached at $0.5, 100k output at $10 per million.
    assert costs["house"][0] == pytest.approx(1.2 + 0.2 + 1.0)
    assert costs["mini"][0] == pytest.approx(2.0)  # the file wins over genai-prices
    assert costs["house"][1].startswith("CHAINTRACK_PRICES prices.json sha256:")
    assert costs["table"] == (
        pytest.approx(genai_cost("gpt-4o", 103.0, input_tokens=1000, output_tokens=100)),
        GENAI,
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"gpt-4o": {}}', '"models"'),
        ('{"models": {"m": {"input_per_token": 1}}}', "unknown price 'input_per_token'"),
        ('{"models": {"m": {"input_mtok": -1}}}', "must be a number >= 0"),
    ],
)
def test_a_bad_price_file_is_refused_when_the_store_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, message: str
) -> None:
    path = tmp_path / "prices.json"
    path.write_text(content, encoding="utf-8")
    monkeypatch.setenv("CHAINTRACK_PRICES", str(path))
    with pytest.raises(ConfigurationError, match="CHAINTRACK_PRICES") as caught:
        SqlStore(f"sqlite:///{tmp_path / 'x.db'}")
    assert message in str(caught.value)
    monkeypatch.setenv("CHAINTRACK_PRICES", str(tmp_path / "missing.json"))
    with pytest.raises(ConfigurationError, match="cannot be read"):
        SqlStore(f"sqlite:///{tmp_path / 'y.db'}")


def test_stored_tasks_are_priced_again_with_the_current_table(
    store_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHAINTRACK_PRICES", raising=False)
    first = SqlStore(store_uri)
    first.write(WriteBatch(new_tasks=[task("old")]))
    first.write(WriteBatch(events=[
        span_event("old", 1, "root"),
        llm("old", 2, "house", "house-model-7b", 1_000_000, 0, parent="root"),
        llm("old", 3, "mini", "gpt-4o-mini", 1000, 100, parent="root"),
        llm("old", 4, "own", "other-model", 10, 1, parent="root", cost_usd=0.25),
    ]))  # fmt: skip
    mini = genai_cost("gpt-4o-mini", 103.0, input_tokens=1000, output_tokens=100)
    assert first.task_summary("old").stats.cost_usd == pytest.approx(mini + 0.25)
    assert first.span_costs("old")["house"] == (None, None)
    first.close()

    table = PriceTable(write_prices(tmp_path / "p.json", {"house-model-7b": {"input_mtok": 3}}))
    again = SqlStore(store_uri)
    try:
        result = again.reprice_task("old", table)
        costs = again.span_costs("old")
        stats = again.task_summary("old").stats
        trace = {v.span["span_id"]: v.span for v in again.trace_page("old").spans}
        repeat = again.reprice_task("old", table)
    finally:
        again.close()
    assert costs["house"][0] == pytest.approx(3.0)
    assert costs["mini"] == (pytest.approx(mini), GENAI)
    assert costs["own"] == (0.25, "reported")  # no price in the table: the reported one stays
    assert stats.cost_usd == pytest.approx(3.0 + mini + 0.25)
    assert stats.price_source == table.source
    assert GENAI in table.source and "p.json" in table.source
    assert trace["house"]["cost_usd"] == pytest.approx(3.0)  # the trace view shows it too
    assert (result.model_calls, result.priced, result.unknown) == (3, 3, 0)
    assert result.cost_before == pytest.approx(mini + 0.25)
    assert result.cost_after == pytest.approx(stats.cost_usd)
    assert repeat.cost_after == pytest.approx(result.cost_after)  # idempotent


def test_pricing_uses_the_bundled_table_and_never_the_network(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An application that started genai-prices' auto-update (or set its own snapshot) does
    not change chaintrack's prices, and pricing opens no connection."""
    from genai_prices import data_snapshot

    fake = data_snapshot.DataSnapshot(providers=[], from_auto_update=True)
    monkeypatch.setattr(data_snapshot, "_custom_snapshot", fake)

    def no_network(*_: object, **__: object) -> None:
        raise AssertionError("pricing opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    table = PriceTable()
    price = table.price("gpt-4o-mini", TokenUsage(input=1000, output=100), 101.0)
    assert price is not None and price.source == GENAI
    monkeypatch.setattr(data_snapshot, "_custom_snapshot", None)
    assert price.cost_usd == pytest.approx(
        genai_cost("gpt-4o-mini", 101.0, input_tokens=1000, output_tokens=100)
    )


def test_money_is_shown_plainly_and_unknown_is_not_zero() -> None:
    assert usd(None) == "unknown"
    assert usd(0.000435) == "$0.000435"
    assert usd(0.0) == "$0"
    assert usd(12.3456) == "$12.35"
    assert usd(1e-9) == "<$0.000001"


@pytest.mark.parametrize(
    "model",
    [
        "gpt-4o-mini",
        "gpt-4o",
        "o3-mini",
        "claude-3-5-sonnet-20241022",
        "claude-sonnet-4-5",
        "gemini-1.5-pro",
        "deepseek-chat",
    ],
)
def test_cached_prices_equal_genai_prices_for_any_usage(model: str) -> None:
    """The table caches each model's per-token prices (tiered ones are priced in full every
    time); whatever the usage, the price is genai-prices' own."""
    import random

    table = PriceTable()
    draw = random.Random(model)
    for _ in range(40):
        prompt, completion = draw.randint(0, 400_000), draw.randint(0, 20_000)
        cached = draw.randint(0, prompt)
        written = draw.randint(0, prompt - cached)
        reasoning = draw.randint(0, completion)
        when = 1.6e9 + draw.randint(0, 10**8)
        price = table.price(model, TokenUsage(prompt, completion, cached, written, reasoning), when)
        usage = {"input_tokens": prompt, "output_tokens": completion,
                 "cache_read_tokens": cached, "cache_write_tokens": written,
                 "output_reasoning_tokens": reasoning}  # fmt: skip
        expected = genai_cost(model, when, **{k: v for k, v in usage.items() if v})
        assert price is not None
        assert price.cost_usd == pytest.approx(expected, rel=1e-12, abs=1e-15), usage
