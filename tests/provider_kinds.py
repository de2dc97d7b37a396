"""Test helpers for the SMS, accounting and e-mail integrations: their events, their config
against the simulators' development credentials, and `hub dlq redrive` run in-process."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from hub.cli import main
from hub.envelope import Event, canonical_json, sha256_hex, utcnow
from hub.ids import uuid7
from hub.simulators.config import (
    DEV_ACCOUNTING_TOKEN,
    DEV_POSTMARK_TOKEN,
    DEV_STRIPE_API_KEY,
    DEV_TWILIO_ACCOUNT_SID,
    DEV_TWILIO_AUTH_TOKEN,
)

SENDER_NUMBER = "+15550001111"
SENDER_EMAIL = "billing@example.com"
RECEIPTS_TO = "receipts@example.com"
OCCURRED = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)

CREDENTIALS = {
    "payments": f'{{ api_key = "{DEV_STRIPE_API_KEY}" }}',
    "sms": f'{{ account_sid = "{DEV_TWILIO_ACCOUNT_SID}", auth_token = "{DEV_TWILIO_AUTH_TOKEN}" }}',
    "accounting": f'{{ token = "{DEV_ACCOUNTING_TOKEN}" }}',
    "email": f'{{ token = "{DEV_POSTMARK_TOKEN}" }}',
}
OPTIONS = {
    "payments": "",
    "sms": f'options = {{ from = "{SENDER_NUMBER}" }}',
    "accounting": "",
    "email": f'options = {{ from = "{SENDER_EMAIL}", receipt_to = "{RECEIPTS_TO}" }}',
}
ROUTES = {
    "payments": ["payment.intent_requested", "payment.refund_requested"],
    "sms": ["sms.requested", "sms.delivery_status"],
    "accounting": ["invoice.issued", "invoice.post_requested", "payment.succeeded"],
    "email": ["email.requested", "payment.succeeded", "payment.intent_requested"],
}


def kind_config(kind: str, url: str, *, attempts: int = 5, timeout_s: float = 5.0,
                options: str | None = None, credentials: str | None = None) -> str:
    """A config with one integration named after its kind, every type it handles routed."""
    return "\n".join([
        "[kafka]", "partitions = 3", "session_timeout_ms = 6000", "commit_interval_ms = 200", "",
        f"[integrations.{kind}]", f'kind = "{kind}"', f'base_url = "{url}"',
        f"credentials = {credentials or CREDENTIALS[kind]}", "concurrency = 16", "rate_per_s = 1000",
        "burst = 200", f"timeout_s = {timeout_s}",
        f'retry = {{ attempts = {attempts}, base = 0.05, cap = 2.0, topics = ["1s", "2s"] }}',
        OPTIONS[kind] if options is None else options, "",
        "[routes]", *(f'"{t}" = ["{kind}"]' for t in ROUTES[kind]), "",
    ])


def event(type_: str, data: dict[str, Any], subject: str, *, version: int = 1) -> Event:
    return Event(id=uuid7(), source="/tests", type=type_, time=utcnow(), schema_version=version,
                 correlation_id=uuid7(), payload_sha256=sha256_hex(canonical_json(data)),
                 data=data, subject=subject)


def sms_requested(to: str, invoice: str = "INV-1", *, body: str | None = None,
                  template: str = "invoice_issued") -> Event:
    return event("sms.requested", {"to": to, "template": template, "params": {"invoice": invoice},
                                   "body": body}, to)


def delivery_status(message_id: str, status: str, to: str, error_code: str | None = None) -> Event:
    return event("sms.delivery_status", {
        "provider": "twilio", "message_id": message_id, "client_reference": None, "to": to,
        "status": status, "error_code": error_code, "occurred_at": OCCURRED}, to)


def invoice_issued(invoice_id: str, amount: int = 4200, currency: str = "EUR") -> Event:
    return event("invoice.issued", {
        "invoice_id": invoice_id, "customer_id": "CUS-1", "amount_minor": amount,
        "currency": currency, "issued_at": OCCURRED, "due_at": None,
        "lines": [{"description": "Plan", "quantity": 1, "unit_amount_minor": amount}]}, invoice_id)


def post_requested(invoice_id: str, amount: int = 4200, currency: str = "EUR") -> Event:
    return event("invoice.post_requested", {"invoice_id": invoice_id, "customer_id": "CUS-1",
                                            "amount_minor": amount, "currency": currency},
                 invoice_id)


def payment_succeeded(payment_id: str, invoice_id: str | None, amount: int = 4200) -> Event:
    return event("payment.succeeded", {
        "provider": "stripe", "payment_id": payment_id, "invoice_id": invoice_id,
        "amount_minor": amount, "currency": "EUR", "occurred_at": OCCURRED},
        invoice_id or payment_id)


def intent_requested(invoice_id: str, email: str | None, amount: int = 4200) -> Event:
    return event("payment.intent_requested", {
        "invoice_id": invoice_id, "amount_minor": amount, "currency": "EUR",
        "customer_id": "CUS-1", "customer_email": email, "description": None}, invoice_id)


def email_requested(to: str, template: str = "welcome") -> Event:
    return event("email.requested", {"to": to, "template": template, "params": {"name": "Ada"},
                                     "subject_line": None}, to)


async def redrive(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """`hub dlq redrive ...` in a thread (it runs its own event loop); its stdout.
    HUB_* must already point at the test's config, servers, prefix and schema."""
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["dlq", "redrive", "--by", "tests", *argv])
    out = capsys.readouterr().out
    assert code == 0, out
    return out
