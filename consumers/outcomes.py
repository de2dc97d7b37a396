"""`integration.outcome` events: one per attempt, success, failure and dead letter.

Ids are deterministic (UUIDv5 of group, event, status and attempt; success and dead
letter without the attempt), so an outcome written again after a crash carries the
same id and projections drop the copy.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from consumers.errors import ProviderError
from consumers.redact import redact
from hub.envelope import Event, canonical_json, sha256_hex
from hub.ids import derived_id

__all__ = ["OutcomeStatus", "outcome_event", "request_sha256"]

OutcomeStatus = Literal["attempted", "succeeded", "failed", "dead_lettered"]


def request_sha256(request: Mapping[str, Any] | None) -> str | None:
    """SHA-256 of the canonical JSON of the redacted request, or None without a request."""
    if request is None:
        return None
    return sha256_hex(canonical_json(redact(request)))


def outcome_event(
    *,
    group: str,
    integration: str,
    provider: str,
    action: str,
    event: Event,
    status: OutcomeStatus,
    attempt: int,
    now: datetime,
    provider_reference: str | None = None,
    idempotency_key: str | None = None,
    error: ProviderError | None = None,
    error_message: str | None = None,
    request: Mapping[str, Any] | None = None,
    amount_minor: int | None = None,
    currency: str | None = None,
) -> Event:
    """The outcome of calling `provider` for `event`; subject and correlation follow `event`."""
    numbered = status in ("attempted", "failed")
    parts = ["outcome", group, event.id, status] + ([str(attempt)] if numbered else [])
    data: dict[str, Any] = {
        "group": group,
        "integration": integration,
        "action": action,
        "event_id": event.id,
        "event_type": event.type,
        "status": status,
        "attempt": attempt,
        "provider": provider,
        "provider_reference": provider_reference,
        "idempotency_key": idempotency_key,
        "error_class": type(error).__name__ if error is not None else None,
        "error_message": error_message or (str(error) if error is not None else None),
        "retriable": error.retriable if error is not None else None,
        "request_sha256": request_sha256(request),
        "amount_minor": amount_minor,
        "currency": currency,
        "occurred_at": now,
    }
    return Event(
        id=derived_id(*parts),
        source=f"/workers/{integration}",
        type="integration.outcome",
        time=now,
        schema_version=1,
        correlation_id=event.correlation_id,
        payload_sha256=sha256_hex(canonical_json(data)),
        data=data,
        subject=event.subject,
        causation_id=event.id,
        traceparent=event.traceparent,
    )
