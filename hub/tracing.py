"""Trace context across the log: W3C `traceparent` in, carried in every event, and out."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context, trace
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = ["current_traceparent", "span_from", "tracer", "tracing_enabled"]

_propagator = TraceContextTextMapPropagator()


def tracing_enabled() -> bool:
    """True when an SDK tracer provider is installed (an exporter is configured, or a test
    records spans); without one, span work is skipped altogether."""
    from opentelemetry.sdk.trace import TracerProvider

    return isinstance(trace.get_tracer_provider(), TracerProvider)


def tracer() -> trace.Tracer:
    return trace.get_tracer("hub")


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, to store in an event; None without tracing."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


@contextmanager
def span_from(name: str, traceparent: str | None, *, kind: SpanKind = SpanKind.INTERNAL,
              attributes: Mapping[str, Any] | None = None) -> Iterator[Span]:
    """A span whose parent is the given traceparent (e.g. the one an event carries)."""
    parent = _propagator.extract({"traceparent": traceparent} if traceparent else {})
    token = context.attach(parent)
    try:
        with tracer().start_as_current_span(name, kind=kind,
                                            attributes=dict(attributes or {})) as span:
            yield span
    finally:
        context.detach(token)
