"""chaintrack: a local-first experiment manager for LLM applications, in ClearML's dialect."""

from chaintrack._version import __version__
from chaintrack.eval import Dataset, Experiment, compare_experiments, evaluate
from chaintrack.sdk.logger import Logger
from chaintrack.sdk.models import OutputModel
from chaintrack.sdk.task import Task

__all__ = [
    "Dataset",
    "Experiment",
    "Logger",
    "OutputModel",
    "Task",
    "__version__",
    "compare_experiments",
    "evaluate",
]
