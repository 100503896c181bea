"""The server's defences: the auth token and sign-in, body limits (413), security headers and
Content-Security-Policy, the loopback host check, escaping, and paths that stay in the store."""

from __future__ import annotations

import gzip
import html
import json
from collections.abc import AsyncIterator, Iterator

import pytest
from server_helpers import Api, span, write_task

from chaintrack import Task
from chaintrack.server.app import create_app
from chaintrack.server.security import SESSION_COOKIE
from chaintrack.store.base import Store

TOKEN = "correct horse battery staple"
XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture
def locked(store: Store) -> Iterator[Api]:
    client = Api(create_app(store, auth_token=TOKEN))
    yield client
    client.close()


def test_the_api_needs_the_token(locked: Api) -> None:
    refused = locked.get("/api/v1/tasks")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer <token>" in refused.json()["detail"]
    wrong = locked.get("/api/v1/tasks", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    ok = locked.get("/api/v1/tasks", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    # What a load balancer or a client probing the server needs, and nothing else.
    assert locked.get("/api/v1/health").json()["status"] == "ok"
    ready = locked.get("/api/v1/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ok"
    assert "tasks" not in ready.text  # says nothing about what the store holds
    assert locked.get("/static/app.css").status_code == 200
    assert locked.post("/api/v1/batches", content=b"{}").status_code == 401


def test_pages_send_people_to_sign_in_and_back(locked: Api) -> None:
    page = locked.get("/tasks?q=x")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Ftasks%3Fq%3Dx"
    form = locked.get(page.headers["location"])
    assert form.status_code == 200
    assert 'name="next" value="/tasks?q=x"' in form.text
    failed = locked.post(
        "/login",
        content="token=wrong&next=/tasks",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert failed.status_code == 401
    assert "That token is not the server" in failed.text
    assert SESSION_COOKIE not in failed.headers.get("set-cookie", "")
    signed = locked.post(
        "/login",
        content=f"token={TOKEN.replace(' ', '+')}&next=/tasks?q=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert signed.status_code == 303
    assert signed.headers["location"] == "/tasks?q=x"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert TOKEN not in cookie  # the cookie is derived from the token, not the token
    assert locked.get("/tasks").status_code == 200
    assert locked.get("/api/v1/projects").status_code == 200  # the pages' downloads work too
    # A signed-in browser still cannot be made to write: writes need the header.
    assert locked.post("/api/v1/batches", content=b"{}").status_code == 401
    locked.get("/logout")
    assert locked.get("/tasks").status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "/\\evil.example"])
def test_sign_in_never_redirects_off_the_server(locked: Api, target: str) -> None:
    signed = locked.post(
        "/login",
        content=f"token={TOKEN}&next={target}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert signed.headers["location"] == "/"


def test_an_oversized_request_gets_a_clear_413(store: Store) -> None:
    api = Api(create_app(store, max_request_bytes=1024, max_upload_bytes=2048))
    try:
        big = api.post("/api/v1/batches", content=b"x" * 2000)
        assert big.status_code == 413
        assert "larger than the server accepts (0.000976562 MiB)" in big.json()["detail"]
        assert "CHAINTRACK_SERVER_MAX_REQUEST_MB" in big.json()["detail"]

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
            for _ in range(3):
                yield b"x" * 600

        streamed = api.post("/api/v1/batches", content=chunks())
        assert streamed.status_code == 413
        bomb = gzip.compress(json.dumps({"events": [], "pad": "x" * 100_000}).encode())
        assert len(bomb) < 1024
        inflated = api.post("/api/v1/batches", content=bomb, headers={"Content-Encoding": "gzip"})
        assert inflated.status_code == 413
        upload = api.put("/api/v1/blobs/t/file.bin", content=b"x" * 3000)
        assert upload.status_code == 413
        assert "CHAINTRACK_SERVER_MAX_UPLOAD_MB" in upload.json()["detail"]
        assert api.put("/api/v1/blobs/t/file.bin", content=b"x" * 1500).status_code == 200
    finally:
        api.close()


@pytest.mark.parametrize("key", ["..%2F..%2Fescape", "a/%2E%2E/%2E%2E/escape", "%2Fetc%2Fx"])
def test_uploads_cannot_leave_the_store(api: Api, key: str) -> None:
    response = api.put(f"/api/v1/blobs/{key}", content=b"x")
    assert response.status_code == 400
    assert "is not a relative path inside the store" in response.json()["detail"]


def test_pages_carry_a_strict_content_security_policy(api: Api) -> None:
    page = api.get("/")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["server-timing"].startswith("app;dur=")
    assert "cdn" not in page.text.lower()
    assert '<script src="/static/app.js">' in page.text


def test_a_loopback_server_answers_only_loopback_host_names(store: Store) -> None:
    api = Api(create_app(store))
    api.client.base_url = "http://127.0.0.1:8600"  # the address the server listens on
    try:
        assert api.get("/").status_code == 200
        assert api.get("/", headers={"Host": "localhost:8600"}).status_code == 200
        rebound = api.get("/", headers={"Host": "attacker.example"})
        assert rebound.status_code == 400
        assert "answers requests for localhost or 127.0.0.1 only" in rebound.json()["detail"]
    finally:
        api.close()


def test_every_page_escapes_untrusted_text(api: Api, store: Store) -> None:
    task = Task.init(project_name="p " + XSS, task_name="n " + XSS, tags=[XSS])
    task.connect({"v": XSS})
    task.connect_configuration({"c": XSS}, name=XSS)
    task.set_comment(XSS)
    logger = task.get_logger()
    logger.report_text(XSS, print_console=False)
    logger.report_scalar(XSS, XSS, 1.0, iteration=0)
    logger.report_table(XSS, XSS, table_plot=[[XSS], [XSS]])
    logger.report_media(XSS, XSS, iteration=0, url="javascript:" + XSS)
    task.upload_artifact(XSS, XSS)
    task.close()
    write_task(
        store,
        "s" * 32,
        name=XSS,
        spans=[span("r", None, "llm", 1, 2, input=XSS, output=XSS, error=XSS)],
    )
    pages = ["/", "/tasks", f"/compare?ids={task.id}&ids={'s' * 32}"]
    for tab in (
        "info",
        "execution",
        "configuration",
        "console",
        "scalars",
        "tables",
        "debug",
        "artifacts",
        "trace",
    ):
        pages += [f"/tasks/{task.id}?tab={tab}", f"/tasks/{'s' * 32}?tab={tab}"]
    for path in pages:
        text = api.get(path).text
        assert "<script>alert" not in text, path
        assert "<img src=x" not in text, path
        assert 'href="javascript:' not in text, path
    assert html.escape(XSS, quote=True) in api.get(f"/tasks/{'s' * 32}?tab=trace").text
    # JSON for scripts is escaped for a <script> block (no "</script>" can close it early).
    scalars = api.get(f"/tasks/{task.id}?tab=scalars").text
    assert "\\u003cscript\\u003e" in scalars
