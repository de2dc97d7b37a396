"""A synthetic, realistic event history with the reconciliation status each invoice must
end up with: for tests, `make bench` and demos. Pure (no I/O) and seeded.

Scenarios mix full, split, partial, over- and double payments, refunds, postings that
succeeded, failed or disagree, payments in another currency, payments seen only through
a client redirect, stale invoices and payments without an invoice. Events of a chunk of
scenarios are shuffled together (a payment often arrives before its invoice, a refund
before its payment) and some are repeated later with the same id (duplicates).
"""
from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hub.envelope import Event, canonical_json, sha256_hex
from projections.reconciliation_rules import Status

__all__ = ["KINDS", "HistoryGen"]

# scenario ⇒ (weight, expected status)
KINDS: dict[str, tuple[int, Status]] = {
    "matched": (30, "matched"), "split": (8, "matched"), "over_refunded": (3, "matched"),
    "unpaid": (8, "unpaid"), "redirect_only": (3, "unpaid"), "stale": (4, "stale"),
    "partial": (8, "partially_paid"), "partial_refund": (3, "partially_paid"),
    "overpaid": (3, "overpaid"), "double": (3, "duplicate_payment"),
    "not_posted": (6, "paid_not_posted"), "posted_unconfirmed": (3, "posted_not_paid"),
    "amount_mismatch": (3, "amount_mismatch"), "currency_mismatch": (3, "currency_mismatch"),
    "refunded": (3, "refunded"), "orphan": (3, "orphan_payment"),
    "invoice_misposted": (1, "amount_mismatch"),
}
_CURRENCIES = ("USD", "EUR", "GBP", "JPY")


@dataclass
class HistoryGen:
    """`chunks()` yields lists of events; `expected` fills with subject ⇒ status."""

    seed: int
    now: datetime
    run: str = "h"
    duplicate_rate: float = 0.04
    expected: dict[str, Status] = field(default_factory=dict)
    _rng: random.Random = field(init=False, repr=False)
    _n: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        kinds = list(KINDS)
        self._kinds, self._weights = kinds, [KINDS[k][0] for k in kinds]

    def chunks(self, scenarios: int, per_chunk: int = 250) -> Iterator[list[Event]]:
        done = 0
        while done < scenarios:
            events: list[Event] = []
            for _ in range(min(per_chunk, scenarios - done)):
                events += self.scenario(self._rng.choices(self._kinds, self._weights)[0])
                done += 1
            self._rng.shuffle(events)
            dups = [e for e in events if self._rng.random() < self.duplicate_rate]
            for e in dups:
                events.insert(self._rng.randrange(len(events) + 1), e)
            yield events

    # -- building blocks ------------------------------------------------------------------

    def _id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _event(self, type_: str, subject: str, data: dict[str, Any], source: str,
               time: datetime, version: int = 1) -> Event:
        eid = self._id()
        return Event(id=eid, source=source, type=type_, time=time, schema_version=version,
                     correlation_id=eid, payload_sha256=sha256_hex(canonical_json(data)),
                     data=data, subject=subject)

    def invoice(self, inv: str, amount: int, cur: str, issued: datetime) -> Event:
        data = {"invoice_id": inv, "customer_id": f"cus_{self._rng.randrange(5000)}",
                "amount_minor": amount, "currency": cur, "issued_at": issued,
                "due_at": issued + timedelta(days=14), "lines": []}
        return self._event("invoice.issued", inv, data, "/services/billing", issued)

    def payment(self, inv: str | None, amount: int, cur: str, at: datetime,
                source: str = "/providers/stripe") -> Event:
        pid = f"pi_{self.run}{self._n}_{self._rng.getrandbits(32):x}"
        data: dict[str, Any] = {"provider": "stripe", "payment_id": pid, "invoice_id": inv,
                                "amount_minor": amount, "currency": cur, "occurred_at": at}
        version = 1
        if self._rng.random() < 0.5:
            data["fee_minor"] = amount // 40
            version = 2
        return self._event("payment.succeeded", inv or pid, data, source, at, version)

    def refund(self, pay: Event, amount: int, at: datetime) -> Event:
        d = pay.data
        data = {"provider": d["provider"], "payment_id": d["payment_id"],
                "refund_id": f"re_{self._rng.getrandbits(40):x}", "invoice_id": d["invoice_id"],
                "amount_minor": amount, "currency": d["currency"], "occurred_at": at}
        return self._event("payment.refunded", pay.subject or "", data, "/providers/stripe", at)

    def outcome(self, of: Event, status: str, amount: int | None, at: datetime,
                integration: str = "accounting", attempt: int = 1,
                action: str = "post_payment") -> Event:
        data = {"group": f"hub.{integration}", "integration": integration, "action": action,
                "event_id": of.id, "event_type": of.type,
                "status": status, "attempt": attempt, "provider": "xero",
                "provider_reference": f"xj_{self._rng.getrandbits(32):x}" if status == "succeeded"
                else None, "idempotency_key": of.id, "error_class": None, "error_message": None,
                "retriable": None, "request_sha256": None, "amount_minor": amount,
                "currency": of.data.get("currency"), "occurred_at": at}
        if status in ("failed", "dead_lettered"):
            data.update(error_class="ProviderUnavailable", error_message="503 from provider",
                        retriable=status == "failed")
        return self._event("integration.outcome", of.subject or "", data,
                           f"/workers/{integration}", at)

    def invoice_posted(self, invoice: Event, at: datetime, amount: int | None = None
                       ) -> list[Event]:
        """The upstream's request to post the invoice, and the accounting worker's outcome."""
        d = invoice.data
        value = d["amount_minor"] if amount is None else amount
        ask = self._event("invoice.post_requested", d["invoice_id"], {
            "invoice_id": d["invoice_id"], "customer_id": d["customer_id"],
            "amount_minor": d["amount_minor"], "currency": d["currency"]}, "/services/billing", at)
        return [ask, self.outcome(ask, "succeeded", value, at + timedelta(seconds=2),
                                  action="post_invoice")]

    def posted(self, pay: Event, at: datetime, amount: int | None = None) -> list[Event]:
        """An attempt, then a succeeded posting of `pay` (its amount unless given)."""
        value = pay.data["amount_minor"] if amount is None else amount
        return [self.outcome(pay, "attempted", value, at),
                self.outcome(pay, "succeeded", value, at + timedelta(seconds=1))]

    def scenario(self, kind: str) -> list[Event]:
        """Events of one scenario of `kind` (a key of KINDS) for a new invoice."""
        self._n += 1
        rng = self._rng
        inv = f"INV-{self.run}-{self._n:07d}"
        cur = rng.choice(_CURRENCIES)
        amount = rng.randrange(500, 500_000)
        issued = self.now - timedelta(hours=rng.randrange(1, 48))
        at = issued + timedelta(minutes=rng.randrange(1, 600))
        self.expected[inv] = KINDS[kind][1]
        out = [self.invoice(inv, amount, cur, issued)]
        if kind == "invoice_misposted":
            out += self.invoice_posted(out[0], issued, amount + 1)
            kind = "matched"
        elif rng.random() < 0.3:
            out += self.invoice_posted(out[0], issued)
        if kind in ("matched", "not_posted", "amount_mismatch", "refunded", "partial_refund"):
            pay = self.payment(inv, amount, cur, at)
            out.append(pay)
            if kind == "matched":
                out += self.posted(pay, at)
            elif kind == "not_posted":
                out += [self.outcome(pay, "attempted", amount, at),
                        self.outcome(pay, rng.choice(("failed", "dead_lettered")), amount, at)]
            elif kind == "amount_mismatch":
                out += self.posted(pay, at, amount + rng.randrange(1, 100))
            else:
                out += self.posted(pay, at)
                back = amount if kind == "refunded" else amount * 3 // 10
                out.append(self.refund(pay, back, at + timedelta(days=1)))
        elif kind in ("split", "partial", "double", "overpaid"):
            parts = {"split": [amount // 3, amount - amount // 3], "partial": [amount * 2 // 5],
                     "double": [amount, amount], "overpaid": [amount * 3 // 2]}[kind]
            for i, part in enumerate(parts):
                pay = self.payment(inv, part, cur, at + timedelta(hours=i))
                out += [pay, *self.posted(pay, at + timedelta(hours=i))]
        elif kind == "over_refunded":
            pay = self.payment(inv, amount + 1000, cur, at)
            out += [pay, *self.posted(pay, at), self.refund(pay, 1000, at + timedelta(hours=2))]
        elif kind == "redirect_only":
            out.append(self.payment(inv, amount, cur, at, source="/services/checkout"))
        elif kind == "posted_unconfirmed":
            claim = self.payment(inv, amount, cur, at, source="/services/checkout")
            out += [claim, *self.posted(claim, at)]
        elif kind == "currency_mismatch":
            other = rng.choice([c for c in _CURRENCIES if c != cur])
            pay = self.payment(inv, amount, other, at)
            out += [pay, *self.posted(pay, at)]
        elif kind == "stale":
            old = self.now - timedelta(days=90)
            out = [self.invoice(inv, amount, cur, old)]
        elif kind == "orphan":
            del self.expected[inv]
            ghost = None if rng.random() < 0.5 else f"INV-{self.run}-ghost-{self._n}"
            pay = self.payment(ghost, amount, cur, at)
            self.expected[pay.subject or ""] = "orphan_payment"
            out = [pay, *self.posted(pay, at)]
        elif kind != "unpaid":
            raise ValueError(f"unknown scenario {kind!r}; known: {', '.join(KINDS)}")
        return out
