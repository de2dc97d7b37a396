"""The event envelope: CloudEvents attributes plus hub's own, and its Kafka headers."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = ["SPECVERSION", "Event", "canonical_json", "sha256_hex", "utcnow"]

SPECVERSION = "1.0"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(value: Any) -> bytes:
    """Sorted-key compact JSON, the bytes hashed into `payload_sha256` for published events."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True, slots=True)
class Event:
    """One event as it lives in the log. `data` holds the type's own fields.

    `subject` is the business entity (invoice id, order id, phone number) and the
    Kafka record key, so per-entity order holds.
    """

    id: str
    source: str
    type: str
    time: datetime
    schema_version: int
    correlation_id: str
    payload_sha256: str
    data: dict[str, Any]
    subject: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None
    specversion: str = SPECVERSION
    extras: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def key(self) -> bytes | None:
        return self.subject.encode() if self.subject is not None else None

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers per the CloudEvents Kafka protocol binding (binary-mode names)."""
        h: list[tuple[str, bytes]] = [
            ("ce_specversion", self.specversion.encode()),
            ("ce_id", self.id.encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_time", _rfc3339(self.time).encode()),
            ("content-type", b"application/avro"),
            ("ce_schemaversion", str(self.schema_version).encode()),
            ("ce_correlationid", self.correlation_id.encode()),
            ("ce_payloadsha256", self.payload_sha256.encode()),
        ]
        if self.subject is not None:
            h.append(("ce_subject", self.subject.encode()))
        if self.causation_id is not None:
            h.append(("ce_causationid", self.causation_id.encode()))
        if self.traceparent is not None:
            h.append(("ce_traceparent", self.traceparent.encode()))
        return h

    def envelope_dict(self) -> dict[str, Any]:
        """JSON-friendly view: every attribute, time as RFC 3339, `data` as is."""
        return {
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "specversion": self.specversion,
            "time": _rfc3339(self.time),
            "subject": self.subject,
            "schema_version": self.schema_version,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "payload_sha256": self.payload_sha256,
            "traceparent": self.traceparent,
            "data": self.data,
        }


def utcnow() -> datetime:
    return datetime.now(UTC)


def _rfc3339(t: datetime) -> str:
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")
