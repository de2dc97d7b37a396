from __future__ import annotations

from datetime import UTC, datetime

import pytest

from consumers.errors import RateLimited
from consumers.outcomes import outcome_event, request_sha256
from hub import codec
from hub.redelivery import (
    DUE_HEADER,
    FailureContext,
    Origin,
    due_at,
    failure_context,
    failure_headers,
)
from hub.schemastore import SchemaStore
from tests.examples import example_event

pytestmark = pytest.mark.unit

T0 = datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
T1 = datetime(2025, 1, 2, 3, 4, 35, tzinfo=UTC)


def test_failure_headers_keep_the_original_and_replace_earlier_context() -> None:
    original = [("ce_id", b"e1"), ("ce_type", b"payment.intent_requested"),
                ("hub_attempts", b"9"), ("hub_retry_stage", b"old")]
    headers = failure_headers(
        original, origin=Origin("hub.payments", 2, 41), group="hub.payments",
        error_class="TransientError", error_message="provider answered 503: down",
        attempts=4, first_failure=T0, last_failure=T1, stage="30s", due=T1)
    assert headers == [
        ("ce_id", b"e1"), ("ce_type", b"payment.intent_requested"),
        ("hub_original_topic", b"hub.payments"), ("hub_original_partition", b"2"),
        ("hub_original_offset", b"41"), ("hub_group", b"hub.payments"),
        ("hub_error_class", b"TransientError"),
        ("hub_error_message", b"provider answered 503: down"), ("hub_attempts", b"4"),
        ("hub_first_failure", b"2025-01-02T03:04:05.678Z"),
        ("hub_last_failure", b"2025-01-02T03:04:35.000Z"),
        ("hub_retry_stage", b"30s"), (DUE_HEADER, b"1735787075000"),
    ]
    assert due_at(headers) == 1735787075.0
    assert failure_context(headers, "hub.retry.payments.30s", 0, 7) == FailureContext(
        Origin("hub.payments", 2, 41), 4, T0, "30s")


def test_a_first_delivery_has_its_own_place_as_origin() -> None:
    assert failure_context([("ce_id", b"e1")], "hub.payments", 1, 5) == FailureContext(
        Origin("hub.payments", 1, 5))
    assert due_at([("ce_id", b"e1")]) is None
    assert due_at([(DUE_HEADER, b"soon")]) is None


def test_outcome_events_fit_their_schema_and_have_stable_ids() -> None:
    store = SchemaStore.load()
    event = example_event("payment.intent_requested")
    error = RateLimited("provider answered 429: slow", status=429, retry_after=1.0)
    failed = outcome_event(group="hub.payments", integration="payments", provider="stripe",
                           action="create_payment_intent", event=event, status="failed",
                           attempt=2, now=T0, idempotency_key="inv_1001:create_intent",
                           error=error, request={"amount": 1250})
    again = outcome_event(group="hub.payments", integration="payments", provider="stripe",
                          action="create_payment_intent", event=event, status="failed",
                          attempt=2, now=T1, idempotency_key="inv_1001:create_intent",
                          error=error, request={"amount": 1250})
    assert failed.id == again.id
    decoded = codec.decode(store, codec.encode(store, failed))
    assert decoded.data["error_class"] == "RateLimited"
    assert decoded.data["retriable"] is True
    assert decoded.data["request_sha256"] == request_sha256({"amount": 1250})
    assert (decoded.subject, decoded.causation_id, decoded.correlation_id) == (
        event.subject, event.id, event.correlation_id)
    assert decoded.type == "integration.outcome"
