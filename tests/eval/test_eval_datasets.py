"""Datasets on every backend (embedded SQLite, PostgreSQL, a tracking server over HTTP):
versions and parents, stable example ids, imports from CSV, JSONL and DataFrames, and bad rows
that add nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from eval_helpers import qa_rows

from chaintrack import Dataset
from chaintrack.errors import DatasetNotFoundError, InvalidArgumentError


def test_a_dataset_is_created_filled_finalized_and_found_again(backend: str) -> None:
    ds = Dataset.create("arith", "evals/math", description="sums")
    ds.add_rows(qa_rows(4))
    assert (len(ds), ds.version, ds.is_final, ds.parent) == (4, "1.0.0", False, None)
    ds.finalize()
    found = Dataset.get(dataset_name="arith", dataset_project="evals/math")
    assert (found.id, found.version, len(found), found.is_final) == (ds.id, "1.0.0", 4, True)
    frame = found.to_dataframe()
    assert list(frame.columns) == ["id", "inputs", "expected", "metadata"]
    assert frame["inputs"][0] == {"question": "0 + 0"}
    assert list(frame["expected"]) == ["0", "2", "4", "6"]
    assert frame["metadata"][3] == {"level": "hard"}
    # given ids are kept; the others are derived from the content
    assert frame["id"][1] == "q1" and frame["id"][3] == "q3"
    assert len(frame["id"][0]) == 16
    assert Dataset.get(dataset_id=ds.id).name == "arith"
    listed = Dataset.list_datasets("evals/math")
    assert [(d["name"], d["version"], d["rows"], d["status"]) for d in listed] == [
        ("arith", "1.0.0", 4, "final")
    ]


def test_changing_a_finalized_version_makes_a_child_version_with_the_same_ids(
    backend: str,
) -> None:
    ds = Dataset.create("arith", "evals").add_rows(qa_rows(3)).finalize()
    first_ids = list(ds.to_dataframe()["id"])
    first_id = ds.id
    ds.add_rows([{"inputs": {"question": "9 + 9"}, "expected": "18"}])
    assert ds.id != first_id and ds.parent == first_id
    assert (ds.version, len(ds), ds.is_final) == ("1.0.1", 4, False)
    assert list(ds.to_dataframe()["id"])[:3] == first_ids  # ids line up across versions
    # the frozen version is unchanged, and Dataset.get still returns it (newest finalized)
    assert len(Dataset.get(dataset_id=first_id)) == 3
    assert Dataset.get(dataset_name="arith", dataset_project="evals").id == first_id
    ds.finalize()
    assert Dataset.get(dataset_name="arith", dataset_project="evals").id == ds.id
    assert Dataset.get(dataset_name="arith", dataset_version="1.0.0").id == first_id
    # a version made from parents starts with their rows
    child = Dataset.create("arith", "evals", dataset_version="2.0", parent_datasets=[ds])
    assert (len(child), child.parent, child.version) == (4, ds.id, "2.0")
    with pytest.raises(InvalidArgumentError, match=r"version .2\.0. already"):
        Dataset.create("arith", "evals", dataset_version="2.0")


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ({"expected": "1"}, r"row 2: has no 'inputs'"),
        ({"inputs": {"q": {1, 2}}}, r"row 2: its inputs is not JSON-serializable"),
        ({"inputs": {"q": "x"}, "id": "q1"}, r"row 2: duplicate id: example id 'q1' is also row 1"),
        ({"inputs": {"q": "x"}, "answer": "y"}, r"row 2: unknown key\(s\) 'answer'"),
        ("just text", r"row 2: is a str"),
    ],
)
def test_a_bad_row_is_named_and_nothing_is_added(
    backend: str, bad_row: object, message: str
) -> None:
    ds = Dataset.create("strict", "evals").add_rows(qa_rows(2))
    good = {"inputs": {"question": "5 + 5"}, "expected": "10"}
    with pytest.raises(InvalidArgumentError, match=message + ".*no row was added"):
        ds.add_rows([good, {"inputs": {"question": "1 + 1"}, "id": "q1"}, bad_row])
    assert len(ds) == 2 and len(Dataset.get(dataset_id=ds.id).to_dataframe()) == 2


def test_an_example_the_version_has_already_is_refused_whole(backend: str) -> None:
    ds = Dataset.create("strict", "evals").add_rows(qa_rows(2))
    rows = [{"inputs": {"question": "7 + 7"}, "expected": "14"}, qa_rows(2)[0]]
    with pytest.raises(InvalidArgumentError, match=r"row 1: example id .* is in the dataset"):
        ds.add_rows(rows)
    assert len(Dataset.get(dataset_id=ds.id).to_dataframe()) == 2


def test_rows_come_from_csv_jsonl_and_dataframes(backend: str, tmp_path: Path) -> None:
    csv_file = tmp_path / "qa.csv"
    csv_file.write_text("id,question,context,expected\na,What is 2+2?,math,4\n"
                        "b,Capital of France?,geo,Paris\n", encoding="utf-8")  # fmt: skip
    from_csv = Dataset.import_file(csv_file, "qa", "imports", finalize=True)
    frame = from_csv.to_dataframe()
    assert list(frame["id"]) == ["a", "b"]
    assert frame["inputs"][1] == {"question": "Capital of France?", "context": "geo"}
    assert from_csv.is_final and list(frame["expected"]) == ["4", "Paris"]

    jsonl = tmp_path / "qa.jsonl"
    jsonl.write_text(
        json.dumps({"inputs": {"q": "a"}, "expected": {"label": 1}, "metadata": {"s": 1}}) + "\n"
        + json.dumps({"q": "b", "expected": [1, 2]}) + "\n\n", encoding="utf-8",
    )  # fmt: skip
    from_jsonl = Dataset.import_file(jsonl, "qa-jsonl", "imports")
    rows = from_jsonl.to_dataframe()
    assert list(rows["inputs"]) == [{"q": "a"}, {"q": "b"}]
    assert list(rows["expected"]) == [{"label": 1}, [1, 2]]

    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"inputs": {"q": 1}}\n{not json\n', encoding="utf-8")
    with pytest.raises(InvalidArgumentError, match="line 2: not valid JSON"):
        Dataset.import_file(broken, "broken", "imports")
    assert [d["name"] for d in Dataset.list_datasets("imports")].count("broken") == 0

    df = pd.DataFrame({"question": ["x", "y"], "expected": ["1", None], "id": [10, 11]})
    from_df = Dataset.create("frame", "imports").add_rows(df)
    got = from_df.to_dataframe()
    assert list(got["id"]) == ["10", "11"]
    assert list(got["expected"]) == ["1", None]


def test_unknown_datasets_are_a_clear_error(backend: str) -> None:
    with pytest.raises(DatasetNotFoundError, match="no dataset 'evals/nothing'"):
        Dataset.get(dataset_name="nothing", dataset_project="evals")
    with pytest.raises(DatasetNotFoundError, match="no dataset with id"):
        Dataset.get(dataset_id="0" * 32)
