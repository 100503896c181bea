"""chaintrack: a local-first experiment manager for LLM applications, in ClearML's dialect."""

from chaintrack._version import __version__
from chaintrack.query.client import export, project_stats, search_spans
from chaintrack.sdk.logger import Logger
from chaintrack.sdk.models import OutputModel
from chaintrack.sdk.task import Task

__all__ = [
    "Logger",
    "OutputModel",
    "Task",
    "__version__",
    "export",
    "project_stats",
    "search_spans",
]
