"""``OutputModel`` and ``task.models``: configuration, weights and reading them back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaintrack import OutputModel, Task
from chaintrack.errors import InvalidArgumentError, TaskNotFoundError


@pytest.fixture
def task() -> Task:
    return Task.init(project_name="proj", task_name="models")


def test_output_model_with_config_text_and_weights(task: Task, tmp_path: Path) -> None:
    weights = tmp_path / "chain.json"
    weights.write_bytes(b'{"prompt": "be brief"}')
    model = OutputModel(task=task, name="chain", config_text="k: 4\n", framework="LangChain")
    uri = model.update_weights(weights_filename=weights)

    assert uri == model.url
    assert uri.startswith("file://")
    outputs = task.models["output"]
    assert len(outputs) == 1
    stored = outputs[0]
    assert (stored.name, stored.id, stored.framework) == ("chain", model.id, "LangChain")
    assert stored.config_text == "k: 4\n"
    local = stored.get_local_copy()
    assert local is not None
    assert Path(local).read_bytes() == b'{"prompt": "be brief"}'
    assert Path(local) != weights
    assert task.models["input"] == []


def test_output_model_with_config_dict(task: Task) -> None:
    model = OutputModel(
        task=task, name="retriever", config_dict={"k": 4, "fetch_k": 20}, tags=["v1"]
    )
    assert model.config_dict == {"k": 4, "fetch_k": 20}
    assert (model.tags, model.framework, model.url) == (["v1"], "", "")
    stored = task.models["output"]["retriever"]
    assert json.loads(stored.config_text) == {"k": 4, "fetch_k": 20}
    assert stored.config_dict == {"k": 4, "fetch_k": 20}
    assert stored.tags == ["v1"]
    assert stored.get_local_copy() is None  # no weights yet


def test_models_are_listed_in_order_and_indexable_by_name(task: Task, tmp_path: Path) -> None:
    first = OutputModel(task=task, name="draft", config_text="v1")
    second = OutputModel(task=task, name="final", config_text="v2")
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"\x00" * 16)
    first.update_weights(weights_filename=str(weights))  # updating keeps one entry per model

    outputs = task.models["output"]
    assert [m.name for m in outputs] == ["draft", "final"]
    assert [m.id for m in outputs] == [first.id, second.id]
    assert outputs["final"].config_text == "v2"
    assert outputs["draft"].get_local_copy() is not None
    with pytest.raises(KeyError, match="no model named 'missing'"):
        outputs["missing"]


def test_model_name_defaults_to_the_task_name_and_task_to_the_current(task: Task) -> None:
    model = OutputModel(config_text="x")
    assert model.task is task
    assert model.name == "models"
    assert task.models["output"][0].config_dict == {}  # "x" is not a JSON object


def test_a_loaded_task_lists_its_models(task: Task, tmp_path: Path) -> None:
    weights = tmp_path / "adapter.safetensors"
    weights.write_bytes(b"weights")
    OutputModel(task=task, name="adapter", config_dict={"r": 8}).update_weights(weights)
    task.close()

    loaded = Task.get_task(task_id=task.id).models["output"]
    assert [m.name for m in loaded] == ["adapter"]
    local = loaded[0].get_local_copy()
    assert local is not None
    assert Path(local).read_bytes() == b"weights"
    assert Path(local).name == "adapter.safetensors"


def test_a_missing_weights_file_names_the_path(task: Task, tmp_path: Path) -> None:
    model = OutputModel(task=task, name="m")
    missing = tmp_path / "missing.bin"
    with pytest.raises(InvalidArgumentError) as info:
        model.update_weights(weights_filename=missing)
    assert f"weights_filename={str(missing)!r}" in str(info.value)
    assert "no such file" in str(info.value)
    with pytest.raises(InvalidArgumentError, match="weights_filename=<path to a file>"):
        model.update_weights()
    assert task.models["output"]["m"].get_local_copy() is None


def test_config_text_and_config_dict_are_exclusive(task: Task) -> None:
    with pytest.raises(InvalidArgumentError, match="config_text= or config_dict=, not both"):
        OutputModel(task=task, config_text="a", config_dict={"a": 1})
    assert task.models["output"] == []


def test_a_model_needs_a_task() -> None:
    with pytest.raises(TaskNotFoundError, match=r"pass task=… or call Task.init"):
        OutputModel(name="orphan")
