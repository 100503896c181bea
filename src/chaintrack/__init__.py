"""chaintrack: a local-first experiment manager for LLM applications, in ClearML's dialect."""

from chaintrack._version import __version__
from chaintrack.sdk.costs import reprice, trace_costs
from chaintrack.sdk.feedback import get_feedback
from chaintrack.sdk.logger import Logger
from chaintrack.sdk.models import OutputModel
from chaintrack.sdk.task import Task

__all__ = [
    "Logger",
    "OutputModel",
    "Task",
    "__version__",
    "get_feedback",
    "reprice",
    "trace_costs",
]
