"""Standard Webhooks senders publishing hub's own domain types.

The body is `{"type", "timestamp", "data"}`; `data` must hold exactly the fields of the
type's Avro `data` record, with the right types, or the delivery stays unmapped.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hub.normalizers._base import (
    Delivery,
    DomainEvent,
    Normalized,
    Unmapped,
    currency,
    minor_units,
    object_at,
    opt_text,
    result,
    text,
    timestamp,
)

__all__ = ["ACCEPTED_TYPES", "normalize_standard_webhooks"]

_Reader = Callable[[dict[str, Any], str, str], object]


def _time(obj: dict[str, Any], key: str, path: str) -> object:
    return timestamp(obj.get(key), path)


_PAYMENT = {"provider": text, "payment_id": text, "invoice_id": opt_text,
            "amount_minor": minor_units, "currency": currency}
# Field readers in Avro field order. invoice.issued and other commands hub publishes
# itself are deliberately absent: a webhook sender may report outcomes, not issue invoices.
_FIELDS: dict[str, dict[str, _Reader]] = {
    "payment.succeeded": {**_PAYMENT, "occurred_at": _time},
    "payment.failed": {**_PAYMENT, "failure_code": opt_text, "failure_message": opt_text,
                       "occurred_at": _time},
    "payment.refunded": {"provider": text, "payment_id": text, "refund_id": text,
                         "invoice_id": opt_text, "amount_minor": minor_units,
                         "currency": currency, "occurred_at": _time},
    "sms.delivery_status": {"provider": text, "message_id": text, "client_reference": opt_text,
                            "to": opt_text, "status": text, "error_code": opt_text,
                            "occurred_at": _time},
}
# Commands that move money (payment.intent_requested) come only through the publish API,
# with an API key scoped to them; a webhook reports what happened, it never asks for a charge.
ACCEPTED_TYPES: tuple[str, ...] = tuple(_FIELDS)
_SUBJECT_KEYS = ("invoice_id", "to", "payment_id", "message_id")


def normalize_standard_webhooks(delivery: Delivery) -> Normalized:
    """Pass a hub domain event through; the id is the `webhook-id` header."""
    event_id = delivery.header("webhook-id") or delivery.body_id
    try:
        body = delivery.json_object()
    except Unmapped as exc:
        return Normalized(event_id, None, (), exc.reason)
    event_type = body.get("type") if isinstance(body.get("type"), str) else None

    def mapper() -> tuple[DomainEvent, ...]:
        fields = _FIELDS.get(event_type) if event_type is not None else None
        if fields is None:
            raise Unmapped(f"standard-webhooks type {event_type!r} is not accepted from "
                           f"webhooks; accepted: {', '.join(ACCEPTED_TYPES)}")
        given = object_at(body, "data", "data")
        extra = sorted(str(k) for k in given if k not in fields)
        if extra:
            raise Unmapped(f"data.{extra[0]} is not a field of {event_type}")
        data = {key: read(given, key, f"data.{key}") for key, read in fields.items()}
        subject = next((str(data[k]) for k in _SUBJECT_KEYS if data.get(k)), None)
        return (DomainEvent(str(event_type), subject, data),)

    return result(event_id, event_type, mapper)
