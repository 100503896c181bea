"""Chat models for the tests, written on LangChain's ``BaseChatModel`` (no provider is reachable
here): a model that calls tools and streams its reply chunk by chunk with the usage in the last
chunk only, as OpenAI's streaming API does, and one that streams natively through the v3
streaming protocol (``_stream_chat_model_events``), sending no ``on_llm_new_token``."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr


def usage(prompt: int, completion: int) -> dict[str, int]:
    return {
        "input_tokens": prompt,
        "output_tokens": completion,
        "total_tokens": prompt + completion,
    }


class ScriptedChatModel(BaseChatModel):
    """Answers with the next of ``replies`` (cycling); streams it word by word with the tool
    calls and the usage in the last chunk only; ``bind_tools`` keeps the script."""

    replies: list[AIMessage]
    _turn: int = PrivateAttr(default=0)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:
        return self

    def _next(self) -> AIMessage:
        reply = self.replies[self._turn % len(self.replies)]
        self._turn += 1
        return reply

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._next())])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        reply = self._next()
        words = [w for w in re.split(r"(\s)", str(reply.content)) if w]
        for word in words:
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=word, id=reply.id))
            if run_manager is not None:
                run_manager.on_llm_new_token(word, chunk=chunk)
            yield chunk
        calls = [
            {"name": c["name"], "args": _json(c["args"]), "id": c["id"], "index": i}
            for i, c in enumerate(reply.tool_calls)
        ]
        last = AIMessageChunk(
            content="",
            id=reply.id,
            tool_call_chunks=calls,
            usage_metadata=reply.usage_metadata,
            chunk_position="last",
        )
        chunk = ChatGenerationChunk(message=last)
        if run_manager is not None:
            run_manager.on_llm_new_token("", chunk=chunk)
        yield chunk


class NativeEventsChatModel(BaseChatModel):
    """Streams ``text`` word by word natively through the v3 protocol events
    (``_stream_chat_model_events``), with the usage on ``message-finish`` only; it never calls
    ``on_llm_new_token``. ``invoke`` without a v2 handler answers in one piece."""

    text: str
    prompt_tokens: int = 7
    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "native-events"

    def _words(self) -> list[str]:
        return [w for w in re.split(r"(\s)", self.text) if w]

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = AIMessage(
            content=self.text, usage_metadata=usage(self.prompt_tokens, len(self._words()))
        )  # type: ignore[arg-type]
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream_chat_model_events(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> Iterator[dict[str, Any]]:
        self.calls += 1
        yield {"event": "message-start", "role": "ai", "id": f"native-{self.calls}"}
        yield {"event": "content-block-start", "index": 0, "content": {"type": "text", "text": ""}}
        words = self._words()
        for word in words:
            yield {
                "event": "content-block-delta",
                "index": 0,
                "delta": {"type": "text-delta", "text": word},
            }
        yield {
            "event": "content-block-finish",
            "index": 0,
            "content": {"type": "text", "text": self.text},
        }
        yield {"event": "message-finish", "usage": usage(self.prompt_tokens, len(words))}

    async def _astream_chat_model_events(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> AsyncIterator[dict[str, Any]]:
        for event in self._stream_chat_model_events(messages, stop, run_manager, **kwargs):
            yield event


def _json(args: Any) -> str:
    import json

    return json.dumps(args)
