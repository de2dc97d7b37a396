"""Shopify webhooks: the topic in `X-Shopify-Topic`, the resource as the JSON body."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.normalizers._base import (
    Delivery,
    DomainEvent,
    Normalized,
    Unmapped,
    currency,
    payment_subject,
    result,
    timestamp,
)
from hub.normalizers.money import MAX_MINOR_UNITS, to_minor_units

__all__ = ["normalize_shopify"]


def normalize_shopify(delivery: Delivery) -> Normalized:
    """`orders/paid` and `refunds/create`; money arrives as decimal strings."""
    event_id = delivery.header("x-shopify-webhook-id", "x-shopify-event-id") or delivery.body_id
    topic = delivery.header("x-shopify-topic")

    def mapper() -> tuple[DomainEvent, ...]:
        if topic not in ("orders/paid", "refunds/create"):
            raise Unmapped(f"no mapping for shopify topic {topic}")
        body = delivery.json_object()
        data = _order_paid(delivery, body) if topic == "orders/paid" else _refund(delivery, body)
        hub_type = "payment.succeeded" if topic == "orders/paid" else "payment.refunded"
        return (DomainEvent(hub_type, payment_subject(data), data),)

    return result(event_id, topic, mapper)


def _order_paid(delivery: Delivery, order: dict[str, Any]) -> dict[str, Any]:
    code = currency(order, "currency", "currency")
    number, name = order.get("order_number"), order.get("name")
    invoice_id = (
        str(number) if isinstance(number, int) and not isinstance(number, bool)
        else name if isinstance(name, str) and name else None
    )
    return {
        "provider": "shopify",
        "payment_id": _id(order, "id"),
        "invoice_id": invoice_id,
        "amount_minor": _amount(order.get("total_price"), code, "total_price"),
        "currency": code,
        "occurred_at": _when(delivery, order, "updated_at", header_first=True),
    }


def _refund(delivery: Delivery, refund: dict[str, Any]) -> dict[str, Any]:
    # Only money that actually went back counts: successful `refund` transactions.
    transactions = refund.get("transactions")
    if not isinstance(transactions, list):
        raise Unmapped("transactions is missing or not an array")
    paid_back = [t for t in transactions if isinstance(t, dict)
                 and t.get("kind") == "refund" and t.get("status") == "success"]
    if not paid_back:
        raise Unmapped("refund has no successful refund transaction: no money went back")
    codes = {currency(t, "currency", "transactions[].currency") for t in paid_back}
    if len(codes) != 1:
        raise Unmapped(f"refund transactions mix currencies {sorted(codes)}")
    code = codes.pop()
    amount = sum(_amount(t.get("amount"), code, "transactions[].amount") for t in paid_back)
    if amount > MAX_MINOR_UNITS:
        raise Unmapped("refund transactions add up to more than 2**63-1 minor units")
    return {
        "provider": "shopify",
        "payment_id": _id(refund, "order_id"),
        "refund_id": _id(refund, "id"),
        "invoice_id": None,
        "amount_minor": amount,
        "currency": code,
        "occurred_at": _when(delivery, refund, "processed_at", header_first=False),
    }


def _id(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    raise Unmapped(f"{key} is missing or not an id")


def _amount(value: object, code: str, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, str | int):
        kind = type(value).__name__
        raise Unmapped(f"{path} must be a decimal string like '19.99', not {kind}")
    try:
        return to_minor_units(value, code)
    except ValueError as exc:
        raise Unmapped(f"{path}: {exc}") from None


def _when(delivery: Delivery, obj: dict[str, Any], key: str, *, header_first: bool) -> datetime:
    """When Shopify says it happened: the body's time or the trigger time, else arrival."""
    triggered = delivery.header("x-shopify-triggered-at")
    candidates: list[tuple[object, str]] = [(obj.get(key), key)]
    if triggered is not None:
        header = (triggered, "X-Shopify-Triggered-At")
        candidates.insert(0 if header_first else 1, header)
    for value, path in candidates:
        if value is not None:
            return timestamp(value, path)
    return delivery.received_at
