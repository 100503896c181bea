"""The shortest path through the SDK: start a task, report, close, read back."""

from __future__ import annotations

from chaintrack import Task


def test_report_and_read_back() -> None:
    task = Task.init("smoke", "first run", task_type="inference", tags=["t1"])
    logger = task.get_logger()
    for i in range(3):
        logger.report_scalar("loss", "train", 1.0 / (i + 1), i)
    task.close()

    loaded = Task.get_task(task_id=task.id)
    assert loaded.get_status() == "completed"
    assert loaded.get_tags() == ["t1"]
    assert loaded.get_reported_scalars() == {
        "loss": {"train": {"x": [0, 1, 2], "y": [1.0, 0.5, 1.0 / 3]}}
    }
