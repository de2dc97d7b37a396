"""Stripe events (`{"id": "evt_...", "type", "created", "data": {"object": {...}}}`)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hub.normalizers._base import (
    Delivery,
    DomainEvent,
    Normalized,
    Unmapped,
    currency,
    epoch_seconds,
    minor_units,
    object_at,
    opt_text,
    payment_subject,
    provider_id,
    result,
    text,
)

__all__ = ["normalize_stripe"]


def normalize_stripe(delivery: Delivery) -> Normalized:
    """Payment intents that succeeded or failed, and refunded charges."""
    try:
        body = delivery.json_object()
    except Unmapped as exc:
        return Normalized(delivery.body_id, None, (), exc.reason)
    event_id = provider_id(body.get("id")) or delivery.body_id
    event_type = body.get("type") if isinstance(body.get("type"), str) else None
    return result(event_id, event_type, lambda: _map(body, event_type))


def _map(body: dict[str, Any], event_type: str | None) -> tuple[DomainEvent, ...]:
    mapping = _MAPPINGS.get(event_type) if event_type is not None else None
    if mapping is None:
        raise Unmapped(f"no mapping for stripe event type {event_type}")
    if provider_id(body.get("id")) is None:
        raise Unmapped("id is missing: a stripe event without an evt_ id cannot be deduplicated")
    hub_type, to_data = mapping
    data = to_data(body, object_at(object_at(body, "data", "data"), "object", "data.object"))
    return (DomainEvent(hub_type, payment_subject(data), data),)


def _payment_intent(body: dict[str, Any], pi: dict[str, Any]) -> dict[str, Any]:
    received = "amount_received" if pi.get("amount_received") is not None else "amount"
    return {
        "provider": "stripe",
        "payment_id": text(pi, "id", "data.object.id"),
        "invoice_id": _invoice_id(pi),
        "amount_minor": minor_units(pi, received, f"data.object.{received}"),
        "currency": currency(pi, "currency", "data.object.currency"),
        "occurred_at": epoch_seconds(body, "created", "created"),
    }


def _payment_failed(body: dict[str, Any], pi: dict[str, Any]) -> dict[str, Any]:
    error = pi.get("last_payment_error")
    if error is not None and not isinstance(error, dict):
        raise Unmapped("data.object.last_payment_error is not an object")
    error = error or {}
    return {
        "provider": "stripe",
        "payment_id": text(pi, "id", "data.object.id"),
        "invoice_id": _invoice_id(pi),
        "amount_minor": minor_units(pi, "amount", "data.object.amount"),
        "currency": currency(pi, "currency", "data.object.currency"),
        "failure_code": opt_text(error, "code", "data.object.last_payment_error.code"),
        "failure_message": opt_text(error, "message", "data.object.last_payment_error.message"),
        "occurred_at": epoch_seconds(body, "created", "created"),
    }


def _charge_refunded(body: dict[str, Any], charge: dict[str, Any]) -> dict[str, Any]:
    charge_id = text(charge, "id", "data.object.id")
    # Newest refund first when the payload lists them (API versions before 2022-11-15);
    # its own amount pairs with its id, where amount_refunded is the charge's running total.
    refunds = charge.get("refunds")
    listed = refunds.get("data") if isinstance(refunds, dict) else None
    latest = listed[0] if isinstance(listed, list) and listed else None
    if isinstance(latest, dict) and provider_id(latest.get("id")):
        refund_id = text(latest, "id", "data.object.refunds.data[0].id")
        amount = minor_units(latest, "amount", "data.object.refunds.data[0].amount")
    else:
        refund_id = charge_id
        amount = minor_units(charge, "amount_refunded", "data.object.amount_refunded")
    return {
        "provider": "stripe",
        "payment_id": opt_text(charge, "payment_intent", "data.object.payment_intent")
        or charge_id,
        "refund_id": refund_id,
        "invoice_id": _invoice_id(charge),
        "amount_minor": amount,
        "currency": currency(charge, "currency", "data.object.currency"),
        "occurred_at": epoch_seconds(body, "created", "created"),
    }


def _invoice_id(obj: dict[str, Any]) -> str | None:
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        return None
    return opt_text(metadata, "invoice_id", "data.object.metadata.invoice_id")


_ToData = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
_MAPPINGS: dict[str, tuple[str, _ToData]] = {
    "payment_intent.succeeded": ("payment.succeeded", _payment_intent),
    "payment_intent.payment_failed": ("payment.failed", _payment_failed),
    "charge.refunded": ("payment.refunded", _charge_refunded),
}
