"""The server's gate, in front of every route: host check, sign-in, body limits, headers.

- **Host check.** Without a token, a request that reaches the server on a loopback address must
  name a loopback host (``localhost``, ``127.0.0.1``, ``[::1]``): a web page elsewhere cannot read
  the local UI through DNS rebinding. (Behind a reverse proxy, use a token.)
- **Token.** With an auth token, API requests need ``Authorization: Bearer <token>``; the UI's
  pages (GET only) also accept the session cookie set by the sign-in page. Writes never accept
  the cookie, so another site cannot make a signed-in browser write (no CSRF), except the UI's
  feedback forms (``/tasks/{id}/feedback``), which also need their CSRF token (``forms.py``). A
  session lasts CHAINTRACK_SESSION_HOURS, ends when signed out, and every session ends when the
  token changes.
- **Body limits.** A body larger than the limit gets 413 with the limit and the setting that
  raises it, before it is read (Content-Length) or as soon as it passes the limit (chunked).
- **Headers.** Every response, errors and 500s included, says ``nosniff`` and ``no-referrer``
  and carries ``Server-Timing: app;dur=<ms>`` (the server's time until the response
  started); pages get a Content-Security-Policy that allows this server's own scripts only
  (no inline script, no CDN). Debug samples and downloads set a stricter policy of their own
  (see ``api.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import quote

from chaintrack import config

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("chaintrack.server")
SESSION_COOKIE = "chaintrack_session"
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; frame-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
#: What a debug sample or a downloaded file may do when the browser shows it: nothing active.
SAMPLE_CSP = (
    "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self' data:; "
    "style-src 'unsafe-inline'; font-src data:; frame-ancestors 'self'"
)
#: What answers without the token: the sign-in page, the stylesheet and scripts, the health and
#: readiness checks.
_PUBLIC = frozenset({"/login", "/api/v1/health", "/api/v1/ready"})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_UPLOAD_PREFIX = "/api/v1/blobs/"


def _sign(token: str, body: str) -> str:
    return hmac.new(
        token.encode(), b"chaintrack-ui-session:" + body.encode(), hashlib.sha256
    ).hexdigest()


def session_value(token: str, lifetime: float | None = None) -> str:
    """A new session cookie's value: ``<expiry>.<id>.<signature>``, signed with the token
    (never the token itself). It ends at its expiry (CHAINTRACK_SESSION_HOURS), when it is
    signed out (:func:`revoke_session`) and when the token changes (the signature no longer
    matches)."""
    seconds = config.session_seconds() if lifetime is None else lifetime
    body = f"{int(time.time() + seconds)}.{secrets.token_hex(16)}"
    return f"{body}.{_sign(token, body)}"


#: Signed-out sessions of this process (id: expiry), forgotten once expired.
_revoked: dict[str, float] = {}


def session_valid(token: str, value: str) -> bool:
    expiry, _, rest = value.partition(".")
    session_id, _, signature = rest.partition(".")
    if not (expiry.isdigit() and session_id and signature):
        return False
    if not hmac.compare_digest(signature, _sign(token, f"{expiry}.{session_id}")):
        return False
    return int(expiry) > time.time() and session_id not in _revoked


def revoke_session(value: str) -> None:
    """Sign the session out: its cookie is refused from now on, even if a copy was kept."""
    expiry, _, rest = value.partition(".")
    session_id = rest.partition(".")[0]
    if not (expiry.isdigit() and session_id):
        return
    now = time.time()
    for old in [k for k, until in _revoked.items() if until < now]:
        del _revoked[old]
    _revoked[session_id] = float(expiry)


def _mib(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MiB"


class RequestTooLargeError(Exception):
    def __init__(self, limit: int, setting: str) -> None:
        super().__init__(
            f"the request body is larger than the server accepts ({_mib(limit)}); raise "
            f"{setting} on the server to accept it"
        )


def _is_form(method: str, path: str) -> bool:
    """A UI form that writes with the session cookie (its route checks the CSRF token)."""
    parts = path.split("/")
    return method == "POST" and len(parts) == 4 and parts[1] == "tasks" and parts[3] == "feedback"


def _host_name(host: str) -> str:
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Gate:
    """Pure ASGI middleware (see the module docstring)."""

    def __init__(
        self, app: ASGIApp, token: str | None, max_request_bytes: int, max_upload_bytes: int
    ) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.session = token
        self.max_request = max_request_bytes
        self.max_upload = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started_at = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v for k, v in scope["headers"]}
        path: str = scope["path"]
        send = self._with_headers(send, path, started_at)
        server = scope.get("server") or ("", 0)
        if self.token is None and server[0] in _LOOPBACK:
            host = _host_name(headers.get("host", b"").decode("latin-1"))
            if host not in _LOOPBACK:
                await _reply(
                    send,
                    400,
                    "this server listens on a loopback address and answers "
                    "requests for localhost or 127.0.0.1 only",
                )
                return
        public = path in _PUBLIC or path.startswith("/static/")
        if (
            self.token is not None
            and not public
            and not self._authorized(headers, scope["method"], path)
        ):
            await self._refuse(scope, send, path)
            return
        upload = scope["method"] == "PUT" and path.startswith(_UPLOAD_PREFIX)
        limit = self.max_upload if upload else self.max_request
        setting = (
            "CHAINTRACK_SERVER_MAX_UPLOAD_MB" if upload else "CHAINTRACK_SERVER_MAX_REQUEST_MB"
        )
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _reply(
                send,
                413,
                f"the request body ({int(length)} bytes) is larger than the "
                f"server accepts ({_mib(limit)}); raise {setting} on the server to "
                "accept it",
            )
            return
        started = False
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise RequestTooLargeError(limit, setting)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except RequestTooLargeError as exc:
            if started:
                raise
            await _reply(send, 413, str(exc))
        except Exception:
            # Answered here rather than by Starlette's outer error middleware, so that a 500
            # carries the same headers as every other response.
            if started:
                raise
            log.exception("chaintrack server: %s %s failed", scope["method"], path)
            await _reply(send, 500, "the server hit an internal error; see the server's log")

    def _authorized(self, headers: dict[str, bytes], method: str, path: str) -> bool:
        assert self.token is not None and self.session is not None
        auth = headers.get("authorization", b"")
        if auth[:7].lower() == b"bearer ":
            return hmac.compare_digest(auth[7:].strip(), self.token)
        if method not in ("GET", "HEAD") and not _is_form(method, path):
            return False
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", b"").decode("latin-1"))
        except Exception:
            return False
        morsel = cookie.get(SESSION_COOKIE)
        return morsel is not None and session_valid(self.session, morsel.value)

    async def _refuse(self, scope: Scope, send: Send, path: str) -> None:
        if path.startswith("/api/") or scope["method"] not in ("GET", "HEAD"):
            await _reply(
                send,
                401,
                "this server needs its auth token: send the header "
                "'Authorization: Bearer <token>' (the SDK sends CHAINTRACK_AUTH_TOKEN)",
                {"www-authenticate": "Bearer"},
            )
            return
        target = path + (
            "?" + scope["query_string"].decode("latin-1") if scope.get("query_string") else ""
        )
        location = "/login?next=" + quote(target, safe="")
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [(b"location", location.encode()), (b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    def _with_headers(self, send: Send, path: str, started_at: float) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                    (b"cross-origin-resource-policy", b"same-origin"),
                ]
                if b"content-security-policy" not in names:
                    extra += [
                        (b"content-security-policy", PAGE_CSP.encode()),
                        (b"x-frame-options", b"DENY"),
                    ]
                if b"cache-control" not in names and not path.startswith("/static/"):
                    extra.append((b"cache-control", b"no-store"))
                elapsed = (time.perf_counter() - started_at) * 1000
                extra.append((b"server-timing", f"app;dur={elapsed:.2f}".encode()))
                headers += [(k, v) for k, v in extra if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        return wrapped


async def _reply(
    send: Send, status: int, detail: str, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
