"""Experiments compared example by example: the DataFrame, sorting and filtering by a score's
delta, the REST endpoint's pages, the CLI, cost from priced spans, and the step-by-step diff of
two traces of one example."""

from __future__ import annotations

import asyncio
import json
import math
import time
from typing import Any

import httpx
import pytest
from eval_helpers import adder, qa_rows

from chaintrack import Dataset, Task, compare_experiments, evaluate
from chaintrack import scorers as s
from chaintrack.cli import main
from chaintrack.errors import InvalidArgumentError
from chaintrack.eval import compare
from chaintrack.eval.results import load_rows
from chaintrack.server.app import create_app
from chaintrack.store import open_store
from chaintrack.store.evalrecords import ResultRecord
from chaintrack.store.records import SPAN, TaskRecord, WriteBatch


def _off_by_one_on_odd(inputs: dict[str, Any]) -> str:
    left = int(inputs["question"].partition(" + ")[0])
    return str(2 * left + (left % 2))


def _pair(n: int = 6) -> tuple[Any, Any, Dataset]:
    ds = Dataset.create("arith", "evals").add_rows(qa_rows(n)).finalize()
    scorers = [s.exact_match(), s.fuzzy_match()]
    v1 = evaluate(adder, ds, scorers, experiment_name="v1", progress=False)
    v2 = evaluate(_off_by_one_on_odd, ds, scorers, experiment_name="v2", progress=False)
    return v1, v2, ds


def test_compare_experiments_lines_examples_up_with_scores_and_deltas(backend: str) -> None:
    v1, v2, _ = _pair()
    frame = compare_experiments([v1.id, v2])
    assert list(frame["example_id"]) == list(v1.results["example_id"])
    assert list(frame["v1 output"]) == ["0", "2", "4", "6", "8", "10"]
    assert list(frame["v2 output"]) == ["0", "3", "4", "7", "8", "11"]
    assert list(frame["v2 exact_match"]) == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    assert list(frame["Δ exact_match (v2)"]) == [0.0, -1.0, 0.0, -1.0, 0.0, -1.0]
    for column in ("v1 latency_ms", "v2 total_tokens", "v2 cost_usd", "v1 trace_id"):
        assert column in frame.columns
    assert frame["inputs"][1] == {"question": "1 + 1"} and frame["expected"][1] == "2"

    comparison = compare.build(open_store(), [v1.id, v2.id])
    worse = compare.select_rows(comparison, row_filter="worse", score="exact_match")
    assert [r.example_id for r in worse] == ["q1", "q3", "q5"]
    by_delta = compare.select_rows(comparison, sort="delta", score="fuzzy_match")
    deltas = [r.deltas["fuzzy_match"][1] for r in by_delta]
    assert deltas == sorted(deltas) and deltas[0] < 0 and deltas[-1] == 0
    assert compare.select_rows(comparison, row_filter="better", score="exact_match") == []
    assert comparison.means()["exact_match"] == [1.0, 0.5]
    # feedback's place in each cell (none is recorded by evaluate)
    assert all(c is not None and c.feedback == [] for r in comparison.rows for c in r.cells)


def test_comparing_needs_two_experiments_of_one_dataset(backend: str) -> None:
    v1, v2, _ = _pair(2)
    with pytest.raises(InvalidArgumentError, match="two or more experiment ids"):
        compare_experiments([v1.id])
    other = Dataset.create("other", "evals").add_rows(qa_rows(2)).finalize()
    v3 = evaluate(adder, other, [s.exact_match()], experiment_name="v3", progress=False)
    with pytest.raises(InvalidArgumentError, match="different datasets"):
        compare_experiments([v1.id, v3.id])
    plain = Task.init(project_name="evals", task_name="not an experiment")
    plain.close()
    with pytest.raises(InvalidArgumentError, match="is not an experiment"):
        compare_experiments([v1.id, plain.id])
    # a second run of a version of the same dataset compares; equal names get the id's start
    again = evaluate(adder, v1.dataset_id or "", [s.exact_match()], experiment_name="v1",
                     progress=False)  # fmt: skip
    frame = compare_experiments([v1.id, v2.id, again.id])
    assert f"v1 ({again.id[:8]}) output" in frame.columns
    assert f"Δ exact_match (v1 ({again.id[:8]}))" in frame.columns


def _get(app: Any, url: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(url)

    return asyncio.run(go())


def test_the_rest_api_serves_the_comparison_in_pages() -> None:
    ds = Dataset.create("many", "evals").add_rows(qa_rows(120)).finalize()
    v1 = evaluate(adder, ds, [s.exact_match()], experiment_name="v1", progress=False)
    v2 = evaluate(_off_by_one_on_odd, ds, [s.exact_match()], experiment_name="v2",
                  progress=False)  # fmt: skip
    app = create_app(open_store())
    base = f"/api/v1/experiments/compare?ids={v1.id}&ids={v2.id}"
    first = _get(app, base + "&limit=50").json()
    assert (first["total"], len(first["rows"]), first["scores"]) == (120, 50, ["exact_match"])
    assert [e["name"] for e in first["experiments"]] == ["v1", "v2"]
    last = _get(app, base + "&limit=50&offset=100").json()
    assert len(last["rows"]) == 20 and last["rows"][-1]["example_id"] == "q119"
    worse = _get(app, base + "&filter=worse&limit=500").json()
    assert worse["total"] == 60
    assert {r["deltas"]["exact_match"][1] for r in worse["rows"]} == {-1.0}
    cell = worse["rows"][0]["cells"][1]
    assert set(cell) >= {"output", "scores", "latency_ms", "total_tokens", "cost_usd",
                         "trace_id", "feedback"}  # fmt: skip
    assert worse["means"]["exact_match"] == [1.0, 0.5]
    assert _get(app, base + "&filter=bogus").status_code == 400
    assert _get(app, f"/api/v1/experiments/compare?ids={v1.id}").status_code == 400
    assert _get(app, f"/api/v1/experiments/compare?ids={v1.id}&ids=nope").status_code == 404


def test_the_cli_prints_the_comparison(capsys: pytest.CaptureFixture[str]) -> None:
    v1, v2, _ = _pair()
    assert main(["experiments", "compare", v1.id, v2.id, "--filter", "worse",
                 "--score", "exact_match", "--sort", "delta"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert out.startswith("v1 vs v2: 6 examples (baseline: v1)")
    assert "3 example(s) shown by filter 'worse'" in out
    lines = [line.split() for line in out.splitlines() if line.strip().startswith("q")]
    assert [line[0] for line in lines] == ["q1", "q3", "q5"]
    assert all(line[-1] == "-1" for line in lines)
    assert main(["experiments", "compare", v1.id]) == 1
    assert "two or more experiment ids" in capsys.readouterr().err


def _span(span_id: str, parent: str | None, kind: str, cost: float | None,
          tokens: int | None) -> dict[str, Any]:  # fmt: skip
    now = time.time()
    return {"span_id": span_id, "parent_id": parent, "kind": kind, "name": span_id,
            "start_time": now, "end_time": now + 0.1, "latency_ms": 100.0, "status": "ok",
            "total_tokens": tokens, "cost_usd": cost}  # fmt: skip


def test_an_examples_cost_is_the_sum_of_its_priced_model_calls_or_unknown(backend: str) -> None:
    """Cost comes from the spans' ``cost_usd`` (NULL: the model has no known price)."""
    store = open_store()
    ds = Dataset.create("priced", "evals").add_rows(qa_rows(2)).finalize()
    examples = ds.examples()
    spans = [
        _span("root-a", None, "chain", None, None),
        _span("a-llm-1", "root-a", "chat_model", 0.0001, 100),
        _span("a-tool", "a-llm-1", "tool", None, None),
        _span("a-llm-2", "a-tool", "llm", 0.00005, 50),
        _span("root-b", None, "chain", None, None),
        _span("b-llm", "root-b", "chat_model", None, 70),
    ]
    events = [("t" * 32, 7, n, SPAN, time.time(), None, None, None, None, None, None,
               json.dumps(p)) for n, p in enumerate(spans, start=1)]  # fmt: skip
    store.write(WriteBatch(
        new_tasks=[TaskRecord(id="t" * 32, project="evals", name="priced", type="testing",
                              status="completed", created=1.0, last_update=1.0,
                              system_tags=["experiment"])],
        events=events,  # type: ignore[arg-type]
    ))  # fmt: skip
    roots = ["root-a", "root-b"]
    store.write_results([
        ResultRecord("t" * 32, e.example_id, 0, ds.id, e.position, time.time(), '"x"', "{}",
                     5.0, None, root) for e, root in zip(examples, roots, strict=True)
    ])  # fmt: skip
    rows = load_rows(store, "t" * 32)
    assert rows[0].cost_usd == pytest.approx(0.00015) and rows[0].total_tokens == 150
    assert rows[1].cost_usd is None and rows[1].total_tokens == 70  # unknown, never $0
    assert math.isclose(sum(t.cost_usd or 0 for t in store.trace_totals("t" * 32)), 0.00015)


def test_two_traces_of_one_example_are_diffed_step_by_step(backend: str) -> None:
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    from chaintrack.demo.eval_models import ScriptedSupportModel

    def bot(system: str) -> Any:
        prompt = ChatPromptTemplate.from_messages([("system", system), ("human", "{question}")])
        return prompt | ScriptedSupportModel() | StrOutputParser()

    ds = Dataset.create("support", "evals").add_rows(
        [{"id": "refund", "inputs": {"question": "How do I get a refund?"}, "expected": "30"}]
    )
    a = evaluate(bot("Answer briefly."), ds, [s.contains()], progress=False)
    b = evaluate(bot("Cite the policy."), ds, [s.contains()], progress=False)
    trace_a, trace_b = a.results["trace_id"][0], b.results["trace_id"][0]
    steps = compare.trace_diff(open_store(), a.id, trace_a, b.id, trace_b)
    by_name = {step["name"]: step for step in steps}
    assert [s_["depth"] for s_ in steps] == [0, 1, 1, 1]
    assert "output" in by_name["ChatPromptTemplate"]["changed"]  # the system prompt
    model_step = next(s_ for s_ in steps if s_["kind"] == "chat_model")
    assert "output" in model_step["changed"] and model_step["tokens_delta"] > 0
    assert model_step["a"]["output"] != model_step["b"]["output"]
    assert all(s_["match"] in ("same", "changed") for s_ in steps)


def test_the_server_refuses_results_it_could_not_read_back_and_stores_none() -> None:
    """A server answers 200 only for what it stored: a result whose scores are not a JSON
    object (or whose output is not JSON) is refused with 422, with the rest of its request."""
    ds = Dataset.create("served", "evals").add_rows(qa_rows(1)).finalize()
    app = create_app(open_store())
    good = {"task_id": "t" * 32, "example_id": "e1", "repetition": 0, "dataset_id": ds.id,
            "position": 0, "created": 1.0, "output": '"4"', "scores": "{}"}  # fmt: skip

    async def post(body: Any) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post("/api/v1/experiments/results", json=body)

    for bad in ({"scores": "[1, 2]"}, {"output": "not json"}, {"repetition": -1}):
        response = asyncio.run(post([good, {**good, "example_id": "e2", **bad}]))
        assert response.status_code == 422, bad
    assert open_store().get_results("t" * 32) == []
    assert asyncio.run(post([good])).status_code == 200
    assert [r.example_id for r in open_store().get_results("t" * 32)] == ["e1"]
    bad_rows = [{"example_id": "x", "position": 0, "inputs": '"not a dict"'}]
    response = _get(app, f"/api/v1/datasets/{ds.id}/rows")
    assert len(response.json()) == 1

    async def add(body: Any) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(f"/api/v1/datasets/{ds.id}/rows", json=body)

    assert asyncio.run(add(bad_rows)).status_code == 422
    ok_row = [{"example_id": "x", "position": 1, "inputs": '{"q": 1}'}]
    refused = asyncio.run(add(ok_row))  # the version is finalized
    assert refused.status_code == 400 and "is finalized" in refused.json()["detail"]
    assert len(_get(app, f"/api/v1/datasets/{ds.id}/rows").json()) == 1


def test_feedback_on_an_example_is_shown_beside_its_scores(backend: str) -> None:
    v1, v2, _ = _pair(4)
    example = v1.results["example_id"].iloc[0]
    Task.get_task(task_id=v2.id).log_feedback("helpful", False, example_id=example,
                                              comment="wrong sum", author="ana")  # fmt: skip
    table = compare_experiments([v1.id, v2.id])
    row = table[table["example_id"] == example].iloc[0]
    assert row["v1 feedback"] is None
    assert row["v2 feedback"] == [{"name": "helpful", "value": False, "comment": "wrong sum"}]
