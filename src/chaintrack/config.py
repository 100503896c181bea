"""Every environment variable chaintrack reads, documented in one place.

Settings are read when they are needed (not at import time), so a test or an application can
change ``os.environ`` before it opens a task. ``docs/configuration.md`` is generated from
:data:`SETTINGS`; a test fails when the two disagree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from chaintrack.errors import ConfigurationError


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, its default (as text) and what it does."""

    name: str
    default: str
    doc: str

    def raw(self) -> str:
        value = os.environ.get(self.name, "")
        return value if value.strip() else self.default


HOME = Setting(
    "CHAINTRACK_HOME",
    "~/.chaintrack",
    "Folder of the embedded store: the SQLite database `chaintrack.db` and the `files/` folder "
    "for artifacts, models and media.",
)
TRACKING_URI = Setting(
    "CHAINTRACK_TRACKING_URI",
    "",
    "Where tasks are stored. Empty means the embedded store under CHAINTRACK_HOME. "
    "`sqlite:///path/to/file.db` picks another SQLite file (its files go in a `files/` folder "
    "beside it); `http://host:port` logs to a tracking server (`chaintrack server`), batched "
    "and compressed, with events kept in the spool folder while the server is unreachable.",
)
QUEUE_SIZE = Setting(
    "CHAINTRACK_QUEUE_SIZE",
    "100000",
    "How many events the background writer holds in memory. Past it, events spill to a file "
    "in the spool folder instead of blocking the application; nothing is dropped.",
)
SPOOL_DIR = Setting(
    "CHAINTRACK_SPOOL_DIR",
    "",
    "Folder for events that overflow the in-memory queue. Empty means `spool/` under "
    "CHAINTRACK_HOME.",
)
DRAIN_TIMEOUT = Setting(
    "CHAINTRACK_DRAIN_TIMEOUT",
    "30",
    "Seconds the process waits at exit (normal exit, uncaught exception or SIGTERM) for queued "
    "events to reach the store. Events not written by then stay in the spool file and are "
    "written by the next chaintrack process that opens the same store.",
)
WRITE_INTERVAL = Setting(
    "CHAINTRACK_WRITE_INTERVAL",
    "0.05",
    "Seconds the background writer gathers reports before it writes them in one transaction "
    "(it writes at once when a flush waits or 10,000 items are queued). Longer saves CPU on "
    "busy applications; it is also about how much a process killed with SIGKILL can lose: "
    "the reports of its last interval (see docs/store.md).",
)
STRICT = Setting(
    "CHAINTRACK_STRICT",
    "0",
    "`1` makes internal errors in callbacks raise instead of being logged once. For tests; "
    "never set it in production.",
)
AUTO_CONNECT_STREAMS = Setting(
    "CHAINTRACK_AUTO_CONNECT_STREAMS",
    "",
    "`0` or `1` overrides the `auto_connect_streams` argument of `Task.init` (console capture).",
)

AUTH_TOKEN = Setting(
    "CHAINTRACK_AUTH_TOKEN",
    "",
    "A secret shared by the server and its clients. `chaintrack ui` and `chaintrack server` "
    "then require it (the default of their `--auth-token`): API clients send it as "
    "`Authorization: Bearer <token>`, people type it once on the UI's sign-in page. The SDK "
    "sends it to an `http(s)://` tracking URI.",
)
ARTIFACTS_URI = Setting(
    "CHAINTRACK_ARTIFACTS_URI",
    "",
    "Where a store opened directly (the embedded store, `sqlite:///…`, `postgresql://…`) keeps "
    "artifacts, models and debug samples: a folder (a path or `file://` URI) or "
    "`s3://bucket/prefix` (see CHAINTRACK_S3_ENDPOINT_URL). Empty means `files/` beside a "
    "SQLite store, `CHAINTRACK_HOME/files` for PostgreSQL. Not used with an `http(s)://` "
    "tracking URI: files then go to the server, which keeps them where its `--artifacts` says.",
)
SERVER_ARTIFACTS = Setting(
    "CHAINTRACK_SERVER_ARTIFACTS",
    "",
    "Where `chaintrack server` keeps artifacts, models and debug samples (its `--artifacts`): "
    "a folder (a path or `file://` URI) or `s3://bucket/prefix`. Empty means "
    "CHAINTRACK_ARTIFACTS_URI, else `files/` beside a SQLite store, `CHAINTRACK_HOME/files` "
    "for PostgreSQL.",
)
S3_ENDPOINT_URL = Setting(
    "CHAINTRACK_S3_ENDPOINT_URL",
    "",
    "Address of an S3-compatible service (MinIO, Ceph, Cloudflare R2…), e.g. "
    "`http://127.0.0.1:9000`, for `s3://` artifact locations; buckets are then addressed by "
    "path. Empty means AWS S3 (or boto3's own `AWS_ENDPOINT_URL_S3`). Credentials and region "
    "come from boto3's usual sources: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, "
    "`AWS_SESSION_TOKEN`, `AWS_PROFILE`, `AWS_DEFAULT_REGION`, `~/.aws/`, an instance role.",
)
SERVER_MAX_REQUEST_MB = Setting(
    "CHAINTRACK_SERVER_MAX_REQUEST_MB",
    "64",
    "Largest request body the server accepts, in MiB, after decompression (file uploads "
    "excepted); larger requests get 413.",
)
SERVER_MAX_UPLOAD_MB = Setting(
    "CHAINTRACK_SERVER_MAX_UPLOAD_MB",
    "2048",
    "Largest file (artifact, model, debug sample) the server accepts, in MiB; larger uploads "
    "get 413.",
)
SERVER_INGEST_QUEUE = Setting(
    "CHAINTRACK_SERVER_INGEST_QUEUE",
    "200000",
    "How many reported items (events, parameters, task changes…) the server holds waiting "
    "for its database writer. Past it, writes get 503 with `Retry-After` and clients retry.",
)
HTTP_TIMEOUT = Setting(
    "CHAINTRACK_HTTP_TIMEOUT",
    "30",
    "Seconds an HTTP request to a tracking server may take before the client retries it.",
)
MIRROR = Setting(
    "CHAINTRACK_MIRROR",
    "",
    "`clearml` pushes every task to ClearML in the background when it ends (a detached "
    "`chaintrack clearml push`, logged to `logs/clearml-mirror.log` under CHAINTRACK_HOME). "
    "ClearML's own configuration picks the server (`clearml.conf`, `CLEARML_API_HOST`, …) or "
    "offline mode (`CLEARML_OFFLINE_MODE=1`). Empty: no mirror.",
)
UI_URL = Setting(
    "CHAINTRACK_UI_URL",
    "http://127.0.0.1:8600",
    "The address of the web UI that `task.get_output_log_web_page()` builds task links on when "
    "tasks are stored locally (the default is where `chaintrack ui` serves). With an "
    "`http(s)://` CHAINTRACK_TRACKING_URI the links use the tracking server's address instead.",
)
PRICES = Setting(
    "CHAINTRACK_PRICES",
    "",
    "A JSON file of model prices that win over the bundled genai-prices table, in USD per "
    'million tokens: `{"models": {"my-model": {"input_mtok": 0.5, "output_mtok": 1.5}}}` '
    "(also `cache_read_mtok`, `cache_write_mtok`, `input_audio_mtok`, `output_audio_mtok`). "
    "Read by whatever writes the store (the SDK for a database, the server for `http(s)://`). "
    "Empty: the bundled table only; prices are never fetched from the network.",
)

HEARTBEAT_SECONDS = Setting(
    "CHAINTRACK_HEARTBEAT_SECONDS",
    "30",
    "Every this many seconds a running task tells its store it is alive (its `last_update`), "
    "so that a tracking server can tell a running task from one whose process is gone.",
)
HEARTBEAT_TIMEOUT = Setting(
    "CHAINTRACK_HEARTBEAT_TIMEOUT",
    "600",
    "Seconds without news from a running task after which a tracking server marks it "
    '`stopped` ("the process ended without closing the task"). Keep it well above '
    "CHAINTRACK_HEARTBEAT_SECONDS; `0` turns the check off.",
)
INDEX_INTERVAL = Setting(
    "CHAINTRACK_INDEX_INTERVAL",
    "1",
    "Seconds between two catch-ups of the full-text index and the dashboards' totals by a "
    "tracking server (`chaintrack server`, `chaintrack ui`), once an interval passed without "
    "writes; stored spans wait in a queue table until then (a text search or a dashboard "
    "indexes what waits before it reads). `0` turns the thread off.",
)
SESSION_HOURS = Setting(
    "CHAINTRACK_SESSION_HOURS",
    "12",
    "Hours a web UI sign-in lasts before the sign-in page asks for the token again. Signing out "
    "ends the session at once; changing the auth token ends every session.",
)
QUICK_CHECK_MB = Setting(
    "CHAINTRACK_QUICK_CHECK_MB",
    "32",
    "An embedded store (SQLite) up to this size is checked for damage (`PRAGMA quick_check`, "
    "about 1.2 ms per MB) each time a process opens it; larger ones are checked only when a "
    "read or a write finds damage. `0` turns the check at open off.",
)
OTLP_GRPC_PORT = Setting(
    "CHAINTRACK_OTLP_GRPC_PORT",
    "",
    "Port on which `chaintrack server` also serves OTLP/gRPC traces (what "
    "`--otlp-grpc-port` sets; needs the `[otel]` extra). Empty: OTLP over HTTP only "
    "(`POST /v1/traces`).",
)
OTLP_GRPC_HOST = Setting(
    "CHAINTRACK_OTLP_GRPC_HOST",
    "127.0.0.1",
    "Address the OTLP/gRPC port listens on (`chaintrack server` sets it from `--host`).",
)

SETTINGS: tuple[Setting, ...] = (
    HOME,
    TRACKING_URI,
    QUEUE_SIZE,
    SPOOL_DIR,
    DRAIN_TIMEOUT,
    WRITE_INTERVAL,
    STRICT,
    AUTO_CONNECT_STREAMS,
    AUTH_TOKEN,
    ARTIFACTS_URI,
    SERVER_ARTIFACTS,
    S3_ENDPOINT_URL,
    SERVER_MAX_REQUEST_MB,
    SERVER_MAX_UPLOAD_MB,
    SERVER_INGEST_QUEUE,
    HTTP_TIMEOUT,
    MIRROR,
    UI_URL,
    PRICES,
    HEARTBEAT_SECONDS,
    HEARTBEAT_TIMEOUT,
    INDEX_INTERVAL,
    SESSION_HOURS,
    QUICK_CHECK_MB,
    OTLP_GRPC_PORT,
    OTLP_GRPC_HOST,
)


def _as_int(setting: Setting, minimum: int) -> int:
    raw = setting.raw()
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(
            f"{setting.name}={raw!r} is not a whole number; set it to an integer >= {minimum} "
            f"or unset it to use the default {setting.default}."
        ) from None
    if value < minimum:
        raise ConfigurationError(f"{setting.name}={value} is too small; it must be >= {minimum}.")
    return value


def _as_float(setting: Setting) -> float:
    raw = setting.raw()
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(
            f"{setting.name}={raw!r} is not a number of seconds; unset it to use the default "
            f"{setting.default}."
        ) from None
    return max(0.0, value)


def _as_bool(setting: Setting) -> bool | None:
    raw = setting.raw().strip().lower()
    if raw in ("", "none"):
        return None
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{setting.name}={raw!r} is not a boolean; use 1 or 0.")


def home() -> Path:
    return Path(HOME.raw()).expanduser()


def tracking_uri() -> str:
    uri = TRACKING_URI.raw().strip()
    if uri:
        return uri
    return f"sqlite:///{home() / 'chaintrack.db'}"


def queue_size() -> int:
    return _as_int(QUEUE_SIZE, 1)


def spool_dir() -> Path:
    raw = SPOOL_DIR.raw().strip()
    return Path(raw).expanduser() if raw else home() / "spool"


def drain_timeout() -> float:
    return _as_float(DRAIN_TIMEOUT)


def write_interval() -> float:
    return min(5.0, max(0.0, _as_float(WRITE_INTERVAL)))


def strict() -> bool:
    return _as_bool(STRICT) is True


def auto_connect_streams(default: bool) -> bool:
    override = _as_bool(AUTO_CONNECT_STREAMS)
    return default if override is None else override


def auth_token() -> str | None:
    token = AUTH_TOKEN.raw().strip()
    return token or None


def artifacts_uri() -> str | None:
    return ARTIFACTS_URI.raw().strip() or None


def server_artifacts() -> str | None:
    return SERVER_ARTIFACTS.raw().strip() or artifacts_uri()


def s3_endpoint_url() -> str | None:
    return S3_ENDPOINT_URL.raw().strip() or None


def server_max_request_bytes() -> int:
    return _as_int(SERVER_MAX_REQUEST_MB, 1) * 1024 * 1024


def server_max_upload_bytes() -> int:
    return _as_int(SERVER_MAX_UPLOAD_MB, 1) * 1024 * 1024


def server_ingest_queue() -> int:
    return _as_int(SERVER_INGEST_QUEUE, 1)


def http_timeout() -> float:
    return max(0.1, _as_float(HTTP_TIMEOUT))


def otlp_grpc_port() -> int | None:
    """The OTLP/gRPC port of the server, or None when it serves OTLP over HTTP only."""
    if not OTLP_GRPC_PORT.raw().strip():
        return None
    return _as_int(OTLP_GRPC_PORT, 1)


def otlp_grpc_host() -> str:
    return OTLP_GRPC_HOST.raw().strip() or "127.0.0.1"


def mirror() -> str | None:
    """Where tasks are mirrored when they end: ``"clearml"`` or None."""
    raw = MIRROR.raw().strip().lower()
    if raw in ("", "none", "off", "0"):
        return None
    if raw == "clearml":
        return raw
    raise ConfigurationError(
        f"{MIRROR.name}={MIRROR.raw()!r} is not a mirror chaintrack knows; set it to `clearml` "
        "or unset it."
    )


def ui_url() -> str:
    value = UI_URL.raw().strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"{UI_URL.name}={value!r} is not a web address; set it to the http(s):// address "
            "the chaintrack UI is reachable at (for example http://127.0.0.1:8600), or unset it."
        )
    return value


def prices_file() -> Path | None:
    """The price override file (``CHAINTRACK_PRICES``), or None."""
    raw = PRICES.raw().strip()
    return Path(raw).expanduser() if raw else None


def heartbeat_seconds() -> float:
    return max(0.05, _as_float(HEARTBEAT_SECONDS))


def heartbeat_timeout() -> float:
    """Seconds of silence after which a server marks a running task stopped (0: never)."""
    return _as_float(HEARTBEAT_TIMEOUT)


def index_interval() -> float:
    """Seconds between the server's catch-ups of the full-text index (0: none)."""
    return max(0.0, _as_float(INDEX_INTERVAL))


def session_seconds() -> float:
    return max(1.0, _as_float(SESSION_HOURS) * 3600)


def quick_check_bytes() -> int:
    return _as_int(QUICK_CHECK_MB, 0) * 1024 * 1024


def render_markdown() -> str:
    """The text of ``docs/configuration.md``."""
    lines = [
        "# Configuration",
        "",
        "Every environment variable chaintrack reads. Empty or unset means the default.",
        "This page is generated from `src/chaintrack/config.py`; regenerate it with",
        "`python -c 'from chaintrack.config import render_markdown as r; print(r(), end=\"\")' "
        "> docs/configuration.md`.",
        "",
        "| variable | default | what it does |",
        "|---|---|---|",
    ]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default else "(empty)"
        lines.append(f"| `{s.name}` | {default} | {s.doc} |")
    return "\n".join(lines) + "\n"
