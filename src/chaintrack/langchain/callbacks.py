"""The LangChain callbacks: each one queues its raw event (O(1)) and returns.

Every body is guarded: an error here is logged once and never reaches the application (unless
``CHAINTRACK_STRICT=1``, for tests).
"""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

from chaintrack.langchain.records import Event

_now = time.time


class Callbacks(BaseCallbackHandler):
    """The callback methods; the handler provides ``_push`` and ``_failed``."""

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
            self._push(("on_llm_start", _now(), run_id, parent_run_id, serialized, prompts, kwargs))
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
                ("on_chat_model_start", _now(), run_id, parent_run_id, serialized, messages, kwargs)
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
            self._push(("on_llm_new_token", _now(), run_id, parent_run_id, token, None, {}))
        except Exception as exc:
            self._failed("on_llm_new_token", exc)

    def _call(
        self, action: str, first: Any, second: Any, run_id: Any, parent: Any, kwargs: dict[str, Any]
    ) -> None:
        try:
            self._push((action, _now(), run_id, parent, first, second, kwargs))
        except Exception as exc:
            self._failed(action, exc)

    def on_llm_end(
        self,
        response: Any,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._call("on_llm_end", response, None, run_id, parent_run_id, {})

    def on_llm_error(
        self,
        error: BaseException,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._call("on_llm_error", error, None, run_id, parent_run_id, {})

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._call("on_chain_start", serialized, inputs, run_id, parent_run_id, kwargs)

    def on_chain_end(
        self,
        outputs: Any,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._call("on_chain_end", outputs, None, run_id, parent_run_id, {})

    def on_chain_error(
        self,
        error: BaseException,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._call("on_chain_error", error, None, run_id, parent_run_id, {})

    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._call("on_tool_start", serialized, input_str, run_id, parent_run_id, kwargs)

    def on_tool_end(
        self,
        output: Any,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._call("on_tool_end", output, None, run_id, parent_run_id, {})

    def on_tool_error(
        self,
        error: BaseException,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._call("on_tool_error", error, None, run_id, parent_run_id, {})

    def on_retriever_start(
        self,
        serialized: dict[str, Any] | None,
        query: str,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._call("on_retriever_start", serialized, query, run_id, parent_run_id, kwargs)

    def on_retriever_end(
        self,
        documents: Any,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._call("on_retriever_end", documents, None, run_id, parent_run_id, {})

    def on_retriever_error(
        self,
        error: BaseException,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._call("on_retriever_error", error, None, run_id, parent_run_id, {})

    def on_text(
        self,
        text: str,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._call("on_text", text, None, run_id, parent_run_id, {})

    def on_agent_action(
        self,
        action: Any,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._call("on_agent_action", action, None, run_id, parent_run_id, {})

    def on_agent_finish(
        self,
        finish: Any,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._call("on_agent_finish", finish, None, run_id, parent_run_id, {})

    def on_custom_event(
        self, name: str, data: Any, *, run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        self._call("on_custom_event", name, data, run_id, None, {})

    def on_retry(
        self,
        retry_state: Any,
        *,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._call("on_retry", retry_state, None, run_id, parent_run_id, {})
