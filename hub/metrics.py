"""hub's metrics, through the OpenTelemetry API; exported in Prometheus format on /metrics.

Instruments are created on the global meter: until `telemetry.configure_metrics()` installs
a provider they record nothing, so libraries and tests may call them freely.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

__all__ = [
    "CIRCUIT_STATES",
    "GAUGES",
    "Instruments",
    "M",
    "gauge_source",
]

_meter = metrics.get_meter("hub")

# Circuit-breaker state as a number, for a gauge and an alert rule (2 = open).
CIRCUIT_STATES = {"closed": 0, "half_open": 1, "open": 2}

# Every observable gauge hub registers, name -> (unit, description); `gauge_source`
# refuses others, so this list is the whole exported surface (the alert rules test uses it).
GAUGES: dict[str, tuple[str, str]] = {
    "hub.provider.circuit_state": (
        "1", "circuit breaker state per integration (0 closed, 1 half-open, 2 open)"),
    "hub.consumer.lag": (
        "{message}", "records a consumer group has not consumed yet, per group and topic"),
    "hub.consumer.lag.age": (
        "s", "age of the oldest record a group has not consumed, per group and topic"),
    "hub.consumer.lag.status": (
        "1", "lag status per group and topic (0 OK, 1 WARN, 2 STALL, 3 STOPPED, 4 ERR)"),
    "hub.reconciliation.items": (
        "{item}", "reconciliation items per status (drift is every status but matched)"),
    "hub.monitor.staleness": (
        "s", "seconds since the ingress last refreshed lag and reconciliation figures"),
}


class Instruments:
    """Every counter and histogram hub records, created on `meter`."""

    def __init__(self, meter: metrics.Meter) -> None:
        m = meter
        self.ingress_requests = m.create_counter(
            "hub.ingress.requests", unit="1", description="ingress requests by route and status")
        self.signature_failures = m.create_counter(
            "hub.ingress.signature_failures", unit="1",
            description="webhook deliveries whose signature was rejected, by provider and reason")
        self.produce_latency = m.create_histogram(
            "hub.produce.latency", unit="s", description="time until the broker acknowledged")
        self.processing_latency = m.create_histogram(
            "hub.consumer.processing", unit="s",
            description="time to handle one event, per integration and result")
        self.retries = m.create_counter(
            "hub.consumer.retries", unit="1", description="retries by integration and path")
        self.dead_letters = m.create_counter(
            "hub.consumer.dead_letters", unit="1", description="events dead-lettered, by group")
        self.rate_limit_wait = m.create_histogram(
            "hub.provider.rate_limit_wait", unit="s", description="waits for a rate-limit token")
        self.provider_calls = m.create_counter(
            "hub.provider.calls", unit="1", description="provider calls by provider and outcome")
        self.provider_latency = m.create_histogram(
            "hub.provider.latency", unit="s", description="provider call latency")


M = Instruments(_meter)

_sources: dict[str, Callable[[], Iterable[tuple[float, dict[str, Any]]]]] = {}


def gauge_source(name: str, description: str, unit: str,
                 read: Callable[[], Iterable[tuple[float, dict[str, Any]]]]) -> None:
    """An observable gauge whose values `read()` returns at scrape time: (value, attributes).

    `read` must not block: it returns what a background task refreshed last. Raises
    ValueError for a gauge missing from `GAUGES` or registered with another unit.
    """
    if GAUGES.get(name, (None,))[0] != unit:
        raise ValueError(f"gauge {name!r} with unit {unit!r} is not in hub.metrics.GAUGES; add it there")
    if name in _sources:
        _sources[name] = read
        return
    _sources[name] = read

    def callback(_options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(value, attrs) for value, attrs in _sources[name]()]

    _meter.create_observable_gauge(name, callbacks=[callback], unit=unit, description=description)
