"""Dead letters: reading the worker's `hub_*` headers back, choosing what to redrive and
where, and the `dlq.redriven` audit event. Pure: no Kafka, no database.

Where a redrive goes. A dead-letter topic `<prefix>hub.dlq.<name>` belongs to one
consumer group (`<prefix>hub.<name>`, the integration `<name>`), and that group also
consumes its own retry topics `<prefix>hub.retry.<name>.<delay>`. A redrive re-produces
the dead-lettered record (same key, value and CloudEvents headers) to the group's
*first retry topic*, with no due time (the worker takes it at once) and no retry stage
(a new failure climbs the whole retry ladder again), keeping where it was first read
(`hub_original_*`), its attempts and first failure time, and adding `hub_redriven_from`,
`hub_redriven_at` and `hub_redriven_by`. Only the failed group reads its retry topics,
so no other group runs its effects again. Re-producing to the original topic would
also reach every other group reading it; their dedupe on event_id would make it a
no-op, but it costs them work and muddles their outcomes, so it is only done on request
(`--to-original`), e.g. when the group has no retry topics.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.envelope import Event, canonical_json, sha256_hex
from hub.ids import derived_id
from hub.logreader import LogRecord
from hub.redelivery import Origin, failure_context
from hub.times import from_ms, rfc3339
from hub.topics import Topics, delay_seconds

__all__ = [
    "REDRIVEN_AT",
    "REDRIVEN_BY",
    "REDRIVEN_FROM",
    "DeadLetter",
    "first_retry_topic",
    "parse",
    "redrive_headers",
    "redriven_event",
]

REDRIVEN_FROM = "hub_redriven_from"  # `<dlq topic>:<partition>:<offset>` of the dead letter
REDRIVEN_AT = "hub_redriven_at"
REDRIVEN_BY = "hub_redriven_by"
# Failure context a redriven record keeps; the rest of `hub_*` describes the last failure.
_KEPT = ("hub_original_topic", "hub_original_partition", "hub_original_offset", "hub_group",
         "hub_attempts", "hub_first_failure")


@dataclass(frozen=True)
class DeadLetter:
    """One record of a dead-letter topic with its failure context."""

    record: LogRecord
    name: str  # the integration: `<name>` of `<prefix>hub.dlq.<name>`
    group: str
    origin: Origin
    error_class: str | None
    error_message: str | None
    attempts: int
    first_failure: datetime | None
    last_failure: datetime | None
    event_id: str | None
    event_type: str | None

    @property
    def ref(self) -> str:
        """`<dlq topic>:<partition>:<offset>`, the id `hub dlq show` accepts besides the event id."""
        r = self.record
        return f"{r.topic}:{r.partition}:{r.offset}"

    @property
    def failed_at(self) -> datetime | None:
        if self.last_failure is not None:
            return self.last_failure
        return from_ms(self.record.timestamp_ms) if self.record.timestamp_ms is not None else None

    def matches(self, *, group: str | None = None, since: datetime | None = None,
                type_: str | None = None) -> bool:
        """`group`: the group id or integration name; `type_`: a type or glob (`payment.*`)."""
        if group is not None and group not in (self.group, self.name):
            return False
        if since is not None and (self.failed_at is None or self.failed_at < since):
            return False
        return type_ is None or (self.event_type is not None
                                 and fnmatch.fnmatchcase(self.event_type, type_))

    def context(self) -> dict[str, Any]:
        """The error context as JSON-friendly values."""
        return {
            "ref": self.ref, "group": self.group, "integration": self.name,
            "original": f"{self.origin.topic}:{self.origin.partition}:{self.origin.offset}",
            "error_class": self.error_class, "error_message": self.error_message,
            "attempts": self.attempts,
            "first_failure": _iso(self.first_failure), "last_failure": _iso(self.last_failure),
            "event_id": self.event_id, "event_type": self.event_type,
        }


def parse(record: LogRecord, topics: Topics) -> DeadLetter:
    """A record of `<prefix>hub.dlq.<name>` read back. Missing headers give None/0."""
    def text(name: str) -> str | None:
        raw = record.header(name)
        return raw.decode("utf-8", "replace") if raw is not None else None

    name = record.topic.removeprefix(topics.name("dlq."))
    ctx = failure_context(record.headers, record.topic, record.partition, record.offset)
    return DeadLetter(
        record=record, name=name, group=text("hub_group") or topics.group(name),
        origin=ctx.origin, error_class=text("hub_error_class"),
        error_message=text("hub_error_message"), attempts=ctx.attempts,
        first_failure=ctx.first_failure, last_failure=_parse_time(text("hub_last_failure")),
        event_id=text("ce_id"), event_type=text("ce_type"),
    )


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _iso(t: datetime | None) -> str | None:
    return rfc3339(t) if t is not None else None


def first_retry_topic(existing: set[str], topics: Topics, name: str) -> str | None:
    """The retry topic with the shortest delay among `existing` topics of integration `name`."""
    head = topics.name(f"retry.{name}.")
    delays = []
    for topic in existing:
        label = topic.removeprefix(head)
        if topic.startswith(head) and "." not in label:
            try:
                delays.append((delay_seconds(label), topic))
            except ValueError:
                continue
    return min(delays)[1] if delays else None


def redrive_headers(dl: DeadLetter, *, to_retry: bool, at: datetime,
                    by: str) -> list[tuple[str, bytes]]:
    """The dead letter's CloudEvents headers plus the redrive marks; to a retry topic also
    its origin, group, attempts and first failure (no stage, no due time)."""
    kept = _KEPT if to_retry else ()
    out = [(k, v) for k, v in dl.record.headers if not k.startswith("hub_") or k in kept]
    return out + [(REDRIVEN_FROM, dl.ref.encode()), (REDRIVEN_AT, rfc3339(at).encode()),
                  (REDRIVEN_BY, by.encode())]


def redriven_event(dl: DeadLetter, original: Event | None, *, target: tuple[str, int, int],
                   by: str, reason: str | None, at: datetime) -> Event:
    """The `dlq.redriven` audit event for one redriven dead letter. Its id is derived from
    the dead letter's place, so writing it again after a crash yields the same id."""
    r = dl.record
    data: dict[str, Any] = {
        "group": dl.group, "original_topic": dl.origin.topic,
        "original_partition": dl.origin.partition, "original_offset": dl.origin.offset,
        "event_id": original.id if original else dl.event_id,
        "event_type": original.type if original else dl.event_type,
        "redriven_by": by, "reason": reason,
        "dlq_topic": r.topic, "dlq_partition": r.partition, "dlq_offset": r.offset,
        "target_topic": target[0], "target_partition": target[1], "target_offset": target[2],
        "error_class": dl.error_class, "attempts": dl.attempts, "redriven_at": at,
    }
    own_id = derived_id("dlq.redriven", r.topic, str(r.partition), str(r.offset))
    subject = original.subject if original else (r.key.decode("utf-8", "replace") if r.key else None)
    return Event(
        id=own_id, source="/cli/dlq-redrive", type="dlq.redriven", time=at, schema_version=1,
        correlation_id=original.correlation_id if original else own_id,
        payload_sha256=sha256_hex(canonical_json(data)), data=data, subject=subject,
        causation_id=original.id if original else dl.event_id,
        traceparent=original.traceparent if original else None,
    )
