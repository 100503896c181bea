"""The join point of human feedback in experiment comparisons.

Human feedback (``task.log_feedback``) is stored apart from automatic scores. The compare
table and the compare view show, beside each experiment's scores on an example, what
``example_feedback`` returns for it. Until feedback is recorded by the store this returns no
feedback for any example; the compare code and templates already carry the ``feedback`` field.
"""

from __future__ import annotations

from typing import Any

from chaintrack.store.base import Store


def example_feedback(store: Store, task_id: str) -> dict[str, list[dict[str, Any]]]:
    """Feedback on each example of experiment ``task_id``: example id → entries (dicts with
    ``name``, ``value``, ``comment``, ``author``). None is recorded yet: always empty."""
    del store, task_id
    return {}
