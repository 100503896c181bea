"""Text analysis of generated texts: complexity metrics (textstat) and displaCy pictures (spaCy).

Both import their libraries lazily, on the background writer's thread, the first time they are
needed; a missing library is reported with the extra that installs it.
"""

from chaintrack.text.complexity import METRIC_NAMES, complexity_metrics, require_textstat
from chaintrack.text.visualize import Visualizer, require_spacy

__all__ = ["METRIC_NAMES", "Visualizer", "complexity_metrics", "require_spacy", "require_textstat"]
