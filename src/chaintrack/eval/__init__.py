"""Experiments on LLM applications: datasets, ``evaluate`` with scorers (LLM judges too),
and comparison example by example. See docs/evaluation.md."""

from chaintrack.eval.compare import compare_experiments
from chaintrack.eval.dataset import Dataset
from chaintrack.eval.experiment import Experiment
from chaintrack.eval.runner import evaluate

__all__ = ["Dataset", "Experiment", "compare_experiments", "evaluate"]
