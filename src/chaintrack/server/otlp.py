"""OTLP in: ``POST /v1/traces`` (protobuf or JSON, gzip or not) and, when asked, OTLP/gRPC.

A request is answered once its spans are committed (through the server's write queue, see
``ingest.py``): 200 with OTLP's ``ExportTraceServiceResponse`` (its ``partial_success`` counts
the spans refused, with the reason), 400 for a body that is not an OTLP trace request, 413 for
one larger than ``CHAINTRACK_SERVER_MAX_REQUEST_MB`` (after decompression), 503 with
``Retry-After`` while the queue is full or the database cannot be used (exporters retry those).
The token, when the server has one, is the same ``Authorization: Bearer …`` as the API's.

``chaintrack server --otlp-grpc-port N`` also serves OTLP/gRPC (``TraceService/Export``) on
that port, with the same token in the ``authorization`` metadata.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.exc import OperationalError

from chaintrack import config
from chaintrack.errors import StoreUnavailableError, TaskNotFoundError
from chaintrack.server.ingest import Ingest, QueueFullError
from chaintrack.server.security import RequestTooLargeError

log = logging.getLogger("chaintrack.server")
router = APIRouter()
#: Task ids checked to exist (``chaintrack.task_id``), kept per server process.
_KNOWN_LIMIT = 10_000


class _Unavailable(Exception):
    """The database cannot take the spans now (the client retries)."""


class Receiver:
    """What the OTLP routes share: the store, its write queue, the tasks known to exist."""

    def __init__(self, app: Any) -> None:
        self.store = app.state.store
        self.ingest: Ingest = app.state.ingest
        self.limit: int = app.state.max_request_bytes
        self.token: str | None = app.state.auth_token
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def task_exists(self, task_id: str) -> bool:
        with self._lock:
            if task_id in self._known:
                return True
        try:
            self.store.get_task(task_id)
        except TaskNotFoundError:
            return False
        with self._lock:
            if len(self._known) >= _KNOWN_LIMIT:
                self._known.clear()
            self._known.add(task_id)
        return True

    def convert(self, request: Any) -> Any:
        from chaintrack.otel.batch import convert
        from chaintrack.otel.decode import spans_of

        decoded = spans_of(request)
        converted = convert(decoded.spans, self.task_exists)
        if decoded.rejected:
            converted.refuse(decoded.rejected, decoded.reason)
        return converted

    async def store_spans(self, request: Any) -> tuple[int, str]:
        """Write the spans of an ``ExportTraceServiceRequest``; (refused, why) once committed.
        Raises QueueFullError or _Unavailable when the client should retry."""
        try:
            converted = await run_in_threadpool(self.convert, request)
            if len(converted.batch):
                await self.ingest.submit(converted.batch)
        except (OperationalError, StoreUnavailableError) as exc:
            log.error("chaintrack server: OTLP spans not stored: the database: %s", exc)
            raise _Unavailable(str(exc)) from None
        return converted.rejected, converted.reason


def install(app: Any) -> None:
    """Serve OTLP on ``app`` (called by ``create_app``)."""
    app.state.otlp = Receiver(app)
    app.include_router(router)


def _status_body(code: int, message: str, as_json: bool) -> bytes:
    """A ``google.rpc.Status`` (what OTLP/HTTP answers on failure), in the request's encoding."""
    if as_json:
        import orjson

        return orjson.dumps({"code": code, "message": message})
    text = message.encode()
    out = bytearray(b"\x08")
    out += _varint(code)
    out += b"\x12" + _varint(len(text)) + text
    return bytes(out)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _failure(status: int, grpc_code: int, message: str, as_json: bool, **headers: str) -> Response:
    media = "application/json" if as_json else "application/x-protobuf"
    return Response(_status_body(grpc_code, message, as_json), status_code=status,
                    media_type=media, headers=headers)  # fmt: skip


def _answer(refused: int, reason: str) -> Any:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTracePartialSuccess,
        ExportTraceServiceResponse,
    )

    if not refused:
        return ExportTraceServiceResponse()
    return ExportTraceServiceResponse(
        partial_success=ExportTracePartialSuccess(rejected_spans=refused, error_message=reason)
    )


@router.post("/v1/traces", tags=["otlp"])
async def traces(request: Request) -> Response:
    """OTLP/HTTP traces: an ``ExportTraceServiceRequest`` as protobuf or JSON."""
    from google.protobuf import json_format

    from chaintrack.otel.decode import JSON, MalformedError, TooLargeError, inflate, parse

    receiver: Receiver = request.app.state.otlp
    content_type = request.headers.get("content-type", "")
    as_json = content_type.split(";", 1)[0].strip().lower() == JSON
    body = await request.body()
    try:
        body = inflate(body, request.headers.get("content-encoding", ""), receiver.limit)
        message = await run_in_threadpool(parse, body, content_type)
    except TooLargeError:
        raise RequestTooLargeError(receiver.limit, "CHAINTRACK_SERVER_MAX_REQUEST_MB") from None
    except MalformedError as exc:
        return _failure(400, 3, str(exc), as_json)  # 3: INVALID_ARGUMENT
    try:
        refused, reason = await receiver.store_spans(message)
    except QueueFullError as exc:
        return _failure(503, 14, f"the server is busy ({exc}); retry shortly", as_json,
                        **{"Retry-After": "1"})  # fmt: skip
    except _Unavailable:
        return _failure(503, 14, "the server's database cannot be used for now; retry shortly",
                        as_json, **{"Retry-After": "2"})  # fmt: skip
    answer = _answer(refused, reason)
    if as_json:
        return Response(json_format.MessageToJson(answer, indent=None).encode(),
                        media_type="application/json")  # fmt: skip
    return Response(answer.SerializeToString(), media_type="application/x-protobuf")


# -- OTLP/gRPC -------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def grpc_serving(app: Any) -> AsyncIterator[None]:
    """Serve OTLP/gRPC on ``CHAINTRACK_OTLP_GRPC_PORT`` while the app runs (nothing if unset)."""
    port = config.otlp_grpc_port()
    if not port:
        yield
        return
    from chaintrack.errors import missing_dependency

    try:
        import grpc
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
    except ModuleNotFoundError as exc:  # pragma: no cover - the [otel] extra is missing
        raise missing_dependency(exc.name or "grpcio", "otel", "OTLP/gRPC") from None
    receiver: Receiver = app.state.otlp
    server = grpc.aio.server(options=[
        ("grpc.max_receive_message_length", receiver.limit),
        ("grpc.so_reuseport", 1),  # every worker process of `chaintrack server` takes a share
    ])  # fmt: skip
    add: Any = trace_service_pb2_grpc.add_TraceServiceServicer_to_server
    add(_Servicer(receiver, grpc), server)
    host = config.otlp_grpc_host()
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if not server.add_insecure_port(address):
        raise OSError(f"OTLP/gRPC cannot listen on {address}")
    await server.start()
    try:
        yield
    finally:
        await server.stop(grace=5)


class _Servicer:
    """``opentelemetry.proto.collector.trace.v1.TraceService`` over the receiver."""

    def __init__(self, receiver: Receiver, grpc: Any) -> None:
        self.receiver = receiver
        self.grpc = grpc

    async def Export(self, request: Any, context: Any) -> Any:  # gRPC's method name
        codes = self.grpc.StatusCode
        token = self.receiver.token
        if token is not None:
            given = dict(context.invocation_metadata() or ()).get("authorization", "")
            bearer = given[:7].lower() == "bearer "
            if not (bearer and hmac.compare_digest(given[7:].strip().encode(), token.encode())):
                await context.abort(codes.UNAUTHENTICATED,
                                    "this server needs its auth token: send the metadata "
                                    "'authorization: Bearer <token>'")  # fmt: skip
        try:
            refused, reason = await self.receiver.store_spans(request)
        except (QueueFullError, _Unavailable) as exc:
            await context.abort(codes.UNAVAILABLE, f"retry shortly: {exc}")
        return _answer(refused, reason)
