"""OpenTelemetry into chaintrack: OTLP decoding, the OpenInference and GenAI-convention
mapping, and the in-process provider, processor and exporter (see docs/opentelemetry.md).

Needs the ``[otel]`` extra (``pip install 'chaintrack[otel]'``).
"""

from __future__ import annotations

from chaintrack.otel.inprocess import SpanExporter, SpanProcessor, register

__all__ = ["SpanExporter", "SpanProcessor", "register"]
