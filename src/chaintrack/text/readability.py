"""The 16 readability metrics of textstat 0.7.13, computed in one pass over a text.

textstat computes each metric on its own: every one splits the text into words again, counts
its sentences again and looks up each word's syllables again (behind a cache of 128 texts per
function, which a stream of new texts never hits), about 0.2 ms for a 200-character prompt.
Here the words, sentences, letters and syllables of a text are found once and the 16 formulas
applied to them: the same regular expressions, the same syllable sources (the CMU dictionary,
then Pyphen), the same arithmetic in the same order, so every value is textstat's own (the tests
compare both on generated texts, ``tests/text/test_readability.py``). The word lists are
textstat's: the Dale-Chall easy words are read from its package.

It is used only with the textstat version it was checked against (``VERIFIED``); with any other,
``complexity.py`` calls textstat itself. English only, as the handler's metrics are.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

#: The textstat version whose formulas this module reproduces.
VERIFIED = (0, 7, 13)

_LANG = "en_US"
_NON_CONTRACTION_APOSTROPHE = re.compile(r"\'(?!(?:[tsd]|ve|ll|re))")
_PUNCTUATION_KEEP_APOSTROPHE = re.compile(r"[^\w\s\']")
_PUNCTUATION = re.compile(r"[^\w\s]")
_SPACE = re.compile(r"\s")
_SENTENCE = re.compile(r"\b[^.!?]+[.!?]*", re.UNICODE)
# Osman (an Arabic formula textstat applies to any text).
_COMPLEX_MARKS = re.compile("[\u064b\u064c\u064d\u064e\u064f\u0650\u0651]")
_TASHKEEL = re.compile(
    "\u064e|\u064b|\u064f|\u064c|\u0650|\u064d|\u0651|\u0652|\u0653|\u0657|\u0658"
)
_STRESS = re.compile("[\u064b\u064c\u064d\u0651]")
_SHORT_REMOVED = re.compile("[\u0627\u0649\\?\\.\\!\\,\\s*]")
_FASEEH_ONE = re.compile("[\u0626\u0621\u0624\u0630\u0638]")
_FASEEH_TWO = re.compile("(\u0648\u0627|\u0648\u0646)")
_ARABIC = re.compile("[\u0600-\u06ff]")
_SHORT_VOWELS = ("\u064e", "\u064f", "\u0650")
_LONG_LETTERS = ("ا", "و", "ي")

#: How many words' syllable counts a Readability keeps (cleared when full).
_SYLLABLES_LIMIT = 100_000
#: Only strings this short (words) are kept in it.
_WORD_LIMIT = 48


def _words(text: str) -> list[str]:
    """``list_words(text)``: punctuation removed except contraction apostrophes, split."""
    text = _NON_CONTRACTION_APOSTROPHE.sub("", text)
    return _PUNCTUATION_KEEP_APOSTROPHE.sub("", text).split()


def _lower_words(text: str) -> list[str]:
    """``list_words(text, lowercase=True)``: punctuation removed first, then lower-cased."""
    text = _NON_CONTRACTION_APOSTROPHE.sub("", text)
    return _PUNCTUATION_KEEP_APOSTROPHE.sub("", text).lower().split()


def _words_no_apostrophe(text: str) -> list[str]:
    """``list_words(text, rm_apostrophe=True)``."""
    return _PUNCTUATION.sub("", text).split()


class Readability:
    """The metrics with one set of word data (the CMU dictionary, Pyphen, the easy words)."""

    def __init__(
        self, cmu: dict[str, list[list[str]]] | None, hyphenate: Callable[[str], Any],
        easy_words: set[str],
    ) -> None:  # fmt: skip
        self._cmu = cmu
        self._positions = hyphenate
        self._easy = easy_words
        self._tokens: dict[str, int] = {}  # syllables per lower-cased word
        self._words: dict[str, int] = {}  # syllables per word as given

    # -- counts, each as textstat defines it -------------------------------------------------

    def _token_syllables(self, token: str) -> int:
        found = self._tokens.get(token)
        if found is not None:
            return found
        try:
            phones = self._cmu[token][0]  # type: ignore[index]
            count = sum(1 for p in phones if p[-1].isdigit())
        except (TypeError, IndexError, KeyError):
            count = len(self._positions(token)) + 1
        if len(self._tokens) >= _SYLLABLES_LIMIT:
            self._tokens.clear()
        self._tokens[token] = count
        return count

    def syllables(self, text: str) -> int:
        """``count_syllables(text, "en_US")``: words found as ``list_words(text,
        lowercase=True)`` finds them (punctuation removed, then lower-cased)."""
        short = len(text) <= _WORD_LIMIT
        if short:
            found = self._words.get(text)
            if found is not None:
                return found
        if not text:
            return 0
        token = self._token_syllables
        count = sum([token(t) for t in _lower_words(text)])
        if short:
            if len(self._words) >= _SYLLABLES_LIMIT:
                self._words.clear()
            self._words[text] = count
        return count

    @staticmethod
    def sentences(text: str) -> int:
        """``count_sentences(text)``."""
        if len(text) == 0:
            return 0
        found = _SENTENCE.findall(text)
        ignored = sum(1 for sentence in found if len(_words(sentence)) <= 2)
        return max(1, len(found) - ignored)

    # -- the metrics -------------------------------------------------------------------------

    def metrics(self, text: str) -> dict[str, Any]:
        """The 16 metrics, unrounded, in ``METRIC_NAMES`` order (``text_standard`` as text)."""
        cleaned = _PUNCTUATION_KEEP_APOSTROPHE.sub("", _NON_CONTRACTION_APOSTROPHE.sub("", text))
        words = cleaned.split()  # list_words(text)
        n_words = len(words)
        n_sentences = self.sentences(text)
        no_space = _SPACE.sub("", text)
        n_chars = len(no_space)
        no_punctuation = _PUNCTUATION.sub("", text)  # whitespace kept
        n_letters = len(no_punctuation) - (len(text) - n_chars)
        token = self._token_syllables
        n_syllables = sum([token(t) for t in cleaned.lower().split()]) if text else 0
        tokens = text.split()  # list_words(text, rm_punctuation=False)
        n_tokens = len(tokens)

        per_word, polysyllables, not_easy, hard_3, hard_unique = self._word_counts(words)

        wps = _ratio(n_words, n_sentences)
        spw = _ratio(n_syllables, n_words)  # syllables per word
        sentences_per_word = _ratio(n_sentences, n_words)
        letters_per_word = _ratio(n_letters, n_words)
        chars_per_word = _ratio(n_chars, n_tokens)

        fre = _fre(wps, spw)
        fk = 0.0 if wps == 0 or spw == 0 else 0.39 * wps + 11.8 * spw - 15.59
        smog = (
            0.0 if n_sentences == 0
            else 1.043 * (30 * (polysyllables / n_sentences)) ** 0.5 + 3.1291
        )  # fmt: skip
        letters, per_sentence = letters_per_word * 100, sentences_per_word * 100
        coleman = (
            0.0 if letters == 0 or per_sentence == 0
            else 0.058 * letters - 0.296 * per_sentence - 15.8
        )  # fmt: skip
        ari = 0.0 if chars_per_word == 0 or wps == 0 else 4.71 * chars_per_word + 0.5 * wps - 21.43
        dale = _dale_chall(not_easy, n_words, wps)
        linsear = self._linsear(text, tokens, per_word, n_sentences)
        fog = 0.0 if n_words == 0 else 0.4 * (wps + 100 * hard_3 / n_words)
        standard = _text_standard(fk, fre, smog, coleman, ari, dale, linsear, fog)
        huerta = 0.0 if wps == 0 or spw == 0 else 206.84 - 60 * spw - 1.02 * wps
        if n_words == 0 or n_sentences == 0:
            pazos = 0.0
        else:
            pazos = 206.835 - 62.3 * (n_syllables / n_words) - n_words / n_sentences
        polini = (
            0.0 if letters_per_word == 0 or wps == 0
            else 95.2 - 9.7 * letters_per_word - 0.35 * wps
        )  # fmt: skip
        s100, y100 = 100 * sentences_per_word, 100 * spw
        crawford = 0.0 if s100 == 0 or y100 == 0 else -0.205 * s100 + 0.049 * y100 - 3.407
        gulpease = (
            0.0 if sentences_per_word == 0 or chars_per_word == 0
            else 300 * sentences_per_word - 10 * chars_per_word + 89
        )  # fmt: skip
        return {
            "flesch_reading_ease": fre,
            "flesch_kincaid_grade": fk,
            "smog_index": smog,
            "coleman_liau_index": coleman,
            "automated_readability_index": ari,
            "dale_chall_readability_score": dale,
            "difficult_words": hard_unique,
            "linsear_write_formula": linsear,
            "gunning_fog": fog,
            "text_standard": _grade_phrase(standard),
            "fernandez_huerta": huerta,
            "szigriszt_pazos": pazos,
            "gutierrez_polini": polini,
            "crawford": crawford,
            "gulpease_index": gulpease,
            "osman": self._osman(text, n_words, wps, no_space, no_punctuation.split()),
        }

    def _word_counts(self, words: list[str]) -> tuple[list[int], int, int, int, int]:
        """Per word, its syllables (polysyllables, Linsear Write) and whether it is difficult
        (not an easy word; ``is_difficult_word`` counts the syllables of the lower-cased word):
        (syllables per word, polysyllables, words not easy, of those with 3 syllables or more,
        distinct ones with 2 or more)."""
        syllables, known, easy = self.syllables, self._words, self._easy
        per_word: list[int] = []
        polysyllables = hard_3 = not_easy = 0
        hard_2: set[str] = set()
        for w in words:
            count = known.get(w)
            if count is None:
                count = syllables(w)
            per_word.append(count)
            if count >= 3:
                polysyllables += 1
            low = w.lower()
            if low not in easy:
                not_easy += 1
                if low != w:
                    count = known.get(low)
                    if count is None:
                        count = syllables(low)
                if count >= 3:
                    hard_3 += 1
                if count >= 2:
                    hard_2.add(w)
        return per_word, polysyllables, not_easy, hard_3, len(hard_2)

    def _linsear(
        self, text: str, tokens: list[str], per_word: list[int], n_sentences: int
    ) -> float:
        """``linsear_write_formula(text, strict_lower=False, strict_upper=True)``."""
        if len(tokens) > 100:  # the first 100 words, and the text up to the 100th
            chosen: list[str] = []
            used = 0
            while used < len(tokens) and len(chosen) < 100:
                word = _PUNCTUATION_KEEP_APOSTROPHE.sub(
                    "", _NON_CONTRACTION_APOSTROPHE.sub("", tokens[used])
                )
                used += 1
                if len(word) > 0:
                    chosen.append(word)
            counts = [self.syllables(w) for w in chosen]
        else:
            counts, used = per_word, len(tokens)
        hard = sum(1 for n in counts if n >= 3)
        easy = sum(1 for n in counts if 0 < n < 3)
        joined = " ".join(tokens[:used])
        sentences = n_sentences if joined == text else self.sentences(joined)
        if sentences == 0:
            return 0.0
        number = float((easy * 1 + hard * 3) / sentences)
        if number <= 20:
            number -= 2
        return number / 2

    def _osman(self, text: str, n_words: int, wps: float, no_space: str, words: list[str]) -> float:
        """``osman(text)``; ``words`` is ``list_words(text, rm_apostrophe=True)``."""
        if n_words == 0:
            return 0.0
        if not _ARABIC.search(text):  # no Arabic letter or mark: only two counts can be > 0
            long_words = sum(1 for w in words if len(w) > 5)
            removed = sum(no_space.count(c) for c in "?.!,*")  # whitespace is gone; no alef
            arabic_syllables = len(no_space) - removed - 2
            return (
                200.791
                - 1.015 * wps
                - 24.181
                * (0 / n_words + arabic_syllables / n_words + 0 / n_words + long_words / n_words)
            )
        complex_words = sum(1 for w in words if len(_COMPLEX_MARKS.findall(w)) > 5)
        long_words = sum(1 for w in _words_no_apostrophe(_TASHKEEL.sub("", text)) if len(w) > 5)
        faseeh = 0
        for w in words:
            marks = len(_FASEEH_ONE.findall(w)) + len(_FASEEH_TWO.findall(w))
            if marks > 0 and _arabic_syllables(w) > 5:
                faseeh += 1
        complex_word_rate = complex_words / n_words
        long_word_rate = long_words / n_words
        syllables_per_word = _arabic_syllables(text, words) / n_words
        faseeh_per_word = faseeh / n_words
        return (
            200.791
            - 1.015 * wps
            - 24.181 * (complex_word_rate + syllables_per_word + faseeh_per_word + long_word_rate)
        )


def _ratio(top: int, bottom: int) -> float:
    try:
        return top / bottom
    except ZeroDivisionError:
        return 0.0


def _fre(wps: float, spw: float) -> float:
    if wps == 0 or spw == 0:
        return 0.0
    return 206.835 - 1.015 * wps - 84.6 * spw


def _dale_chall(hard: int, n_words: int, wps: float) -> float:
    if n_words == 0:
        return 0.0
    per_difficult_words = 100 * hard / n_words
    score = 0.1579 * per_difficult_words + 0.0496 * wps
    if per_difficult_words > 5:
        score += 3.6365
    return score


def _arabic_syllables(text: str, words: list[str] | None = None) -> int:
    """``count_arabic_syllables(text)``."""
    if words is None:
        words = _words_no_apostrophe(text)
    chars = "".join(words)
    short = long = 0
    if any(vowel in chars for vowel in _SHORT_VOWELS):
        for vowel in _SHORT_VOWELS:
            for i, c in enumerate(chars):
                if c != vowel:
                    continue
                if i + 1 < len(chars) and chars[i + 1] in _LONG_LETTERS:
                    long += 1
                else:
                    short += 1
    stress = len(_STRESS.findall(text))
    if short == 0:
        short = len(_SHORT_REMOVED.sub("", text)) - 2
    return short + 2 * (long + stress)


def _bounds(score: float) -> tuple[int, int, int]:
    return math.floor(score), math.ceil(score), round(score)


#: The grades textstat gives a Flesch reading ease in [low, high); 13 outside them all.
_EASE_GRADES: tuple[tuple[int, int, tuple[int, ...]], ...] = (
    (90, 100, (5,)), (80, 90, (6,)), (70, 80, (7,)), (60, 70, (8, 9)), (50, 60, (10,)),
    (40, 50, (11,)), (30, 40, (12,)),
)  # fmt: skip


def _text_standard(
    fk: float, fre: float, smog: float, coleman: float, ari: float, dale: float,
    linsear: float, fog: float,
) -> float:  # fmt: skip
    """textstat's consensus grade: the most common of the metrics' neighbouring grades."""
    grade: list[int] = [*_bounds(fk)]
    grade.extend(next((g for low, high, g in _EASE_GRADES if low <= fre < high), (13,)))
    for score in (smog, coleman, ari, dale, linsear, fog):
        grade.extend(_bounds(score))
    return float(Counter(grade).most_common(1)[0][0])


def _grade_phrase(standard: float) -> str:
    value = max(1, min(standard, 18))
    lower = int(value) - 1
    upper = lower + 1
    return f"{lower}{_suffix(lower)} and {upper}{_suffix(upper)} grade"


def _suffix(grade: int) -> str:
    if grade % 100 in (11, 12, 13):
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(grade % 10, "th")
