"""``chaintrack demo``: an offline run that shows what a task records."""

from __future__ import annotations

import argparse
import logging
import math

from chaintrack import config


def run(_args: argparse.Namespace | None = None) -> int:
    from chaintrack.sdk.task import Task

    task = Task.init(
        project_name="chaintrack demo",
        task_name="sdk tour",
        task_type="inference",
        tags=["demo"],
        auto_connect_streams=False,
    )
    task.connect({"model": {"name": "scripted-stand-in", "temperature": 0.0}, "batch": 6})
    logger = task.get_logger()
    for step in range(20):
        logger.report_scalar("latency", "p50 ms", 120 + 30 * math.sin(step / 3), step)
        logger.report_scalar("latency", "p95 ms", 260 + 40 * math.cos(step / 4), step)
    logger.report_single_value("prompts", 6)
    rows: list[list[object]] = [["prompt", "output", "tokens"]]
    rows += [[f"Tell me a joke #{i}", f"(scripted answer {i})", 12 + i] for i in range(6)]
    logger.report_table("Session Analysis", "sdk tour", table_plot=rows)
    logger.report_text("demo finished", level=logging.INFO, print_console=False)
    task.upload_artifact("settings", {"prompts": 6, "stand_in": True})
    task.close()
    print(f"Stored task {task.id} in {config.tracking_uri()}")
    print(f"Show it with: chaintrack show {task.id}")
    return 0
