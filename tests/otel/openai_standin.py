"""A stand-in for OpenAI's API, for the tests only: the real ``openai`` client cannot reach
OpenAI from here, so this small server on 127.0.0.1 answers ``POST /v1/chat/completions`` the
way OpenAI does (a completion, a stream of chunks, tool calls, an error), with fixed texts and
token counts the tests check against.

- a message containing ``weather`` gets a tool call ``get_weather({"city": "Paris"})``;
- a message containing ``fail`` gets OpenAI's 400 error (``invalid_request_error``);
- otherwise the answer is ``Echo: <last user message>``; usage 11 prompt / 7 completion tokens.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PROMPT_TOKENS = 11
COMPLETION_TOKENS = 7
MODEL = "gpt-4o-mini-2024-07-18"


def _usage() -> dict[str, int]:
    return {
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": COMPLETION_TOKENS,
        "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
    }


def _last_user(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
            return
        text = _last_user(request.get("messages", []))
        if "fail" in text:
            self._json(400, {"error": {"message": "The stand-in refuses this prompt.",
                                       "type": "invalid_request_error", "param": None,
                                       "code": "stand_in_refusal"}})  # fmt: skip
            return
        if "weather" in text and request.get("tools"):
            message: dict[str, Any] = {
                "role": "assistant",
                "content": None,
                "tool_calls": [{
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }],
            }  # fmt: skip
            finish = "tool_calls"
        else:
            message = {"role": "assistant", "content": f"Echo: {text}"}
            finish = "stop"
        base = {"id": "chatcmpl-standin", "created": 1_700_000_000, "model": MODEL,
                "system_fingerprint": "fp_standin"}  # fmt: skip
        if not request.get("stream"):
            self._json(200, {**base, "object": "chat.completion", "usage": _usage(),
                             "choices": [{"index": 0, "message": message,
                                          "finish_reason": finish, "logprobs": None}]})  # fmt: skip
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        chunks: list[dict[str, Any]] = []
        if message.get("content"):
            words = message["content"].split(" ")
            chunks.append({"role": "assistant", "content": ""})
            chunks += [{"content": w if i == 0 else " " + w} for i, w in enumerate(words)]
        else:
            chunks.append({"role": "assistant", "content": None, "tool_calls": [
                {"index": 0, **message["tool_calls"][0]}]})  # fmt: skip
        for i, delta in enumerate(chunks):
            last = i == len(chunks) - 1
            body = {**base, "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                 "finish_reason": None}]}  # fmt: skip
            self.wfile.write(f"data: {json.dumps(body)}\n\n".encode())
            if last:
                end = {**base, "object": "chat.completion.chunk",
                       "choices": [{"index": 0, "delta": {}, "logprobs": None,
                                    "finish_reason": finish}]}  # fmt: skip
                self.wfile.write(f"data: {json.dumps(end)}\n\n".encode())
                if (request.get("stream_options") or {}).get("include_usage"):
                    usage = {**base, "object": "chat.completion.chunk", "choices": [],
                             "usage": _usage()}  # fmt: skip
                    self.wfile.write(f"data: {json.dumps(usage)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


class OpenAIStandIn:
    """The stand-in server on a free port of 127.0.0.1 (``base_url`` for ``openai.OpenAI``)."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="openai-stand-in", daemon=True
        )
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)
