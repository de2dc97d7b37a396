"""Valid example `data` for every event type in schemas/, valid for every version of the type.

Tests across the project reuse these (`EXAMPLES[type]`, `example_event(type)`).
"""
from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from hub.envelope import Event

__all__ = ["EXAMPLES", "example_event"]

_T = datetime(2025, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)

EXAMPLES: dict[str, dict[str, Any]] = {
    "webhook.received": {
        "endpoint": "stripe",
        "provider": "stripe",
        "scheme": "stripe",
        "provider_event_id": "evt_1Pq2",
        "provider_event_type": "payment_intent.succeeded",
        "url": "/webhooks/stripe",
        "content_type": "application/json",
        "headers": [
            {"name": "Content-Type", "value": "application/json"},
            {"name": "X-Dup", "value": "a"},
            {"name": "X-Dup", "value": "b"},
        ],
        "body": b'{"id":"evt_1Pq2","type":"payment_intent.succeeded"}',
        "received_at": _T,
        "mapped": True,
        "mapped_types": ["payment.succeeded"],
    },
    "payment.intent_requested": {
        "invoice_id": "inv_1001",
        "amount_minor": 12_50,
        "currency": "USD",
        "customer_id": "cus_42",
        "customer_email": "ada@example.com",
        "description": None,
    },
    "payment.succeeded": {
        "provider": "stripe",
        "payment_id": "pi_3Pq2",
        "invoice_id": "inv_1001",
        "amount_minor": 12_50,
        "currency": "USD",
        "occurred_at": _T,
    },
    "payment.failed": {
        "provider": "stripe",
        "payment_id": "pi_3Pq3",
        "invoice_id": None,
        "amount_minor": 5_000,
        "currency": "EUR",
        "failure_code": "card_declined",
        "failure_message": "Your card was declined.",
        "occurred_at": _T,
    },
    "payment.refunded": {
        "provider": "stripe",
        "payment_id": "pi_3Pq2",
        "refund_id": "re_1",
        "invoice_id": "inv_1001",
        "amount_minor": 250,
        "currency": "USD",
        "occurred_at": _T,
    },
    "payment.refund_requested": {
        "payment_id": "pi_3Pq2",
        "invoice_id": "inv_1001",
        "amount_minor": 250,
        "currency": "USD",
        "reason": "requested_by_customer",
    },
    "sms.requested": {
        "to": "+15551234567",
        "template": "payment_received",
        "params": {"amount": "12.50 USD"},
        "body": None,
    },
    "sms.delivery_status": {
        "provider": "twilio",
        "message_id": "SM0123456789abcdef",
        "client_reference": "0192f1c4-7a2b-7c3d-8e4f-5a6b7c8d9e0f",
        "to": "+15551234567",
        "status": "delivered",
        "error_code": None,
        "occurred_at": _T,
    },
    "invoice.issued": {
        "invoice_id": "inv_1001",
        "customer_id": "cus_42",
        "amount_minor": 1_250,
        "currency": "JPY",
        "issued_at": _T,
        "due_at": None,
        "lines": [{"description": "Widget", "quantity": 5, "unit_amount_minor": 250}],
    },
    "invoice.post_requested": {
        "invoice_id": "inv_1001",
        "customer_id": "cus_42",
        "amount_minor": 12_50,
        "currency": "USD",
    },
    "email.requested": {
        "to": "ada@example.com",
        "template": "receipt",
        "params": {"invoice_id": "inv_1001"},
        "subject_line": None,
    },
    "integration.outcome": {
        "group": "hub.payments.stripe",
        "integration": "stripe",
        "action": "create_payment_intent",
        "event_id": "0192f1c4-7a2b-7c3d-8e4f-5a6b7c8d9e0f",
        "event_type": "payment.intent_requested",
        "status": "succeeded",
        "attempt": 1,
        "provider": "stripe",
        "provider_reference": "pi_3Pq2",
        "idempotency_key": "0192f1c4-7a2b-7c3d-8e4f-5a6b7c8d9e0f",
        "error_class": None,
        "error_message": None,
        "retriable": None,
        "request_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "amount_minor": 12_50,
        "currency": "USD",
        "occurred_at": _T,
    },
    "dlq.redriven": {
        "group": "hub.payments",
        "original_topic": "hub.payments",
        "original_partition": 1,
        "original_offset": 17,
        "event_id": "0192f1c4-7a2b-7c3d-8e4f-5a6b7c8d9e0f",
        "event_type": "payment.intent_requested",
        "redriven_by": "ada",
        "reason": "provider fixed",
        "dlq_topic": "hub.dlq.payments",
        "dlq_partition": 0,
        "dlq_offset": 3,
        "target_topic": "hub.retry.payments.30s",
        "target_partition": 2,
        "target_offset": 9,
        "error_class": "PermanentError",
        "attempts": 4,
        "redriven_at": _T,
    },
    "customer.imported": {
        "customer_id": "C-0042",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "+15551234567",
        "country": "GB",
        "legacy_system": "legacy",
    },
}


def example_event(type_: str, version: int = 1, **overrides: Any) -> Event:
    """An Event of `type_` with a copy of EXAMPLES[type_] as data; `overrides` replace fields."""
    fields: dict[str, Any] = {
        "id": "0192f1c4-7a2b-7c3d-8e4f-5a6b7c8d9e0f",
        "source": "/tests",
        "type": type_,
        "time": _T,
        "schema_version": version,
        "correlation_id": "0192f1c4-7a2b-7c3d-8e4f-000000000001",
        "payload_sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "data": copy.deepcopy(EXAMPLES[type_]),
        "subject": "inv_1001",
        "causation_id": None,
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    }
    fields.update(overrides)
    return Event(**fields)
