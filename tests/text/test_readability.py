"""The one-pass readability metrics give textstat's own values, text for text."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaintrack.text import complexity
from chaintrack.text.complexity import complexity_metrics, textstat_metrics

#: Words that take every branch: contractions kept and dropped (case matters to textstat),
#: hyphens, numbers, words outside the CMU dictionary (Pyphen counts them), easy and
#: difficult words, non-ASCII letters whose lower case differs, Arabic with and without marks.
VOCABULARY = [
    "the", "a", "cat", "sat", "on", "mat", "extraordinary", "Paris", "capital", "government's",
    "it's", "IT'S", "don't", "we've", "they'll", "you're", "I'd", "rock'n'roll", "'tis",
    "hello-world", "state-of-the-art", "3.14", "$5", "e.g.", "Mr.", "internationalization",
    "naïve", "café", "ŞEHİR", "İstanbul", "ß", "Σίσυφος", "zyxwv", "qwrtp", "x", "I",
    "مَرْحَبًا", "بِكُمْ", "الْعَالَمِ", "وَالْإِسْلَامِيِّ", "ذئاب", "يكتبون", "مؤسسة",
    "🙂", "<script>alert(1)</script>", "—", "''", "'",
]  # fmt: skip
SEPARATORS = ["", " ", "  ", ". ", "! ", "? ", ", ", "\n", "\t", "' ", "... ", "?! ", "*", "-"]

texts = st.lists(
    st.tuples(st.sampled_from(VOCABULARY), st.sampled_from(SEPARATORS)), max_size=140
).map(lambda parts: "".join(word + sep for word, sep in parts))


def _both(text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return complexity_metrics(text), textstat_metrics(text)


@pytest.fixture(autouse=True)
def _one_pass_in_use() -> None:
    complexity._load()
    assert complexity._fast is not None, "the installed textstat is not the verified version"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_every_metric_is_textstats_own_value_for_generated_texts(text: str) -> None:
    ours, theirs = _both(text)
    assert ours == theirs


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_unicode_text_gives_textstats_values(text: str) -> None:
    ours, theirs = _both(text)
    assert ours == theirs


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\n\nQ: What did the fish say when it hit the wall?\nA: Dam!",
        # Over 100 words: Linsear Write takes the first 100 and the text up to the 100th.
        " ".join(["Extraordinary governments deliberate"] * 60) + ". The end.",
        "One. Two words. Three words here. " * 20,
        "مَرْحَبًا بِكُمْ فِي الْعَالَمِ الْعَرَبِيِّ وَالْإِسْلَامِيِّ. ذئاب يكتبون مؤسسة.",
    ],
    ids=["empty", "blank", "fish", "long", "short-sentences", "arabic"],
)
def test_texts_at_the_edges_of_the_formulas_match(text: str) -> None:
    ours, theirs = _both(text)
    assert ours == theirs


def test_another_textstat_version_is_computed_by_textstat_itself(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import textstat

    monkeypatch.setattr(textstat, "__version__", (0, 7, 99))
    assert complexity._readability(textstat) is None
    monkeypatch.setattr(complexity, "_fast", None)
    calls: list[str] = []
    original = textstat.flesch_reading_ease

    def counted(text: str) -> Any:
        calls.append(text)
        return original(text)

    monkeypatch.setattr(textstat, "flesch_reading_ease", counted)
    assert complexity_metrics("The cat sat on the mat.")["flesch_reading_ease"] == 116.15
    assert calls == ["The cat sat on the mat."]


def test_a_text_the_one_pass_cannot_handle_falls_back_to_textstat(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert complexity._fast is not None

    def broken(_text: str) -> dict[str, Any]:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(complexity._fast, "metrics", broken)
    assert complexity_metrics("The cat sat on the mat.") == textstat_metrics(
        "The cat sat on the mat."
    )
