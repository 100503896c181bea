"""The LangChain callbacks: each one copies what it was given and queues it, then returns.

A callback's whole work is one timestamp, a copy of its arguments' containers (see
``snapshot.py``: what the application changes later is not what it passed), one tuple and one
append (see the handler's ``_push``); everything else happens later, on the writer's thread.
Every body is guarded: an error here is logged once and never reaches the application (unless
``CHAINTRACK_STRICT=1``, for tests).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

from chaintrack.langchain.records import STREAMED_CONTENT, Event
from chaintrack.langchain.resumes import lifecycle_fields
from chaintrack.langchain.snapshot import snapshot as _copy
from chaintrack.langchain.snapshot import snapshot_kwargs as _copy_kwargs

_now = time.time
_NONE: Mapping[str, Any] = MappingProxyType({})


class Callbacks(BaseCallbackHandler):
    """The callback methods; the handler provides ``_push`` and ``_failed``."""

    #: Whether the handler receives LangGraph's ``on_interrupt`` / ``on_resume`` (see
    #: :func:`hear_graph_lifecycle`).
    _graph_lifecycle = False

    def _push(self, event: Event) -> None:
        raise NotImplementedError

    def _failed(self, where: str, exc: Exception) -> None:
        raise NotImplementedError

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            self._push(
                (
                    "on_llm_start",
                    _now(),
                    run_id,
                    parent_run_id,
                    serialized,
                    _copy(prompts),
                    _copy_kwargs(kwargs),
                )
            )
        except Exception as exc:
            self._failed("on_llm_start", exc)

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[Any]],
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            self._push(
                (
                    "on_chat_model_start",
                    _now(),
                    run_id,
                    parent_run_id,
                    serialized,
                    _copy(messages),
                    _copy_kwargs(kwargs),
                )
            )
        except Exception as exc:
            self._failed("on_chat_model_start", exc)

    def on_llm_new_token(
        self,
        token: Any,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            self._push(("on_llm_new_token", _now(), run_id, parent_run_id, token, None, _NONE))
        except Exception as exc:
            self._failed("on_llm_new_token", exc)

    def on_stream_event(
        self,
        event: Any,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """A v3 streaming-protocol event: content arriving is a streamed token (see
        ``Recorder._stream_event``); the message's start and finish carry nothing new."""
        try:
            kind = event.get("event") if isinstance(event, Mapping) else None
            if kind in STREAMED_CONTENT:
                self._push(
                    ("on_stream_event", _now(), run_id, parent_run_id, kind, _copy(event), _NONE)
                )
        except Exception as exc:
            self._failed("on_stream_event", exc)

    def on_llm_end(
        self,
        response: Any,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            self._push(("on_llm_end", _now(), run_id, parent_run_id, _copy(response), None, _NONE))
        except Exception as exc:
            self._failed("on_llm_end", exc)

    def on_llm_error(
        self,
        error: BaseException,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            self._push(("on_llm_error", _now(), run_id, parent_run_id, error, None, _NONE))
        except Exception as exc:
            self._failed("on_llm_error", exc)

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            if not self._graph_lifecycle:
                hear_graph_lifecycle(self)
            self._push(
                (
                    "on_chain_start",
                    _now(),
                    run_id,
                    parent_run_id,
                    serialized,
                    _copy(inputs),
                    _copy_kwargs(kwargs),
                )
            )
        except Exception as exc:
            self._failed("on_chain_start", exc)

    def on_chain_end(
        self,
        outputs: Any,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            self._push(("on_chain_end", _now(), run_id, parent_run_id, _copy(outputs), None, _NONE))
        except Exception as exc:
            self._failed("on_chain_end", exc)

    def on_chain_error(
        self,
        error: BaseException,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            self._push(("on_chain_error", _now(), run_id, parent_run_id, error, None, _NONE))
        except Exception as exc:
            self._failed("on_chain_error", exc)

    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            self._push(
                (
                    "on_tool_start",
                    _now(),
                    run_id,
                    parent_run_id,
                    serialized,
                    input_str,
                    _copy_kwargs(kwargs),
                )
            )
        except Exception as exc:
            self._failed("on_tool_start", exc)

    def on_tool_end(
        self,
        output: Any,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            self._push(("on_tool_end", _now(), run_id, parent_run_id, _copy(output), None, _NONE))
        except Exception as exc:
            self._failed("on_tool_end", exc)

    def on_tool_error(
        self,
        error: BaseException,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            self._push(("on_tool_error", _now(), run_id, parent_run_id, error, None, _NONE))
        except Exception as exc:
            self._failed("on_tool_error", exc)

    def on_retriever_start(
        self,
        serialized: dict[str, Any] | None,
        query: str,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            self._push(
                (
                    "on_retriever_start",
                    _now(),
                    run_id,
                    parent_run_id,
                    serialized,
                    query,
                    _copy_kwargs(kwargs),
                )
            )
        except Exception as exc:
            self._failed("on_retriever_start", exc)

    def on_retriever_end(
        self,
        documents: Any,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            self._push(
                ("on_retriever_end", _now(), run_id, parent_run_id, _copy(documents), None, _NONE)
            )
        except Exception as exc:
            self._failed("on_retriever_end", exc)

    def on_retriever_error(
        self,
        error: BaseException,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            self._push(("on_retriever_error", _now(), run_id, parent_run_id, error, None, _NONE))
        except Exception as exc:
            self._failed("on_retriever_error", exc)

    def on_text(
        self,
        text: str,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            self._push(("on_text", _now(), run_id, parent_run_id, text, None, _NONE))
        except Exception as exc:
            self._failed("on_text", exc)

    def on_agent_action(
        self,
        action: Any,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            self._push(
                ("on_agent_action", _now(), run_id, parent_run_id, _copy(action), None, _NONE)
            )
        except Exception as exc:
            self._failed("on_agent_action", exc)

    def on_agent_finish(
        self,
        finish: Any,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            self._push(
                ("on_agent_finish", _now(), run_id, parent_run_id, _copy(finish), None, _NONE)
            )
        except Exception as exc:
            self._failed("on_agent_finish", exc)

    def on_custom_event(
        self,
        name: str,
        data: Any,
        *,
        run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            self._push(("on_custom_event", _now(), run_id, None, name, _copy(data), _NONE))
        except Exception as exc:
            self._failed("on_custom_event", exc)

    def on_retry(
        self,
        retry_state: Any,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            self._push(("on_retry", _now(), run_id, parent_run_id, retry_state, None, _NONE))
        except Exception as exc:
            self._failed("on_retry", exc)

    # -- LangGraph's graph lifecycle (langgraph.callbacks.GraphCallbackHandler) --------------

    def on_interrupt(self, event: Any) -> None:
        """The graph paused on ``interrupt()`` (``GraphInterruptEvent``; ``run_id``: the graph's
        run)."""
        try:
            data = _copy(lifecycle_fields(event))
            run_id = getattr(event, "run_id", None)
            self._push(("on_interrupt", _now(), run_id, None, data, None, _NONE))
        except Exception as exc:
            self._failed("on_interrupt", exc)

    def on_resume(self, event: Any) -> None:
        """The graph resumed from a checkpoint (``GraphResumeEvent``)."""
        try:
            data = lifecycle_fields(event)
            run_id = getattr(event, "run_id", None)
            self._push(("on_resume", _now(), run_id, None, data, None, _NONE))
        except Exception as exc:
            self._failed("on_resume", exc)


#: The handler class with LangGraph's ``GraphCallbackHandler`` among its bases, per class.
_GRAPH_AWARE: dict[type, type] = {}


def hear_graph_lifecycle(handler: Callbacks) -> None:
    """Make ``handler`` receive LangGraph's ``on_interrupt`` / ``on_resume`` once LangGraph is
    loaded.

    LangGraph sends them only to instances of its ``GraphCallbackHandler``, and importing that
    module costs about 0.6 s, too much to ask of every LangChain application. A graph imports it
    before its root run starts and filters the handlers right after that run's
    ``on_chain_start``: at that moment the handler's class becomes a subclass of both (same
    name, same behaviour; ``GraphCallbackHandler`` adds only the two methods defined above).
    """
    module = sys.modules.get("langgraph.callbacks")
    base = getattr(module, "GraphCallbackHandler", None)
    if not isinstance(base, type):
        return
    cls = type(handler)
    if not isinstance(handler, base):
        aware = _GRAPH_AWARE.get(cls)
        if aware is None:
            namespace = {"__module__": cls.__module__, "__qualname__": cls.__qualname__,
                         "__doc__": cls.__doc__, "_graph_lifecycle": True}  # fmt: skip
            aware = _GRAPH_AWARE.setdefault(cls, type(cls.__name__, (cls, base), namespace))
        handler.__class__ = aware
    handler._graph_lifecycle = True
