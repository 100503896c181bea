"""A FAKE ClearML server on 127.0.0.1: the API calls and file uploads the ``clearml`` SDK makes.

ClearML's real server needs MongoDB, Elasticsearch, Redis and Docker and cannot run here, so the
mirror's end-to-end tests talk to this stand-in instead. It is deliberately small and keeps
everything in memory, but it follows the real server's rules that a mirror can break:

- every call is ``/v<api>/<service>.<action>`` with a JSON body (the SDK sends ``GET`` with a body)
  and an answer ``{"meta": {...}, "data": {...}}``; an unknown call is a 400 that names it;
- a bearer token from ``auth.login`` (basic auth with the access/secret key) is required;
- task status rules: ``tasks.started`` needs ``created``/``queued`` unless forced, fields of a
  task that is not ``created``/``in_progress`` cannot be edited ("Task status 'completed' cannot
  be updated"), ``tasks.completed``/``stopped``/``failed`` check where the task comes from;
- ``events.add_batch`` takes newline-separated JSON events and validates each against the event
  schemas shipped inside the SDK;
- the file server takes the SDK's multipart ``POST`` uploads and serves the files back.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import jsonschema
import jwt
from clearml.backend_api.services.v2_23 import events as event_schemas

API_VERSION = "2.23"
ACCESS_KEY = "FAKEACCESSKEY"
SECRET_KEY = "fake-secret-key-of-the-fake-clearml-server"
EDITABLE = ("created", "in_progress")
#: Where each status change may come from (``force`` skips the check), as the real server says.
STATUS_FROM = {
    "started": ("created", "queued", "in_progress"),
    "completed": ("in_progress", "stopped"),
    "stopped": ("in_progress",),
    "failed": ("in_progress", "created", "queued", "stopped"),
}
STATUS_TO = {
    "started": "in_progress",
    "completed": "completed",
    "stopped": "stopped",
    "failed": "failed",
}


class CallError(Exception):
    def __init__(self, code: int, subcode: int, msg: str) -> None:
        super().__init__(msg)
        self.code, self.subcode, self.msg = code, subcode, msg


@dataclass
class Call:
    endpoint: str
    body: Any


@dataclass
class FakeState:
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _new_id() -> str:
    return uuid.uuid4().hex


def _event_validator() -> jsonschema.protocols.Validator:
    schema = dict(event_schemas.AddRequest._schema)
    return jsonschema.Draft7Validator(schema)


class FakeClearMLServer:
    """The API server and the file server, each on its own loopback port."""

    def __init__(self) -> None:
        self.state = FakeState()
        #: Set it to refuse every events.add_batch, as a server out of disk space does.
        self.refuse_events = False
        self._validator = _event_validator()
        self._api = _start(self._api_handler_class())
        self._files = _start(self._files_handler_class())

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self._api.server_address[1]}"

    @property
    def files_url(self) -> str:
        return f"http://127.0.0.1:{self._files.server_address[1]}"

    def client_env(self) -> dict[str, str]:
        """Environment variables that point the clearml SDK at this fake."""
        return {
            "CLEARML_API_HOST": self.api_url,
            "CLEARML_WEB_HOST": self.api_url,
            "CLEARML_FILES_HOST": self.files_url,
            "CLEARML_API_ACCESS_KEY": ACCESS_KEY,
            "CLEARML_API_SECRET_KEY": SECRET_KEY,
        }

    def close(self) -> None:
        for server in (self._api, self._files):
            server.shutdown()
            server.server_close()

    # -- what a test asserts on -------------------------------------------------------------
    def endpoints(self) -> list[str]:
        return [call.endpoint for call in self.state.calls]

    def file_at(self, url: str) -> bytes:
        """The bytes uploaded to the file server at ``url`` (as the SDK wrote it in an event)."""
        return self.state.files[unquote(url.removeprefix(self.files_url).strip("/"))]

    def task_events(self, task_id: str, type_: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in self.state.events
            if e.get("task") == task_id and (type_ is None or e.get("type") == type_)
        ]

    # -- the API ----------------------------------------------------------------------------
    def handle(self, endpoint: str, body: Any, auth: str) -> dict[str, Any]:
        with self.state.lock:
            self.state.calls.append(Call(endpoint, body))
            if endpoint == "auth.login":
                return self._login(auth)
            if endpoint == "debug.ping":
                return {"msg": "fake ClearML server"}
            if not auth.startswith("Bearer ") or not _valid_token(auth[7:]):
                raise CallError(401, 20, "Unauthorized (invalid token)")
            method = getattr(self, "_" + endpoint.replace(".", "_"), None)
            if method is None:
                raise CallError(400, 0, f"fake ClearML server: endpoint {endpoint} not implemented")
            result: dict[str, Any] = method(body if isinstance(body, dict) else {}, body)
            return result

    def _login(self, auth: str) -> dict[str, Any]:
        expected = base64.b64encode(f"{ACCESS_KEY}:{SECRET_KEY}".encode()).decode()
        if auth != f"Basic {expected}":
            raise CallError(401, 21, "Unauthorized (invalid credentials)")
        claims = {
            "api_version": API_VERSION,
            "server_version": "2.0.0",
            "env": "fake",
            "feature_set": "basic",
            "identity": {"user": "fake-user", "company": "fake-company", "role": "admin"},
            "exp": int(time.time()) + 3600,
        }
        return {"token": jwt.encode(claims, SECRET_KEY, algorithm="HS256")}

    # projects
    def _projects_get_all(self, body: dict[str, Any], _raw: Any) -> dict[str, Any]:
        names = body.get("name")
        projects = list(self.state.projects.values())
        if names:
            pattern = names if isinstance(names, str) else names[0]
            projects = [p for p in projects if re.search(pattern, p["name"])]
        return {"projects": _with_ids(projects, body.get("id"))}

    def _projects_create(self, body: dict[str, Any], _raw: Any) -> dict[str, Any]:
        project_id = _new_id()
        self.state.projects[project_id] = {"id": project_id, "name": body["name"]}
        return {"id": project_id}

    def _projects_get_by_id(self, body: dict[str, Any], _raw: Any) -> dict[str, Any]:
        project = self.state.projects.get(body.get("project", ""))
        if project is None:
            raise CallError(400, 401, f"Invalid project id: id={body.get('project')}")
        return {"project": project}

    # tasks
    def _task(self, task_id: str) -> dict[str, Any]:
        task = self.state.tasks.get(task_id)
        if task is None:
            raise CallError(400, 101, f"Invalid task id: id={task_id}")
        return task

    def _editable(self, task: dict[str, Any]) -> None:
        if task["status"] not in EDITABLE:
            raise CallError(400, 110, f"Task status '{task['status']}' cannot be updated")

    def _tasks_create(self, body: dict[str, Any], _raw: Any) -> dict[str, Any]:
        task_id = _new_id()
        now = _now()
        self.state.tasks[task_id] = {
            "hyperparams": {},
            "configuration": {},
            "execution": {"artifacts": []},
            "models": {"input": [], "output": []},
            "tags": [],
            "system_tags": [],
            "comment": "",
            "script": {},
            "runtime": {},
            "output": {},
            "last_iteration": 0,
            **body,
            "id": task_id,
            "status": "created",
            "user": "fake-user",
            "company": "fake-company",
            "created": now,
            "last_update": now,
        }
        return {"id": task_id}

    def _tasks_get_by_id(self, body: dict[str, Any], _raw: Any) -> dict[str, Any]:
        return {"task": self._task(body["task"])}

    def _tasks_get_all(self, body: dict[str, Any], _raw: Any) -> dict[str, Any]:
        tasks = _with_ids(list(self.state.tasks.values()), body.get("id"))
        if body.get("name"):
            tasks = [t for t in tasks if re.search(body["name"], t.get("name", ""))]
        return {"tasks": tasks}

    def _tasks_edit(self, body: dict[str, Any], _raw: Any) -> dict[str, Any]:
        task = self._task(body["task"])
        fields = {k: v for k, v in body.items() if k not in ("task", "force")}
        always = {"name", "comment", "tags", "system_tags", "project", "runtime"}
        if not set(fields) <= always:
            if task["status"] != "created" and not body.get("force"):
                raise CallError(400, 110, f"Task status '{task['status']}' cannot be updated")
            self._editable(task)
        task.update(fields)
        return {"updated": 1, "fields": fields}

    def _tasks_edit_hyper_params(self, body: dict[str, Any], _raw: Any) -> dict[str, Any]:
        task = self._task(body["task"])
        self._editable(task)
        if body.get("replace_hyperparams") == "all":
            task["hyperparams"] = {}
        for param in body.get("hyperparams", []):
            section = task["hyperparams"].setdefault(param.get("section", "General"), {})
            section[param["name"]] = param
        return {"updated": 1}

    def _tasks_edit_configuration(self, body: dict[str, Any], _raw: Any) -> dict[str, Any]:
        task = self._task(body["task"])
        self._editable(task)
        if body.get("replace_configuration"):
            task["configuration"] = {}
        for item in body.get("configuration", []):
            task["configuration"][item["name"]] = item
        return {"updated": 1}

    def _tasks_set_requirements(self, body: dict[str, Any], _raw: Any) -> dict[str, Any]:
        task = self._task(body["task"])
        self._editable(task)
        task["script"]["requirements"] = body.get("requirements", {})
        return {"updated": 1}

    def _tasks_add_or_update_artifacts(self, body: dict[str, Any], _raw: Any) -> dict[str, Any]:
        task = self._task(body["task"])
        self._editable(task)
        artifacts = task["execution"].setdefault("artifacts", [])
        for artifact in body.get("artifacts", []):
            artifacts[:] = [a for a in artifacts if a["key"] != artifact["key"]]
            artifacts.append(artifact)
        return {"updated": 1}

    def _tasks_add_or_update_model(self, body: dict[str, Any], _raw: Any) -> dict[str, Any]:
        task = self._task(body["task"])
        self._editable(task)
        models = task["models"].setdefault(body.get("type", "output"), [])
        models[:] = [m for m in models if m["name"] != body["name"]]
        models.append({"name": body["name"], "model": body["model"]})
        return {"updated": 1}

    def _status(self, body: dict[str, Any], change: str) -> dict[str, Any]:
        task = self._task(body["task"])
        if not body.get("force") and task["status"] not in STATUS_FROM[change]:
            raise CallError(
                400, 110, f"Invalid task status: cannot go from {task['status']} to {change}"
            )
        task["status"] = STATUS_TO[change]
        task["status_reason"] = body.get("status_reason", "")
        task["status_message"] = body.get("status_message", "")
        task[change] = _now()
        task["last_update"] = task[change]
        return {"updated": 1, "fields": {"status": task["status"]}}

    def _tasks_started(self, body: dict[str, Any], _raw: Any) -> dict[str, Any]:
        return self._status(body, "started")

    def _tasks_completed(self, body: dict[str, Any], _raw: Any) -> dict[str, Any]:
        return self._status(body, "completed")

    def _tasks_stopped(self, body: dict[str, Any], _raw: Any) -> dict[str, Any]:
        return self._status(body, "stopped")

    def _tasks_failed(self, body: dict[str, Any], _raw: Any) -> dict[str, Any]:
        return self._status(body, "failed")

    def _tasks_ping(self, body: dict[str, Any], _raw: Any) -> dict[str, Any]:
        self._task(body["task"])
        return {}

    # models
    def _models_create(self, body: dict[str, Any], _raw: Any) -> dict[str, Any]:
        model_id = _new_id()
        self.state.models[model_id] = {**body, "id": model_id, "ready": False}
        return {"id": model_id, "created": True}

    def _model(self, model_id: str) -> dict[str, Any]:
        model = self.state.models.get(model_id)
        if model is None:
            raise CallError(400, 201, f"Invalid model id: id={model_id}")
        return model

    def _models_edit(self, body: dict[str, Any], _raw: Any) -> dict[str, Any]:
        model = self._model(body["model"])
        if model.get("task") and body.get("task", model["task"]) in self.state.tasks:
            self._editable(self._task(body.get("task", model["task"])))
        model.update({k: v for k, v in body.items() if k != "model"})
        return {"updated": 1}

    def _models_update_for_task(self, body: dict[str, Any], _raw: Any) -> dict[str, Any]:
        task = self._task(body["task"])
        self._editable(task)
        model_id = body.get("override_model_id") or _new_id()
        model = self.state.models.setdefault(model_id, {"id": model_id})
        model.update({k: v for k, v in body.items() if k != "override_model_id"})
        return {"id": model_id, "created": True, "updated": 1}

    def _models_get_by_id(self, body: dict[str, Any], _raw: Any) -> dict[str, Any]:
        return {"model": self._model(body["model"])}

    def _models_get_all(self, body: dict[str, Any], _raw: Any) -> dict[str, Any]:
        return {"models": _with_ids(list(self.state.models.values()), body.get("id"))}

    def _models_set_ready(self, body: dict[str, Any], _raw: Any) -> dict[str, Any]:
        self._model(body["model"])["ready"] = True
        return {"updated": 1}

    # events
    def _events_add_batch(self, _body: dict[str, Any], raw: Any) -> dict[str, Any]:
        if self.refuse_events:
            raise CallError(400, 0, "fake ClearML server: events refused (refuse_events)")
        events = raw if isinstance(raw, list) else [raw]
        for event in events:
            errors = sorted(self._validator.iter_errors(event), key=str)
            if errors:
                raise CallError(400, 0, f"invalid event {event}: {errors[0].message}")
            self._task(event["task"])
        self.state.events.extend(events)
        return {"added": len(events), "errors": 0}

    # -- HTTP plumbing ----------------------------------------------------------------------
    def _api_handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(_Quiet):
            def _any(self) -> None:
                endpoint = self.path.strip("/").split("/")[-1].split("?")[0]
                body = _parse_body(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                meta = {
                    "id": _new_id(),
                    "trx": _new_id(),
                    "endpoint": {
                        "name": endpoint,
                        "requested_version": API_VERSION,
                        "actual_version": API_VERSION,
                    },
                    "result_code": 200,
                    "result_subcode": 0,
                    "result_msg": "OK",
                    "error_stack": None,
                }
                try:
                    data = fake.handle(endpoint, body, self.headers.get("Authorization", ""))
                    status = 200
                except CallError as error:
                    data, status = {}, error.code
                    meta.update(
                        result_code=error.code, result_subcode=error.subcode, result_msg=error.msg
                    )
                payload = json.dumps({"meta": meta, "data": data}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _any

        return Handler

    def _files_handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(_Quiet):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                base = self.path.strip("/")
                with fake.state.lock:
                    for name, data in _multipart(raw, self.headers["Content-Type"]):
                        key = "/".join(p.strip("/") for p in (base, name) if p)
                        fake.state.files[key] = data
                        fake.state.calls.append(Call("files.upload", key))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                data = fake.state.files.get(unquote(self.path.strip("/").split("?")[0]))
                self.send_response(200 if data is not None else 404)
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()
                self.wfile.write(data or b"")

        return Handler


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _multipart(raw: bytes, content_type: str) -> list[tuple[str, bytes]]:
    """(field name, bytes) of a multipart/form-data body; names are UTF-8, as the SDK sends them
    (the email parser would replace their non-ASCII bytes)."""
    boundary = re.search(r'boundary="?([^";]+)"?', content_type)
    if boundary is None:
        return []
    fields = []
    for part in raw.split(b"--" + boundary.group(1).encode())[1:-1]:
        part = part.removeprefix(b"\r\n").removesuffix(b"\r\n")  # the delimiters' own CRLFs
        head, _, body = part.partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]*)"', head)
        if name is not None:
            fields.append((name.group(1).decode("utf-8"), body))
    return fields


def _with_ids(items: list[dict[str, Any]], ids: Any) -> list[dict[str, Any]]:
    """The items whose id is in ``ids`` (one id or a list); all of them when ``ids`` is empty."""
    if not ids:
        return items
    wanted = set(ids if isinstance(ids, list) else [ids])
    return [item for item in items if item["id"] in wanted]


def _parse_body(raw: bytes) -> Any:
    text = raw.decode() if raw else ""
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        # events.add_batch: one JSON event a line
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def _valid_token(token: str) -> bool:
    try:
        jwt.decode(token, SECRET_KEY, algorithms=["HS256"])
    except jwt.PyJWTError:
        return False
    return True


def _start(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
