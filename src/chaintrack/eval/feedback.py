"""Human feedback in experiment comparisons.

Human feedback (``task.log_feedback(..., example_id=…)``, the web UI's forms) is stored apart
from automatic scores; the compare table and the compare view show, beside each experiment's
scores on an example, the feedback given on that example of that experiment.
"""

from __future__ import annotations

from typing import Any

from chaintrack.store.base import Store


def example_feedback(store: Store, task_id: str) -> dict[str, list[dict[str, Any]]]:
    """Feedback on each example of experiment ``task_id``: example id → entries (dicts with
    ``name``, ``value``, ``comment``, ``author``), oldest first."""
    found: dict[str, list[dict[str, Any]]] = {}
    for record in store.get_feedback([task_id]):
        if record.example_id:
            found.setdefault(record.example_id, []).append({
                "name": record.name, "value": record.value,
                "comment": record.comment, "author": record.author,
            })  # fmt: skip
    return found
