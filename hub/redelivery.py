"""Headers of records sent to retry and dead-letter topics, and reading them back.

A retry or dead-letter record keeps the original value, key and CloudEvents headers,
and adds `hub_*` headers: where the event was first read (topic/partition/offset),
the last error (class and message), attempts so far, first and last failure time,
and for retry records the time it is due. Pure: no Kafka here.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = [
    "DUE_HEADER",
    "FailureContext",
    "Origin",
    "due_at",
    "failure_context",
    "failure_headers",
    "header",
]

Headers = Sequence[tuple[str, bytes]]

DUE_HEADER = "hub_due_ms"
_PREFIX = "hub_"
_MAX_MESSAGE = 1000


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an event was first read, before any retry topic."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class FailureContext:
    """What earlier failures of a record left in its headers (empty for a first delivery)."""

    origin: Origin
    attempts: int = 0
    first_failure: datetime | None = None
    stage: str | None = None


def header(headers: Headers | None, name: str) -> bytes | None:
    """The last value of header `name`, or None."""
    found = None
    for key, value in headers or ():
        if key == name:
            found = value
    return found


def due_at(headers: Headers | None) -> float | None:
    """Epoch seconds at which a retry record is due, or None when it carries no due time."""
    raw = header(headers, DUE_HEADER)
    if raw is None:
        return None
    try:
        return int(raw) / 1000.0
    except ValueError:
        return None


def failure_context(headers: Headers | None, topic: str, partition: int, offset: int) -> FailureContext:
    """The context of a record read at topic/partition/offset; its own place if it was never retried."""
    def text(name: str) -> str | None:
        raw = header(headers, _PREFIX + name)
        return raw.decode("utf-8", "replace") if raw is not None else None

    origin = Origin(topic, partition, offset)
    o_topic, o_part, o_off = text("original_topic"), text("original_partition"), text("original_offset")
    if o_topic and o_part and o_off and o_part.isdigit() and o_off.isdigit():
        origin = Origin(o_topic, int(o_part), int(o_off))
    attempts_raw = text("attempts")
    attempts = int(attempts_raw) if attempts_raw and attempts_raw.isdigit() else 0
    first_raw = text("first_failure")
    first = None
    if first_raw:
        try:
            first = datetime.fromisoformat(first_raw.replace("Z", "+00:00"))
        except ValueError:
            first = None
    return FailureContext(origin, attempts, first, text("retry_stage"))


def failure_headers(
    original: Iterable[tuple[str, bytes]] | None,
    *,
    origin: Origin,
    group: str,
    error_class: str,
    error_message: str,
    attempts: int,
    first_failure: datetime,
    last_failure: datetime,
    stage: str | None = None,
    due: datetime | None = None,
) -> list[tuple[str, bytes]]:
    """The original headers (minus earlier `hub_*` ones) plus this failure's context."""
    kept = [(k, v) for k, v in original or () if not k.startswith(_PREFIX)]
    added = {
        "original_topic": origin.topic,
        "original_partition": str(origin.partition),
        "original_offset": str(origin.offset),
        "group": group,
        "error_class": error_class,
        "error_message": error_message[:_MAX_MESSAGE],
        "attempts": str(attempts),
        "first_failure": _iso(first_failure),
        "last_failure": _iso(last_failure),
    }
    if stage is not None:
        added["retry_stage"] = stage
    out = kept + [(_PREFIX + k, v.encode()) for k, v in added.items()]
    if due is not None:
        out.append((DUE_HEADER, str(int(due.timestamp() * 1000)).encode()))
    return out


def _iso(t: datetime) -> str:
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
