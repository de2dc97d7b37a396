"""Legacy CSV rows ⇒ hub events: the columns of each import type, the cleaning of a whole
row, and the event it becomes (with an id derived from the legacy id). Pure: no I/O.

- invoices: invoice_id, customer_id, amount, currency, issued_at; optional due_at
  ⇒ invoice.issued v1
- payments: payment_id, amount, currency, paid_at; optional invoice_id
  ⇒ payment.succeeded v2 with provider "legacy" (the legacy books count as confirmed)
- customers: customer_id, name; optional email, phone, country ⇒ customer.imported v1

Header names are matched case-insensitively, spaces and dashes read as `_`.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hub.envelope import Event, canonical_json, sha256_hex
from hub.ids import derived_id
from hub.legacy import cleaning as clean

__all__ = ["COLUMNS", "SOURCE", "TYPES", "Clean", "Reject", "clean_row", "header_map", "to_event"]

SOURCE = "/legacy/import"
TYPES = ("invoices", "payments", "customers")
# import type ⇒ (required columns, optional columns, event type, schema version)
COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str, int]] = {
    "invoices": (("invoice_id", "customer_id", "amount", "currency", "issued_at"), ("due_at",),
                 "invoice.issued", 1),
    "payments": (("payment_id", "amount", "currency", "paid_at"), ("invoice_id",),
                 "payment.succeeded", 2),
    "customers": (("customer_id", "name"), ("email", "phone", "country"), "customer.imported", 1),
}
_FUTURE_SLACK = timedelta(days=1)


@dataclass(frozen=True)
class Clean:
    line: int
    legacy_id: str
    event_type: str
    version: int
    subject: str
    time: datetime | None  # when it happened; None: not known (customers)
    data: dict[str, Any]


@dataclass(frozen=True)
class Reject:
    line: int
    reason: str
    raw: Mapping[str, str]


def header_map(kind: str, header: Sequence[str]) -> dict[str, str]:
    """Our column name ⇒ the file's header name; ValueError naming missing columns."""
    required, optional, _, _ = COLUMNS[kind]
    found = {re.sub(r"[\s\-]+", "_", h.strip().lower()): h for h in header}
    missing = [c for c in required if c not in found]
    if missing:
        raise ValueError(f"missing column(s) {', '.join(missing)} for --type {kind}; "
                         f"the file has: {', '.join(h.strip() for h in header) or 'no header'}")
    return {c: found[c] for c in (*required, *optional) if c in found}


def clean_row(kind: str, line: int, raw: Mapping[str, str], columns: Mapping[str, str],
              now: datetime) -> Clean | Reject:
    """The cleaned row, or why it is rejected (the first problem found)."""
    def get(col: str) -> str | None:
        return raw.get(columns[col]) if col in columns else None

    try:
        if kind == "invoices":
            return _invoice(line, get, now)
        if kind == "payments":
            return _payment(line, get, now)
        return _customer(line, get)
    except clean.Invalid as exc:
        return Reject(line, str(exc), raw)


def _not_future(when: datetime, what: str, now: datetime) -> datetime:
    if when > now + _FUTURE_SLACK:
        raise clean.Invalid(f"{what} {when.date().isoformat()} is in the future")
    return when


def _invoice(line: int, get: Any, now: datetime) -> Clean:
    inv = clean.identifier(get("invoice_id"), "invoice_id")
    cur = clean.currency(get("currency"))
    issued = _not_future(clean.timestamp(get("issued_at"), "issued_at"), "issued_at", now)
    due = clean.timestamp(get("due_at"), "due_at") if (get("due_at") or "").strip() else None
    if due is not None and due < issued:
        raise clean.Invalid(f"due_at {due.date().isoformat()} is before issued_at "
                            f"{issued.date().isoformat()}")
    data = {"invoice_id": inv, "customer_id": clean.identifier(get("customer_id"), "customer_id"),
            "amount_minor": clean.amount_minor(get("amount"), cur), "currency": cur,
            "issued_at": issued, "due_at": due, "lines": []}
    return Clean(line, inv, "invoice.issued", 1, inv, issued, data)


def _payment(line: int, get: Any, now: datetime) -> Clean:
    pid = clean.identifier(get("payment_id"), "payment_id")
    cur = clean.currency(get("currency"))
    amount = clean.amount_minor(get("amount"), cur)
    if amount == 0:
        raise clean.Invalid("amount is 0; a payment moves money")
    paid = _not_future(clean.timestamp(get("paid_at"), "paid_at"), "paid_at", now)
    inv = clean.identifier(get("invoice_id"), "invoice_id") if (get("invoice_id") or "").strip() \
        else None
    data = {"provider": "legacy", "payment_id": pid, "invoice_id": inv, "amount_minor": amount,
            "currency": cur, "fee_minor": None, "occurred_at": paid}
    return Clean(line, pid, "payment.succeeded", 2, inv or pid, paid, data)


def _customer(line: int, get: Any) -> Clean:
    cid = clean.identifier(get("customer_id"), "customer_id")
    data = {"customer_id": cid, "name": clean.name(get("name")), "email": clean.email(get("email")),
            "phone": clean.phone(get("phone")), "country": clean.country(get("country")),
            "legacy_system": "legacy"}
    return Clean(line, cid, "customer.imported", 1, cid, None, data)


def to_event(kind: str, row: Clean, now: datetime) -> Event:
    """The event of a clean row; its id depends only on (type, legacy id)."""
    eid = derived_id("legacy", kind, row.legacy_id)
    time = row.time or now
    return Event(id=eid, source=SOURCE, type=row.event_type, time=time,
                 schema_version=row.version, correlation_id=eid,
                 payload_sha256=sha256_hex(canonical_json(row.data)), data=row.data,
                 subject=row.subject)
