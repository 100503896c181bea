"""chaintrack: a local-first experiment manager for LLM applications, in ClearML's dialect."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chaintrack._version import __version__
from chaintrack.query.client import export, project_stats, search_spans
from chaintrack.sdk.costs import reprice, trace_costs
from chaintrack.sdk.feedback import get_feedback
from chaintrack.sdk.logger import Logger
from chaintrack.sdk.models import OutputModel
from chaintrack.sdk.task import Task

if TYPE_CHECKING:
    from chaintrack.eval import Dataset, Experiment, compare_experiments, evaluate

__all__ = [
    "Dataset",
    "Experiment",
    "Logger",
    "OutputModel",
    "Task",
    "__version__",
    "compare_experiments",
    "evaluate",
    "export",
    "get_feedback",
    "project_stats",
    "reprice",
    "search_spans",
    "trace_costs",
]

#: Imported on first use: a run that only logs tasks does not pay for the evaluation code.
_EVAL = frozenset({"Dataset", "Experiment", "compare_experiments", "evaluate"})


def __getattr__(name: str) -> Any:
    if name in _EVAL:
        from chaintrack import eval as _eval

        return getattr(_eval, name)
    raise AttributeError(f"module 'chaintrack' has no attribute {name!r}")
