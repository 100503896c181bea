"""OTLP trace requests in: bodies (protobuf or JSON, gzip or not) to spans in plain Python.

OTLP/HTTP sends an ``ExportTraceServiceRequest`` as protobuf (``application/x-protobuf``) or
as its JSON mapping (``application/json``), where trace and span ids are hex strings rather than
protobuf-JSON's base64. Both become :class:`OtelSpan` tuples, the form the mapping reads; the
in-process exporter builds the same tuples from the SDK's ``ReadableSpan``.
"""

from __future__ import annotations

import base64
import zlib
from typing import Any, NamedTuple

from chaintrack.errors import missing_dependency

try:
    from google.protobuf import json_format
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
except ModuleNotFoundError as exc:  # pragma: no cover - the [otel] extra is missing
    raise missing_dependency(exc.name or "opentelemetry-proto", "otel", "OTLP ingestion") from None

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


class MalformedError(ValueError):
    """The body is not an OTLP trace request (the client should not retry it)."""


class TooLargeError(ValueError):
    """The body inflates past the server's limit."""


class SpanEvent(NamedTuple):
    name: str
    time_unix_nano: int
    attributes: dict[str, Any]


class OtelSpan(NamedTuple):
    """One span as the mapping reads it (ids as lowercase hex, times in ns since the epoch)."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    #: OTel's SpanKind number (0 unspecified, 1 internal, 2 server, 3 client, …).
    kind: int
    start_unix_nano: int
    end_unix_nano: int
    attributes: dict[str, Any]
    events: list[SpanEvent]
    #: 0 unset, 1 ok, 2 error.
    status_code: int
    status_message: str
    resource: dict[str, Any]
    scope: str


def inflate(body: bytes, encoding: str, limit: int) -> bytes:
    """``body`` as sent, decompressed when ``encoding`` says gzip (or deflate)."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise MalformedError(f"Content-Encoding {encoding!r} is not supported (gzip or none)")
    inflater = zlib.decompressobj(wbits=47)  # gzip or zlib, detected from the header
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise MalformedError(f"the body is not valid {encoding}: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise TooLargeError(limit)
    if not inflater.eof:
        raise MalformedError(f"the {encoding} body is truncated")
    return out


def parse(body: bytes, content_type: str) -> Any:
    """The ``ExportTraceServiceRequest`` in ``body`` (MalformedError when it is none)."""
    media = content_type.split(";", 1)[0].strip().lower()
    request = ExportTraceServiceRequest()
    if media == PROTOBUF:
        try:
            request.ParseFromString(body)
        except (DecodeError, RuntimeError, ValueError) as exc:
            raise MalformedError(f"the body is not an OTLP protobuf trace request: {exc}") from None
        return request
    if media == JSON:
        try:
            import orjson

            document = orjson.loads(body)
        except ValueError as exc:
            raise MalformedError(f"the body is not JSON: {exc}") from None
        if not isinstance(document, dict):
            raise MalformedError("the body is not an OTLP JSON trace request (an object)")
        try:
            json_format.ParseDict(_ids_to_base64(document), request, ignore_unknown_fields=True)
        except (json_format.ParseError, ValueError, TypeError) as exc:
            raise MalformedError(f"the body is not an OTLP JSON trace request: {exc}") from None
        return request
    raise MalformedError(f"Content-Type {content_type!r} is not OTLP: send {PROTOBUF} or {JSON}")


_ID_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


def _ids_to_base64(document: Any) -> Any:
    """OTLP/JSON writes ids as hex; protobuf's JSON mapping reads bytes as base64."""
    for resource_spans in _list(document, "resourceSpans", "resource_spans"):
        for scope_spans in _list(resource_spans, "scopeSpans", "scope_spans"):
            for span in _list(scope_spans, "spans"):
                _fix_ids(span)
                for link in _list(span, "links"):
                    _fix_ids(link)
    return document


def _list(parent: Any, *names: str) -> list[Any]:
    if not isinstance(parent, dict):
        return []
    for name in names:
        value = parent.get(name)
        if isinstance(value, list):
            return value
    return []


def _fix_ids(holder: Any) -> None:
    if not isinstance(holder, dict):
        return
    for name in _ID_FIELDS:
        value = holder.get(name)
        if isinstance(value, str) and value:
            try:
                holder[name] = base64.b64encode(bytes.fromhex(value)).decode()
            except ValueError:
                raise MalformedError(f"{name} {value[:40]!r} is not a hex id") from None


def any_value(value: Any) -> Any:
    """An ``AnyValue`` as Python (arrays as lists, key-value lists as dicts, bytes as hex)."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which == "int_value":
        return value.int_value
    if which == "double_value":
        return value.double_value
    if which == "bool_value":
        return value.bool_value
    if which == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return value.bytes_value.hex()
    return None


def attributes(pairs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in pairs:  # the common scalar cases inline: this runs for every attribute
        value = kv.value
        which = value.WhichOneof("value")
        if which == "string_value":
            out[kv.key] = value.string_value
        elif which == "int_value":
            out[kv.key] = value.int_value
        else:
            out[kv.key] = any_value(value)
    return out


class Decoded(NamedTuple):
    spans: list[OtelSpan]
    #: Spans refused (ids of the wrong length), with the reason of the first.
    rejected: int
    reason: str


def spans_of(request: Any) -> Decoded:
    """Every span of an ``ExportTraceServiceRequest``, with its resource's attributes."""
    out: list[OtelSpan] = []
    rejected, reason = 0, ""
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope.name
            for s in scope_spans.spans:
                trace_id, span_id, parent = s.trace_id, s.span_id, s.parent_span_id
                if (
                    len(trace_id) != 16
                    or len(span_id) != 8
                    or not any(trace_id)
                    or not any(span_id)
                ):
                    rejected += 1
                    reason = reason or (
                        f"span {s.name[:80]!r} has no valid trace id (16 bytes) and span id "
                        "(8 bytes)"
                    )
                    continue
                out.append(
                    OtelSpan(
                        trace_id.hex(),
                        span_id.hex(),
                        parent.hex() if len(parent) == 8 and any(parent) else None,
                        s.name,
                        s.kind,
                        s.start_time_unix_nano,
                        s.end_time_unix_nano,
                        attributes(s.attributes),
                        [SpanEvent(e.name, e.time_unix_nano, attributes(e.attributes))
                         for e in s.events],
                        s.status.code,
                        s.status.message,
                        resource,
                        scope,
                    )
                )  # fmt: skip
    return Decoded(out, rejected, reason)
