"""What the web UI's forms that write need: a cross-site request check, and money shown.

A form that writes (feedback) carries a CSRF token: a random value also set as the
``chaintrack_csrf`` cookie (``SameSite=Strict``, ``HttpOnly``) when the page with the form is
served. A POST is accepted only when the form's token equals the cookie's (a page on another
site can neither read nor set the cookie, and a strict cookie is not even sent with its
requests), and when the browser's ``Origin``/``Sec-Fetch-Site`` headers, if sent, name this
server. With an auth token, the gate (``security.py``) lets these form paths through on the
session cookie; every other write still needs the bearer token.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response

CSRF_COOKIE = "chaintrack_csrf"


def csrf_token(request: Request) -> str:
    """The CSRF token of this browser: its cookie's, or a new one (set by ``set_csrf``)."""
    token = request.cookies.get(CSRF_COOKIE, "")
    if len(token) == 43 and token.replace("-", "").replace("_", "").isalnum():
        return token
    new = getattr(request.state, "new_csrf", None)
    if new is None:
        new = request.state.new_csrf = secrets.token_urlsafe(32)
    return str(new)


def set_csrf(request: Request, response: Response) -> Response:
    """Set the cookie of a token made while rendering ``response``."""
    new = getattr(request.state, "new_csrf", None)
    if new is not None:
        response.set_cookie(CSRF_COOKIE, new, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")  # fmt: skip
    return response


def cross_site_problem(request: Request, given: str) -> str | None:
    """Why this form POST is refused as a cross-site request, or None when it is not one."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return f"the form was sent from another site (Sec-Fetch-Site: {site})"
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        host = request.headers.get("host", "")
        if urlsplit(origin).netloc != host:
            return "the form was sent from another origin than this server"
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not given or not hmac.compare_digest(cookie.encode(), given.encode()):
        return "the form's security token is missing or stale; reload the page and send it again"
    return None


def usd(value: Any) -> str:
    """A cost for people: ``$0.000435``; None is "unknown" (no price), never $0."""
    if value is None:
        return "unknown"
    amount = float(value)
    if 0 < amount < 0.000001:
        return "<$0.000001"
    if amount >= 1:
        return f"${amount:,.2f}"
    return "$" + (f"{amount:.6f}".rstrip("0").rstrip(".") or "0")
