"""What the audit log records of one event: its kind, the ids it concerns, a summary.

Pure functions of the event; no I/O. Every event on the audited topics gets a row:
webhook deliveries, payment and invoice events, SMS and e-mail requests and statuses
(external interactions), integration outcomes (attempts and their results), customer
imports and dead-letter redrives.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.envelope import Event

__all__ = ["REF_FIELDS", "kind_of", "refs_of", "summary_of"]

# Data fields naming something a person may look up with `hub audit show`.
REF_FIELDS: tuple[str, ...] = (
    "invoice_id", "payment_id", "refund_id", "customer_id", "order_id", "to", "message_id",
    "provider_event_id", "provider_reference", "legacy_id", "email", "phone",
)


def kind_of(event: Event) -> str:
    if event.type == "webhook.received":
        return "webhook"
    if event.type == "integration.outcome":
        return "attempt" if event.data.get("status") == "attempted" else "outcome"
    if event.type == "dlq.redriven":
        return "redrive"
    return "event"


def refs_of(event: Event) -> tuple[str, ...]:
    """Ids the event concerns besides its subject, in REF_FIELDS order, without repeats."""
    out: list[str] = []
    data = event.data
    for name in REF_FIELDS:
        value = data.get(name)
        if isinstance(value, str) and value and value != event.subject and value not in out:
            out.append(value)
    return tuple(out)


def _money(data: Mapping[str, Any]) -> str:
    amount, currency = data.get("amount_minor"), data.get("currency")
    return f" {amount} {currency} (minor units)" if amount is not None else ""


def summary_of(event: Event) -> str:
    """One line a person can read, built only from the event (so it is hashable)."""
    d = event.data
    t = event.type
    if t == "webhook.received":
        mapped = ", ".join(d.get("mapped_types") or []) or "unmapped"
        return (f"{d['provider']} webhook {d.get('provider_event_type') or '-'} "
                f"{d['provider_event_id']} ⇒ {mapped}")
    if t == "integration.outcome":
        ref = f" ref {d['provider_reference']}" if d.get("provider_reference") else ""
        err = f" {d['error_class']}: {d.get('error_message') or ''}".rstrip() \
            if d.get("error_class") else ""
        return (f"{d['integration']} {d['action']} for {d['event_type']} attempt {d['attempt']}: "
                f"{d['status']}{ref}{_money(d)}{err}")
    if t == "dlq.redriven":
        return (f"redrive of {d.get('event_type')} {d.get('event_id')} from {d.get('dlq_topic')} "
                f"by {d.get('redriven_by')}: {d.get('reason') or '-'}")
    who = d.get("provider") or event.source
    if t.startswith("payment.") or t.startswith("invoice."):
        ids = " ".join(f"{k}={d[k]}" for k in ("invoice_id", "payment_id", "refund_id")
                       if d.get(k))
        return f"{t} by {who}{_money(d)} {ids}".rstrip()
    if t.startswith("sms."):
        return f"{t} to {d.get('to') or '-'} {d.get('status') or d.get('template') or ''}".rstrip()
    return f"{t} from {event.source}"
