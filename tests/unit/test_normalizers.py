"""Provider normalizers: a verified delivery in, the provider's id and hub's events out."""
from __future__ import annotations

import copy
import hashlib
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub import normalizers
from hub.normalizers import NORMALIZERS, DomainEvent, Normalized, normalize, to_minor_units

RECEIVED = datetime(2024, 5, 6, 14, 0, 0, tzinfo=UTC)
CREATED = 1715000000  # 2024-05-06T12:53:20Z
CREATED_AT = datetime(2024, 5, 6, 12, 53, 20, tzinfo=UTC)
FORM = "application/x-www-form-urlencoded"


def run(
    normalizer: str,
    body: bytes | dict[str, Any],
    headers: Mapping[str, str] | None = None,
    content_type: str | None = "application/json",
) -> Normalized:
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    return normalize(normalizer, headers=headers or {}, body=raw, content_type=content_type,
                     received_at=RECEIVED)


def sha_id(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


# --- Stripe ---------------------------------------------------------------------------

def stripe_event(event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "evt_3PDwQ2LkdIwHu7ix1a2b3c4d",
        "object": "event",
        "api_version": "2024-04-10",
        "created": CREATED,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": "req_Kx81mQ0aZpYt3v", "idempotency_key": "hub-7f1c2a"},
        "type": event_type,
        "data": {"object": obj},
    }


def payment_intent(**changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": "pi_3PDwQ2LkdIwHu7ix0kQm4xYz",
        "object": "payment_intent",
        "amount": 4999,
        "amount_capturable": 0,
        "amount_received": 4999,
        "capture_method": "automatic_async",
        "client_secret": "pi_3PDwQ2LkdIwHu7ix0kQm4xYz_secret_redacted",
        "confirmation_method": "automatic",
        "created": CREATED - 30,
        "currency": "eur",
        "customer": "cus_Q4xTt1Lm0aBcDe",
        "description": "Invoice INV-2024-0042",
        "last_payment_error": None,
        "latest_charge": "ch_3PDwQ2LkdIwHu7ix0pLm9NoP",
        "livemode": False,
        "metadata": {"invoice_id": "INV-2024-0042", "tenant": "acme"},
        "payment_method": "pm_1PDwPzLkdIwHu7ixQrStUvWx",
        "payment_method_types": ["card"],
        "status": "succeeded",
    }
    obj.update(changes)
    return obj


def charge(**changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": "ch_3PDwQ2LkdIwHu7ix0pLm9NoP",
        "object": "charge",
        "amount": 4999,
        "amount_captured": 4999,
        "amount_refunded": 2500,
        "captured": True,
        "currency": "eur",
        "customer": "cus_Q4xTt1Lm0aBcDe",
        "metadata": {"invoice_id": "INV-2024-0042"},
        "paid": True,
        "payment_intent": "pi_3PDwQ2LkdIwHu7ix0kQm4xYz",
        "refunded": False,
        "status": "succeeded",
    }
    obj.update(changes)
    return obj


def refund_list(*refunds: tuple[str, int]) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": rid, "object": "refund", "amount": amount, "currency": "eur",
                  "charge": "ch_3PDwQ2LkdIwHu7ix0pLm9NoP", "status": "succeeded"}
                 for rid, amount in refunds],
        "has_more": False,
        "total_count": len(refunds),
        "url": "/v1/charges/ch_3PDwQ2LkdIwHu7ix0pLm9NoP/refunds",
    }


@pytest.mark.unit
def test_stripe_payment_intent_succeeded() -> None:
    result = run("stripe", stripe_event("payment_intent.succeeded", payment_intent()))
    assert result == Normalized(
        provider_event_id="evt_3PDwQ2LkdIwHu7ix1a2b3c4d",
        provider_event_type="payment_intent.succeeded",
        events=(DomainEvent("payment.succeeded", "INV-2024-0042", {
            "provider": "stripe",
            "payment_id": "pi_3PDwQ2LkdIwHu7ix0kQm4xYz",
            "invoice_id": "INV-2024-0042",
            "amount_minor": 4999,
            "currency": "EUR",
            "occurred_at": CREATED_AT,
        }),),
    )


@pytest.mark.unit
def test_stripe_without_invoice_metadata_is_keyed_by_payment_intent() -> None:
    body = stripe_event("payment_intent.succeeded",
                        payment_intent(metadata={}, currency="jpy", amount=1500,
                                       amount_received=1500))
    (event,) = run("stripe", body).events
    assert event.subject == "pi_3PDwQ2LkdIwHu7ix0kQm4xYz"
    assert event.data["invoice_id"] is None
    assert (event.data["amount_minor"], event.data["currency"]) == (1500, "JPY")


@pytest.mark.unit
def test_stripe_payment_failed_carries_the_decline() -> None:
    error = {"code": "card_declined", "decline_code": "insufficient_funds", "type": "card_error",
             "message": "Your card has insufficient funds."}
    body = stripe_event("payment_intent.payment_failed",
                        payment_intent(status="requires_payment_method", amount_received=0,
                                       last_payment_error=error))
    result = run("stripe", body)
    assert result.events == (DomainEvent("payment.failed", "INV-2024-0042", {
        "provider": "stripe",
        "payment_id": "pi_3PDwQ2LkdIwHu7ix0kQm4xYz",
        "invoice_id": "INV-2024-0042",
        "amount_minor": 4999,
        "currency": "EUR",
        "failure_code": "card_declined",
        "failure_message": "Your card has insufficient funds.",
        "occurred_at": CREATED_AT,
    }),)
    assert result.unmapped_reason is None


@pytest.mark.unit
def test_stripe_payment_failed_without_error_details() -> None:
    body = stripe_event("payment_intent.payment_failed", payment_intent(amount_received=0))
    (event,) = run("stripe", body).events
    assert (event.data["failure_code"], event.data["failure_message"]) == (None, None)


@pytest.mark.unit
def test_stripe_charge_refunded_uses_the_newest_listed_refund() -> None:
    body = stripe_event("charge.refunded", charge(
        refunds=refund_list(("re_3PDwQ2LkdIwHu7ix0Second", 1000),
                            ("re_3PDwQ2LkdIwHu7ix0First1", 1500))))
    result = run("stripe", body)
    assert result.events == (DomainEvent("payment.refunded", "INV-2024-0042", {
        "provider": "stripe",
        "payment_id": "pi_3PDwQ2LkdIwHu7ix0kQm4xYz",
        "refund_id": "re_3PDwQ2LkdIwHu7ix0Second",
        "invoice_id": "INV-2024-0042",
        "amount_minor": 1000,
        "currency": "EUR",
        "occurred_at": CREATED_AT,
    }),)


@pytest.mark.unit
def test_stripe_charge_refunded_without_refund_list_uses_the_charge() -> None:
    # API versions since 2022-11-15 no longer embed `refunds` in the charge.
    body = stripe_event("charge.refunded", charge(amount_refunded=4999, refunded=True))
    (event,) = run("stripe", body).events
    assert event.data["refund_id"] == "ch_3PDwQ2LkdIwHu7ix0pLm9NoP"
    assert event.data["amount_minor"] == 4999


@pytest.mark.unit
def test_stripe_unmapped_event_type() -> None:
    body = stripe_event("customer.created", {"id": "cus_Q4xTt1Lm0aBcDe", "object": "customer"})
    assert run("stripe", body) == Normalized(
        "evt_3PDwQ2LkdIwHu7ix1a2b3c4d", "customer.created", (),
        "no mapping for stripe event type customer.created")


@pytest.mark.unit
@pytest.mark.parametrize(("change", "reason"), [
    ({"amount_received": 49.99}, "data.object.amount_received is a float, expected an integer"),
    ({"amount_received": None, "amount": "4999"}, "data.object.amount is a string"),
    ({"amount_received": -5}, "data.object.amount_received is out of range"),
    ({"currency": "euro"}, "data.object.currency: currency 'euro' is not a 3-letter"),
    ({"currency": None}, "data.object.currency: currency None is not a 3-letter"),
    ({"id": 12}, "data.object.id is a number, expected a string"),
    ({"metadata": {"invoice_id": 42}}, "data.object.metadata.invoice_id is a number"),
])
def test_stripe_bad_fields_are_unmapped_with_the_field_named(
    change: dict[str, Any], reason: str
) -> None:
    body = stripe_event("payment_intent.succeeded", payment_intent(**change))
    result = run("stripe", body)
    assert result.events == ()
    assert result.provider_event_id == "evt_3PDwQ2LkdIwHu7ix1a2b3c4d"
    assert result.unmapped_reason is not None
    assert result.unmapped_reason.startswith(reason)


@pytest.mark.unit
@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda b: b.pop("created"), "created is missing or null, expected Unix seconds"),
    (lambda b: b.update(created=1e9), "created is a float, expected Unix seconds"),
    (lambda b: b.update(created=10**15), "created is out of range for a timestamp"),
    (lambda b: b.update(data=[]), "data is an array, expected an object"),
    (lambda b: b["data"].pop("object"), "data.object is missing or null, expected an object"),
    (lambda b: b.pop("id"), "id is missing: a stripe event without an evt_ id"),
], ids=["no-created", "float-created", "huge-created", "data-array", "no-object", "no-id"])
def test_stripe_bad_envelope_is_unmapped(mutate: Any, reason: str) -> None:
    body = stripe_event("payment_intent.succeeded", payment_intent())
    mutate(body)
    raw = json.dumps(body).encode()
    result = run("stripe", raw)
    assert result.events == ()
    assert result.unmapped_reason is not None
    assert result.unmapped_reason.startswith(reason)
    expected_id = sha_id(raw) if "id" not in body else "evt_3PDwQ2LkdIwHu7ix1a2b3c4d"
    assert result.provider_event_id == expected_id


# --- Twilio ---------------------------------------------------------------------------

def twilio_callback(**changes: str | None) -> bytes:
    params: dict[str, str | None] = {
        "ApiVersion": "2010-04-01",
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "MessagingServiceSid": "MG0123456789abcdef0123456789abcdef",
        "MessageSid": "SM1f0e3c9ab5d24e8f9c7a6b5d4e3f2a1b",
        "SmsSid": "SM1f0e3c9ab5d24e8f9c7a6b5d4e3f2a1b",
        "MessageStatus": "delivered",
        "SmsStatus": "delivered",
        "From": "+4915735998877",
        "To": "+4917612345678",
        "ClientReference": "0190f1c2-7d3e-7a4b-9c1d-2e3f4a5b6c7d",
    }
    params.update(changes)
    return urlencode({k: v for k, v in params.items() if v is not None}).encode()


@pytest.mark.unit
def test_twilio_delivered_callback() -> None:
    result = run("twilio", twilio_callback(), content_type=FORM)
    assert result == Normalized(
        provider_event_id="SM1f0e3c9ab5d24e8f9c7a6b5d4e3f2a1b:delivered",
        provider_event_type="delivered",
        events=(DomainEvent("sms.delivery_status", "+4917612345678", {
            "provider": "twilio",
            "message_id": "SM1f0e3c9ab5d24e8f9c7a6b5d4e3f2a1b",
            "client_reference": "0190f1c2-7d3e-7a4b-9c1d-2e3f4a5b6c7d",
            "to": "+4917612345678",
            "status": "delivered",
            "error_code": None,
            "occurred_at": RECEIVED,
        }),),
    )


@pytest.mark.unit
def test_twilio_undelivered_with_error_code_and_no_reference() -> None:
    body = twilio_callback(MessageStatus="undelivered", SmsStatus="undelivered",
                           ErrorCode="30003", ClientReference=None)
    (event,) = run("twilio", body, content_type=FORM).events
    assert event.data["status"] == "undelivered"
    assert event.data["error_code"] == "30003"
    assert event.data["client_reference"] is None


@pytest.mark.unit
@pytest.mark.parametrize(("twilio_status", "hub_status"), [
    ("accepted", "queued"), ("scheduled", "queued"), ("queued", "queued"),
    ("sending", "queued"), ("sent", "sent"), ("delivered", "delivered"),
    ("read", "delivered"), ("undelivered", "undelivered"), ("failed", "failed"),
    ("canceled", "failed"),
])
def test_twilio_statuses_map_to_hubs_five(twilio_status: str, hub_status: str) -> None:
    result = run("twilio", twilio_callback(MessageStatus=twilio_status), content_type=FORM)
    assert result.provider_event_id == f"SM1f0e3c9ab5d24e8f9c7a6b5d4e3f2a1b:{twilio_status}"
    assert result.events[0].data["status"] == hub_status


@pytest.mark.unit
def test_twilio_without_to_is_keyed_by_message_sid() -> None:
    (event,) = run("twilio", twilio_callback(To=""), content_type=FORM).events
    assert event.subject == "SM1f0e3c9ab5d24e8f9c7a6b5d4e3f2a1b"
    assert event.data["to"] is None


@pytest.mark.unit
def test_twilio_inbound_message_is_unmapped() -> None:
    body = twilio_callback(MessageStatus=None, SmsStatus="received", Body="STOP",
                           NumMedia="0", ClientReference=None)
    assert run("twilio", body, content_type=FORM) == Normalized(
        "SM1f0e3c9ab5d24e8f9c7a6b5d4e3f2a1b", "received", (),
        "no MessageStatus: inbound twilio messages are not mapped")


@pytest.mark.unit
def test_twilio_unknown_status_is_unmapped() -> None:
    result = run("twilio", twilio_callback(MessageStatus="partially_delivered"), content_type=FORM)
    assert result.events == ()
    assert result.unmapped_reason == (
        "twilio MessageStatus 'partially_delivered' has no hub delivery status")


@pytest.mark.unit
def test_twilio_each_transition_is_its_own_event_and_redelivery_is_the_same() -> None:
    sent = run("twilio", twilio_callback(MessageStatus="sent"), content_type=FORM)
    delivered = run("twilio", twilio_callback(), content_type=FORM)
    again = run("twilio", twilio_callback(), content_type=FORM)
    assert sent.provider_event_id != delivered.provider_event_id
    assert delivered.provider_event_id == again.provider_event_id


@pytest.mark.unit
def test_twilio_malformed_body_falls_back_to_the_idempotency_header() -> None:
    headers = {"I-Twilio-Idempotency-Token": "a1b2c3d4-0000-4000-8000-5e6f7a8b9c0d"}
    result = run("twilio", b"\xff\xfeMessageSid=SM1", headers, content_type=FORM)
    assert result == Normalized("a1b2c3d4-0000-4000-8000-5e6f7a8b9c0d", None, (),
                                "body is not UTF-8")
    garbage = b"just some text"
    assert run("twilio", garbage, content_type=FORM) == Normalized(
        sha_id(garbage), None, (), "MessageSid is missing")


@pytest.mark.unit
def test_twilio_default_occurred_at_is_now_and_must_be_aware() -> None:
    before = datetime.now(UTC)
    result = normalize("twilio", headers={}, body=twilio_callback(), content_type=FORM)
    after = datetime.now(UTC)
    assert before <= result.events[0].data["occurred_at"] <= after
    cet = datetime(2024, 5, 6, 16, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    result = normalize("twilio", headers={}, body=twilio_callback(), content_type=FORM,
                       received_at=cet)
    assert result.events[0].data["occurred_at"] == RECEIVED
    assert result.events[0].data["occurred_at"].tzinfo is UTC
    with pytest.raises(ValueError, match="must be timezone-aware"):
        normalize("twilio", headers={}, body=twilio_callback(), content_type=FORM,
                  received_at=datetime(2024, 5, 6, 14, 0))


# --- Shopify --------------------------------------------------------------------------

SHOPIFY_HEADERS = {
    "X-Shopify-Topic": "orders/paid",
    "X-Shopify-Hmac-Sha256": "not-checked-here",
    "X-Shopify-Shop-Domain": "acme-outdoor.myshopify.com",
    "X-Shopify-API-Version": "2024-04",
    "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
    "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
    "X-Shopify-Triggered-At": "2024-05-06T12:53:21.123456789Z",
}


def shopify_order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": 5820982911946154508,
        "admin_graphql_api_id": "gid://shopify/Order/5820982911946154508",
        "name": "#1001",
        "order_number": 1001,
        "number": 1,
        "email": "jon@example.com",
        "created_at": "2024-05-06T14:52:50+02:00",
        "processed_at": "2024-05-06T14:52:49+02:00",
        "updated_at": "2024-05-06T14:53:20+02:00",
        "currency": "USD",
        "presentment_currency": "USD",
        "financial_status": "paid",
        "subtotal_price": "189.00",
        "total_tax": "0.00",
        "total_shipping_price_set": {"shop_money": {"amount": "10.00", "currency_code": "USD"}},
        "total_price": "199.00",
        "line_items": [{"id": 866550311766439020, "title": "Trail tent", "quantity": 1,
                        "price": "189.00", "sku": "TENT-2P"}],
        "payment_gateway_names": ["shopify_payments"],
    }
    order.update(changes)
    return order


def shopify_refund(*transactions: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": 929361464,
        "admin_graphql_api_id": "gid://shopify/Refund/929361464",
        "order_id": 5820982911946154508,
        "created_at": "2024-05-08T09:15:00-04:00",
        "processed_at": "2024-05-08T09:15:00-04:00",
        "note": "Pole broken on arrival",
        "restock": False,
        "user_id": 548380009,
        "refund_line_items": [],
        "order_adjustments": [],
        "transactions": list(transactions),
    }


def refund_transaction(amount: str, *, status: str = "success", kind: str = "refund",
                       currency: str = "USD") -> dict[str, Any]:
    return {"id": 179259969, "order_id": 5820982911946154508, "kind": kind,
            "gateway": "shopify_payments", "status": status, "amount": amount,
            "currency": currency, "parent_id": 801038806}


@pytest.mark.unit
def test_shopify_order_paid() -> None:
    result = run("shopify", shopify_order(), SHOPIFY_HEADERS)
    assert result == Normalized(
        provider_event_id="b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        provider_event_type="orders/paid",
        events=(DomainEvent("payment.succeeded", "1001", {
            "provider": "shopify",
            "payment_id": "5820982911946154508",
            "invoice_id": "1001",
            "amount_minor": 19900,
            "currency": "USD",
            "occurred_at": datetime(2024, 5, 6, 12, 53, 21, 123456, tzinfo=UTC),
        }),),
    )


@pytest.mark.unit
def test_shopify_without_trigger_header_uses_updated_at_and_event_id() -> None:
    headers = {k: v for k, v in SHOPIFY_HEADERS.items()
               if k not in ("X-Shopify-Triggered-At", "X-Shopify-Webhook-Id")}
    result = run("shopify", shopify_order(), headers)
    assert result.provider_event_id == "98880550-7158-44d4-b7cd-2c97c8a091b5"
    assert result.events[0].data["occurred_at"] == datetime(2024, 5, 6, 12, 53, 20, tzinfo=UTC)


@pytest.mark.unit
@pytest.mark.parametrize(("price", "code", "minor"), [
    ("1500", "JPY", 1500), ("12.345", "KWD", 12345), ("0.50", "EUR", 50), ("19.9", "GBP", 1990),
])
def test_shopify_amounts_use_the_currency_exponent(price: str, code: str, minor: int) -> None:
    (event,) = run("shopify", shopify_order(total_price=price, currency=code),
                   SHOPIFY_HEADERS).events
    assert (event.data["amount_minor"], event.data["currency"]) == (minor, code)


@pytest.mark.unit
@pytest.mark.parametrize(("change", "reason"), [
    ({"total_price": "1.005", "currency": "EUR"},
     "total_price: amount '1.005' is not a whole number of EUR minor units"),
    ({"total_price": 199.0}, "total_price must be a decimal string like '19.99', not float"),
    ({"total_price": "-5.00"}, "total_price: amount '-5.00' is negative"),
    ({"currency": "US"}, "currency: currency 'US' is not a 3-letter ISO 4217 code"),
    ({"id": None}, "id is missing or not an id"),
    ({"updated_at": "yesterday"}, "X-Shopify-Triggered-At"),
])
def test_shopify_bad_orders_are_unmapped(change: dict[str, Any], reason: str) -> None:
    headers = dict(SHOPIFY_HEADERS)
    if "updated_at" in change:
        headers["X-Shopify-Triggered-At"] = "yesterday"
    result = run("shopify", shopify_order(**change), headers)
    assert result.events == ()
    assert result.provider_event_id == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert result.unmapped_reason is not None
    assert result.unmapped_reason.startswith(reason)


@pytest.mark.unit
def test_shopify_refund_counts_successful_refund_transactions_only() -> None:
    body = shopify_refund(refund_transaction("41.94"),
                          refund_transaction("10.00", status="failure"),
                          refund_transaction("5.00", kind="capture"))
    headers = {**SHOPIFY_HEADERS, "X-Shopify-Topic": "refunds/create"}
    result = run("shopify", body, headers)
    assert result.events == (DomainEvent("payment.refunded", "5820982911946154508", {
        "provider": "shopify",
        "payment_id": "5820982911946154508",
        "refund_id": "929361464",
        "invoice_id": None,
        "amount_minor": 4194,
        "currency": "USD",
        "occurred_at": datetime(2024, 5, 8, 13, 15, tzinfo=UTC),
    }),)


@pytest.mark.unit
@pytest.mark.parametrize(("transactions", "reason"), [
    ((), "refund has no successful refund transaction"),
    ((refund_transaction("1.00", status="pending"),), "refund has no successful refund"),
    ((refund_transaction("1.00"), refund_transaction("1.00", currency="CAD")),
     "refund transactions mix currencies ['CAD', 'USD']"),
])
def test_shopify_refund_without_clear_amount_is_unmapped(
    transactions: tuple[dict[str, Any], ...], reason: str
) -> None:
    headers = {**SHOPIFY_HEADERS, "X-Shopify-Topic": "refunds/create"}
    result = run("shopify", shopify_refund(*transactions), headers)
    assert result.events == ()
    assert result.unmapped_reason is not None
    assert result.unmapped_reason.startswith(reason)


@pytest.mark.unit
def test_shopify_other_topics_are_unmapped() -> None:
    headers = {**SHOPIFY_HEADERS, "X-Shopify-Topic": "orders/create"}
    assert run("shopify", shopify_order(), headers) == Normalized(
        "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", "orders/create", (),
        "no mapping for shopify topic orders/create")


# --- Standard Webhooks ----------------------------------------------------------------

SW_HEADERS = {"webhook-id": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
              "webhook-timestamp": "1715000000", "webhook-signature": "v1,not-checked-here"}


def sw_body(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": event_type, "timestamp": "2024-05-06T12:53:20.000000Z", "data": data}


def sw_payment(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"provider": "adyen", "payment_id": "PSP-883581391292", "invoice_id":
                            "INV-2024-0042", "amount_minor": 12500, "currency": "EUR",
                            "occurred_at": "2024-05-06T14:53:20+02:00"}
    data.update(changes)
    return data


@pytest.mark.unit
def test_standard_webhooks_pass_through_payment_succeeded() -> None:
    result = run("standard-webhooks", sw_body("payment.succeeded", sw_payment()), SW_HEADERS)
    assert result == Normalized(
        provider_event_id="msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
        provider_event_type="payment.succeeded",
        events=(DomainEvent("payment.succeeded", "INV-2024-0042", {
            "provider": "adyen",
            "payment_id": "PSP-883581391292",
            "invoice_id": "INV-2024-0042",
            "amount_minor": 12500,
            "currency": "EUR",
            "occurred_at": CREATED_AT,
        }),),
    )


@pytest.mark.unit
def test_standard_webhooks_nullable_fields_may_be_left_out() -> None:
    data = sw_payment()
    del data["invoice_id"]
    (event,) = run("standard-webhooks", sw_body("payment.failed", data), SW_HEADERS).events
    assert event.subject == "PSP-883581391292"
    assert event.data == {**sw_payment(invoice_id=None, occurred_at=CREATED_AT),
                          "failure_code": None, "failure_message": None}


@pytest.mark.unit
def test_standard_webhooks_sms_and_intent_subjects() -> None:
    sms = {"provider": "messagebird", "message_id": "mb-0f3a", "client_reference": None,
           "to": "+4917612345678", "status": "delivered", "error_code": None,
           "occurred_at": "2024-05-06T12:53:20Z"}
    (event,) = run("standard-webhooks", sw_body("sms.delivery_status", sms), SW_HEADERS).events
    assert event == DomainEvent("sms.delivery_status", "+4917612345678",
                                {**sms, "occurred_at": CREATED_AT})
    intent = {"invoice_id": "INV-2024-0043", "amount_minor": 800, "currency": "GBP",
              "customer_id": "C-19", "customer_email": None, "description": "May plan"}
    refused = run("standard-webhooks", sw_body("payment.intent_requested", intent), SW_HEADERS)
    assert refused.events == ()
    assert refused.unmapped_reason == (
        "standard-webhooks type 'payment.intent_requested' is not accepted from webhooks; "
        "accepted: payment.succeeded, payment.failed, payment.refunded, sms.delivery_status")


@pytest.mark.unit
@pytest.mark.parametrize(("body", "reason"), [
    (sw_body("invoice.issued", {"invoice_id": "INV-1"}),
     "standard-webhooks type 'invoice.issued' is not accepted from webhooks"),
    ({"timestamp": "2024-05-06T12:53:20Z", "data": {}},
     "standard-webhooks type None is not accepted"),
    (sw_body("payment.succeeded", sw_payment(fee_minor=30)),
     "data.fee_minor is not a field of payment.succeeded"),
    (sw_body("payment.succeeded", {k: v for k, v in sw_payment().items() if k != "currency"}),
     "data.currency: currency None is not a 3-letter"),
    (sw_body("payment.succeeded", sw_payment(amount_minor="12500")),
     "data.amount_minor is a string, expected an integer"),
    (sw_body("payment.succeeded", sw_payment(amount_minor=125.0)),
     "data.amount_minor is a float, expected an integer"),
    (sw_body("payment.succeeded", sw_payment(occurred_at="2024-05-06T12:53:20")),
     "data.occurred_at '2024-05-06T12:53:20' is not an RFC 3339 timestamp with offset"),
    (sw_body("payment.succeeded", sw_payment(occurred_at=1715000000)),
     "data.occurred_at is a number, expected an RFC 3339 timestamp"),
    ({"type": "payment.succeeded", "data": "nope"}, "data is a string, expected an object"),
])
def test_standard_webhooks_bad_data_is_unmapped_with_the_field_named(
    body: dict[str, Any], reason: str
) -> None:
    result = run("standard-webhooks", body, SW_HEADERS)
    assert result.events == ()
    assert result.provider_event_id == "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
    assert result.unmapped_reason is not None
    assert result.unmapped_reason.startswith(reason)


# --- GitHub, Slack, generic: kept raw -------------------------------------------------

@pytest.mark.unit
def test_github_is_kept_raw_with_delivery_id_and_event() -> None:
    body = {"ref": "refs/heads/main", "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
            "after": "59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5",
            "repository": {"id": 186853002, "full_name": "acme/hub"},
            "pusher": {"name": "octocat"}, "sender": {"login": "octocat", "id": 583231}}
    headers = {"x-github-event": "push",
               "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
               "X-GitHub-Hook-ID": "292430182", "X-Hub-Signature-256": "sha256=not-checked"}
    assert run("github", body, headers) == Normalized(
        "72d3162e-cc78-11e3-81ab-4c9367dc0958", "push", (),
        "no domain mapping for github deliveries")


@pytest.mark.unit
def test_slack_event_callback_uses_event_id_and_inner_type() -> None:
    body = {"token": "XXYYZZ", "team_id": "T0001", "api_app_id": "A0KRD7HC3",
            "event": {"type": "app_mention", "user": "U061F7AUR", "text": "<@U0LAN0Z89> hi",
                      "ts": "1515449522.000016", "channel": "C0LAN2Q65"},
            "type": "event_callback", "event_id": "Ev0LAN670R", "event_time": 1515449522}
    assert run("slack", body) == Normalized(
        "Ev0LAN670R", "app_mention", (), "no domain mapping for slack deliveries")


@pytest.mark.unit
def test_slack_url_verification_and_form_deliveries() -> None:
    challenge = json.dumps({"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "type": "url_verification",
                            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
    raw = challenge.encode()
    assert run("slack", raw) == Normalized(sha_id(raw), "url_verification", (),
                                           "no domain mapping for slack deliveries")
    command = urlencode({"command": "/invoice", "text": "INV-1", "team_id": "T0001"}).encode()
    assert run("slack", command, content_type=FORM).provider_event_type == "slash_command"
    action = urlencode({"payload": json.dumps({"type": "block_actions", "actions": []})}).encode()
    assert run("slack", action, content_type=f"{FORM}; charset=utf-8").provider_event_type == (
        "block_actions")


@pytest.mark.unit
def test_generic_ids_come_from_headers_else_the_body_hash() -> None:
    body = b'{"anything": true}'
    assert run("generic", body, {"Idempotency-Key": "ord-77-paid"}) == Normalized(
        "ord-77-paid", None, (), "no domain mapping for generic deliveries")
    assert run("generic", body, {"Webhook-Id": "msg_1"}).provider_event_id == "msg_1"
    assert run("generic", body, {"Idempotency-Key": "  "}).provider_event_id == sha_id(body)
    assert run("generic", body).provider_event_id == sha_id(body)


# --- Malformed bodies, redelivery, config errors --------------------------------------

DEEP_ARRAY = b"[" * 10_000 + b"]" * 10_000
DEEP_OBJECT = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
MALFORMED = {
    "non-utf8": (b'{"id": "evt_\xff\xfe"}', "body is not UTF-8"),
    "not-json": (b"id=evt_1&type=payment_intent.succeeded", "body is not JSON"),
    "empty": (b"", "body is not JSON"),
    "array": (b'[{"id": "evt_1"}]', "body is JSON an array, not an object"),
    "string": (b'"evt_1"', "body is JSON a string, not an object"),
    "deep-array": (DEEP_ARRAY, "body is not JSON"),
    "deep-object": (DEEP_OBJECT, "body is not JSON"),
}


@pytest.mark.unit
@pytest.mark.parametrize("normalizer", ["stripe", "standard-webhooks", "shopify"])
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_json_bodies_are_unmapped_never_raised(normalizer: str, case: str) -> None:
    body, reason = MALFORMED[case]
    result = run(normalizer, body, {"X-Shopify-Topic": "orders/paid"})
    assert result.events == ()
    assert result.provider_event_id == sha_id(body)
    assert result.unmapped_reason is not None
    assert result.unmapped_reason.startswith(reason)


@pytest.mark.unit
@pytest.mark.parametrize("normalizer", NORMALIZERS)
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_every_normalizer_survives_malformed_bodies(normalizer: str, case: str) -> None:
    body, _ = MALFORMED[case]
    for content_type in ("application/json", FORM, None):
        result = run(normalizer, body, content_type=content_type)
        assert result.events == ()
        assert result.unmapped_reason
        assert result.provider_event_id == sha_id(body)


@pytest.mark.unit
@pytest.mark.parametrize(("normalizer", "body", "headers"), [
    ("stripe", stripe_event("payment_intent.succeeded", payment_intent()), {}),
    ("twilio", twilio_callback(), {}),
    ("shopify", shopify_order(), SHOPIFY_HEADERS),
    ("standard-webhooks", sw_body("payment.succeeded", sw_payment()), SW_HEADERS),
    ("github", {"zen": "Design for failure."},
     {"X-GitHub-Delivery": "d-1", "X-GitHub-Event": "ping"}),
    ("slack", {"type": "event_callback", "event_id": "Ev1", "event": {"type": "message"}}, {}),
    ("generic", b"raw bytes, no id header", {}),
    ("stripe", b"not json, so the body hash", {}),
])
def test_redelivery_gives_the_same_result(
    normalizer: str, body: bytes | dict[str, Any], headers: dict[str, str]
) -> None:
    content_type = FORM if normalizer == "twilio" else "application/json"
    first = run(normalizer, copy.deepcopy(body), headers, content_type)
    second = run(normalizer, copy.deepcopy(body), headers, content_type)
    assert first == second
    assert first.provider_event_id


@pytest.mark.unit
def test_body_hash_ids_differ_for_different_bytes() -> None:
    assert run("generic", b"a").provider_event_id != run("generic", b"b").provider_event_id


@pytest.mark.unit
def test_header_names_are_case_insensitive() -> None:
    body = sw_body("payment.succeeded", sw_payment())
    for name in ("webhook-id", "Webhook-Id", "WEBHOOK-ID"):
        result = run("standard-webhooks", body, {name: "msg_case"})
        assert result.provider_event_id == "msg_case"
    assert run("shopify", shopify_order(), {k.upper(): v for k, v in SHOPIFY_HEADERS.items()}) == (
        run("shopify", shopify_order(), SHOPIFY_HEADERS))


@pytest.mark.unit
def test_unknown_normalizer_is_a_config_error() -> None:
    with pytest.raises(ValueError, match=r"unknown normalizer 'paypal'; known: stripe, github"):
        normalize("paypal", headers={}, body=b"{}", content_type=None)


@pytest.mark.unit
def test_normalizers_listed() -> None:
    assert NORMALIZERS == ("stripe", "github", "standard-webhooks", "twilio", "shopify", "slack",
                           "generic")


@pytest.mark.unit
def test_a_bug_in_a_normalizer_keeps_the_delivery_raw(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(delivery: object) -> Normalized:
        raise KeyError("oops")

    monkeypatch.setitem(normalizers._BY_NAME, "stripe", broken)
    with caplog.at_level(logging.ERROR, logger="hub.normalizers"):
        result = run("stripe", b"{}")
    assert result == Normalized(sha_id(b"{}"), None, (), "normalizer stripe failed: KeyError")
    assert "normalizer stripe failed on a delivery" in caplog.text


# --- Money ----------------------------------------------------------------------------

@pytest.mark.unit
@pytest.mark.parametrize(("amount", "currency", "minor"), [
    ("199.00", "USD", 19900), ("19.9", "eur", 1990), ("0.01", "EUR", 1), ("0", "EUR", 0),
    ("007.50", "GBP", 750), ("1.000", "EUR", 100), (5, "USD", 500), (0, "USD", 0),
    ("1500", "JPY", 1500), ("1500.00", "JPY", 1500), (1500, "JPY", 1500), ("50000", "KRW", 50000),
    ("12.345", "KWD", 12345), ("0.5", "BHD", 500), ("1", "JOD", 1000), ("2.25", "OMR", 2250),
    ("3.1", "TND", 3100), ("92233720368547758.07", "USD", 2**63 - 1),
])
def test_to_minor_units(amount: str | int, currency: str, minor: int) -> None:
    assert to_minor_units(amount, currency) == minor


@pytest.mark.unit
@pytest.mark.parametrize(("amount", "currency", "message"), [
    ("1.005", "EUR", "amount '1.005' is not a whole number of EUR minor units (EUR has 2"),
    ("100.5", "JPY", "amount '100.5' is not a whole number of JPY minor units (JPY has 0"),
    ("1.2345", "KWD", "(KWD has 3 decimal places)"),
    ("-1.00", "EUR", "amount '-1.00' is negative"),
    (-1, "EUR", "amount is negative"),
    ("abc", "EUR", "amount 'abc' is not a plain decimal number"),
    ("", "EUR", "amount '' is not a plain decimal number"),
    ("1e3", "USD", "is not a plain decimal number"),
    (" 1.00", "USD", "is not a plain decimal number"),
    ("1,00", "EUR", "is not a plain decimal number"),
    ("1.", "USD", "is not a plain decimal number"),
    (".5", "USD", "is not a plain decimal number"),
    ("+1", "USD", "is not a plain decimal number"),
    ("NaN", "USD", "is not a plain decimal number"),
    ("\u0661\u0662", "USD", "is not a plain decimal number"),
    ("9" * 41, "USD", "is not a plain decimal number"),
    ("92233720368547758.08", "USD", "is too large"),
    (2**63, "JPY", "amount is too large for JPY"),
    pytest.param(10**5000, "JPY", "amount is too large for JPY", id="5000-digit-int"),
    (1.5, "USD", "must be a decimal string or an int, not float (floats are not exact)"),
    (True, "USD", "not bool"),
    ("1.00", "EURO", "currency 'EURO' is not a 3-letter ISO 4217 code"),
    ("1.00", "E1R", "currency 'E1R' is not a 3-letter"),
    ("1.00", "", "currency '' is not a 3-letter"),
    ("1.00", "ÉUR", "currency 'ÉUR' is not a 3-letter"),
])
def test_to_minor_units_rejects(amount: Any, currency: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        to_minor_units(amount, currency)
    assert message in str(caught.value)


# --- Never raises ---------------------------------------------------------------------

HEADER_NAMES = st.sampled_from([
    "webhook-id", "X-GitHub-Delivery", "X-GitHub-Event", "X-Shopify-Topic",
    "X-Shopify-Webhook-Id", "X-Shopify-Event-Id", "X-Shopify-Triggered-At", "Idempotency-Key",
    "I-Twilio-Idempotency-Token", "Content-Type",
]) | st.text(max_size=20)
HEADER_VALUES = st.sampled_from(["orders/paid", "refunds/create", "push", "", " ",
                                 "2024-05-06T12:53:20Z", "0001-01-01T00:00:00+01:00"]) | st.text()
CONTENT_TYPES = st.sampled_from([None, "application/json", FORM, f"{FORM}; charset=utf-8", ""])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=3),
    max_leaves=8,
)
EXAMPLES: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    ("stripe", stripe_event("payment_intent.succeeded", payment_intent()), {}),
    ("stripe", stripe_event("payment_intent.payment_failed",
                            payment_intent(last_payment_error={"code": "x", "message": "y"})), {}),
    ("stripe", stripe_event("charge.refunded", charge(refunds=refund_list(("re_1", 5)))), {}),
    ("shopify", shopify_order(), SHOPIFY_HEADERS),
    ("shopify", shopify_refund(refund_transaction("1.00")),
     {**SHOPIFY_HEADERS, "X-Shopify-Topic": "refunds/create"}),
    ("standard-webhooks", sw_body("payment.succeeded", sw_payment()), SW_HEADERS),
    ("slack", {"type": "event_callback", "event_id": "Ev1", "event": {"type": "message"}}, {}),
]
FUZZ = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])


def assert_kept(result: Normalized) -> None:
    assert isinstance(result, Normalized)
    assert isinstance(result.provider_event_id, str) and result.provider_event_id
    if not result.events:
        assert result.unmapped_reason
        assert not result.unmapped_reason.startswith("normalizer ")  # the safety net is for bugs


@pytest.mark.unit
@FUZZ
@given(normalizer=st.sampled_from(NORMALIZERS), body=st.binary(max_size=512),
       headers=st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=6),
       content_type=CONTENT_TYPES)
def test_random_deliveries_never_raise(
    normalizer: str, body: bytes, headers: dict[str, str], content_type: str | None
) -> None:
    assert_kept(normalize(normalizer, headers=headers, body=body, content_type=content_type,
                          received_at=RECEIVED))


@pytest.mark.unit
@FUZZ
@given(example=st.sampled_from(EXAMPLES), data=st.data())
def test_realistic_bodies_with_a_random_field_never_raise(
    example: tuple[str, dict[str, Any], dict[str, str]], data: st.DataObject
) -> None:
    normalizer, body, headers = example
    body = copy.deepcopy(body)
    node: Any = body
    while True:  # walk down to a random object, then replace or add one of its fields
        keys = sorted(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = data.draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, dict | list) and child and data.draw(st.booleans()):
            node = child
            continue
        node[key] = data.draw(JSON_VALUES)
        break
    raw = json.dumps(body).encode()
    assert_kept(normalize(normalizer, headers=headers, body=raw, content_type="application/json",
                          received_at=RECEIVED))


@pytest.mark.unit
@FUZZ
@given(fields=st.dictionaries(
    st.sampled_from(["MessageSid", "MessageStatus", "To", "ErrorCode", "ClientReference",
                     "SmsStatus"]) | st.text(max_size=8),
    st.sampled_from(["SM1", "delivered", "received", "", "+4917612345678"]) | st.text(),
    max_size=6,
))
def test_random_twilio_forms_never_raise(fields: dict[str, str]) -> None:
    body = urlencode(fields).encode()
    assert_kept(normalize("twilio", headers={}, body=body, content_type=FORM,
                          received_at=RECEIVED))
