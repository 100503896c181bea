"""``task.upload_artifact`` and ``task.artifacts[name]``: every supported type, and the errors."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from chaintrack import Task
from chaintrack.errors import InvalidArgumentError, UnsupportedTypeError
from chaintrack.sdk.artifacts import Artifact


@pytest.fixture
def task() -> Task:
    return Task.init(project_name="proj", task_name="artifacts")


def _stored_bytes(artifact: Artifact) -> bytes:
    return Path(artifact.get_local_copy()).read_bytes()


def _check_integrity(artifact: Artifact) -> None:
    """size and sha256 describe the bytes that are stored."""
    data = _stored_bytes(artifact)
    assert artifact.size == len(data)
    assert artifact.hash == hashlib.sha256(data).hexdigest()


def test_dict_list_str_and_bytes_round_trip(task: Task) -> None:
    objects: dict[str, Any] = {
        "config": {"k": 4, "nested": {"ok": True, "none": None}, "items": [1, 2.5, "x"]},
        "answers": ["yes", "no", 3],
        "summary": "The model answered 41 of 50 questions.\nSecond line é",
        "raw": b"\x00\x01binary\xff",
        "pair": (1, 2),
    }
    for name, obj in objects.items():
        assert task.upload_artifact(name, obj) is True

    artifacts = task.artifacts
    assert set(artifacts) == set(objects)
    assert artifacts["config"].get() == objects["config"]
    assert artifacts["answers"].get() == objects["answers"]
    assert artifacts["summary"].get() == objects["summary"]
    assert artifacts["raw"].get() == objects["raw"]
    assert artifacts["pair"].get() == [1, 2]  # stored as JSON, which has no tuples
    assert {name: a.type for name, a in artifacts.items()} == {
        "config": "dict", "answers": "list", "summary": "string", "raw": "bytes", "pair": "list",
    }  # fmt: skip
    for artifact in artifacts.values():
        _check_integrity(artifact)
    assert artifacts["summary"].size == len(objects["summary"].encode("utf-8"))
    assert json.loads(artifacts["config"].preview) == objects["config"]
    assert artifacts["summary"].preview == objects["summary"]
    assert artifacts["raw"].preview == "9 bytes"


def test_dataframe_round_trip(task: Task) -> None:
    frame = pd.DataFrame({"question": ["q1", "q2", "q3"], "score": [0.5, 0.25, 1.0]})
    task.upload_artifact("scores", frame)

    artifact = task.artifacts["scores"]
    assert artifact.type == "pandas"
    pd.testing.assert_frame_equal(artifact.get(), frame)
    assert artifact.preview.startswith("3 rows x 2 columns")
    assert "q2" in artifact.preview
    _check_integrity(artifact)
    csv_text = gzip.decompress(_stored_bytes(artifact)).decode("utf-8")
    assert csv_text.splitlines()[0] == ",question,score"


def test_series_comes_back_as_a_series(task: Task) -> None:
    # Regression: a Series crashed upload_artifact (IndexError on Series.shape[1]).
    series = pd.Series([3, 1, 2], index=["a", "b", "c"], name="votes")
    task.upload_artifact("votes", series)
    pd.testing.assert_series_equal(task.artifacts["votes"].get(), series)


def test_numpy_array_round_trip(task: Task) -> None:
    array = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    task.upload_artifact("embeddings", array)

    artifact = task.artifacts["embeddings"]
    assert artifact.type == "numpy"
    back = artifact.get()
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, array)
    assert artifact.preview.startswith("array (3, 4) float32")
    _check_integrity(artifact)
    np.testing.assert_array_equal(np.load(artifact.get_local_copy()), array)


def test_object_arrays_are_refused_with_a_fix(task: Task) -> None:
    # Regression: this used to escape as numpy's own ValueError about pickling.
    with pytest.raises(UnsupportedTypeError) as info:
        task.upload_artifact("mixed", np.array([{"a": 1}, None], dtype=object))
    message = str(info.value)
    assert message.startswith("artifact_object=array([{'a': 1}, None], dtype=object)")
    assert "tolist()" in message


@pytest.mark.parametrize("as_path", [Path, str], ids=["Path", "str"])
def test_a_file_is_copied_into_the_store(
    task: Task, tmp_path: Path, as_path: Callable[[Path], Any]
) -> None:
    source = tmp_path / "eval results.jsonl"
    source.write_bytes(b'{"q": 1}\n{"q": 2}\n')
    # The writer thread copies the file; wait_on_upload=True returns once it has.
    task.upload_artifact("results", as_path(source), wait_on_upload=True)
    source.write_bytes(b"changed after upload")

    artifact = task.artifacts["results"]
    assert artifact.type == "file"
    local = Path(artifact.get_local_copy())
    assert local.read_bytes() == b'{"q": 1}\n{"q": 2}\n'
    assert local != source
    assert artifact.get() == str(local)
    assert artifact.size == 18
    assert artifact.hash == hashlib.sha256(b'{"q": 1}\n{"q": 2}\n').hexdigest()
    assert artifact.preview == "file eval results.jsonl"


def test_a_folder_is_stored_and_extracted(task: Task, tmp_path: Path) -> None:
    folder = tmp_path / "prompts"
    (folder / "system").mkdir(parents=True)
    (folder / "user.txt").write_text("hello", encoding="utf-8")
    (folder / "system" / "base.txt").write_text("be brief", encoding="utf-8")
    task.upload_artifact("prompts", folder)

    artifact = task.artifacts["prompts"]
    assert artifact.type == "folder"
    assert artifact.preview == "folder of 2 files"
    extracted = Path(artifact.get_local_copy())
    try:
        files = sorted(p.relative_to(extracted).as_posix() for p in extracted.rglob("*.txt"))
        assert files == ["system/base.txt", "user.txt"]
        assert (extracted / "system" / "base.txt").read_text(encoding="utf-8") == "be brief"
        assert artifact.size > 0
        assert len(artifact.hash) == 64
    finally:
        shutil.rmtree(extracted)


def test_uploading_again_replaces_and_metadata_is_kept(task: Task) -> None:
    task.upload_artifact("answers", {"v": 1}, metadata={"source": "run 1"})
    task.upload_artifact("answers", {"v": 2}, metadata={"source": "run 2"}, wait_on_upload=True)
    artifact = task.artifacts["answers"]
    assert artifact.get() == {"v": 2}
    assert artifact.metadata == {"source": "run 2"}
    assert len(task.artifacts) == 1


def test_names_that_differ_only_in_unsafe_characters_do_not_collide(task: Task) -> None:
    # Regression: "a/b" and "a_b" were stored in the same blob; the second overwrote the first.
    names = ["a/b", "a_b", "a b", "a:b", "../a_b", "a\\b"]
    for name in names:
        task.upload_artifact(name, {"name": name})
    assert {name: a.get() for name, a in task.artifacts.items()} == {n: {"name": n} for n in names}


def test_a_loaded_task_reads_its_artifacts(task: Task) -> None:
    task.upload_artifact("numbers", [1, 2, 3])
    task.close()
    loaded = Task.get_task(task_id=task.id)
    assert loaded.artifacts["numbers"].get() == [1, 2, 3]
    assert repr(loaded.artifacts["numbers"]).startswith("Artifact(name='numbers', type='list'")


@pytest.mark.parametrize(
    "obj", [object(), {1, 2}, 3.5, None, io.BytesIO(b"x")], ids=lambda o: type(o).__name__
)
def test_unsupported_types_name_the_value_and_list_the_supported_ones(
    task: Task, obj: object
) -> None:
    with pytest.raises(UnsupportedTypeError) as info:
        task.upload_artifact("bad", obj)
    message = str(info.value)
    assert message.startswith(f"artifact_object={obj!r}")
    assert type(obj).__name__ in message
    assert "pandas.DataFrame" in message
    assert "numpy.ndarray" in message
    assert "bad" not in task.artifacts


def test_a_dict_that_is_not_json_names_the_problem(task: Task) -> None:
    with pytest.raises(UnsupportedTypeError) as info:
        task.upload_artifact("bad", {"model": object()})
    assert "artifact_object={'model': <object object" in str(info.value)
    assert "JSON" in str(info.value)


def test_a_missing_path_is_an_error_not_text(task: Task, tmp_path: Path) -> None:
    missing = tmp_path / "results.csv"
    with pytest.raises(InvalidArgumentError) as info:
        task.upload_artifact("results", missing)
    assert f"artifact_object={str(missing)!r}" in str(info.value)
    assert "no such file or folder" in str(info.value)

    with pytest.raises(InvalidArgumentError) as info:
        task.upload_artifact("results", "data/results.csv")
    assert "artifact_object='data/results.csv'" in str(info.value)
    assert "wrap text in a dict" in str(info.value)


@pytest.mark.parametrize(
    "text", ["Use 1/2 of the budget for retrieval.", "gpt-4.1", "v1.2", "3.14", "hello"]
)
def test_text_that_is_not_a_path_is_stored_as_text(task: Task, text: str) -> None:
    # Regression: "gpt-4.1" and "v1.2" were refused as paths (".1" looked like an extension).
    task.upload_artifact("text", text)
    artifact = task.artifacts["text"]
    assert (artifact.type, artifact.get()) == ("string", text)


def test_an_artifact_needs_a_name(task: Task) -> None:
    with pytest.raises(InvalidArgumentError, match=r"name='  ' is not valid"):
        task.upload_artifact("  ", {"a": 1})
