"""Reconciliation rules: what counts as paid or posted, and the status of one invoice.

Pure functions of the facts the reconciliation view keeps; no I/O. Money is integer
minor units. `status` applies the rules in this order and returns the first that holds
(the precedence puts what needs a person's attention first):

 1. orphan_payment     money moved (payment or refund) but no invoice was issued
 2. posted_not_paid    accounting has a payment posted, the provider confirmed none
 3. currency_mismatch  a payment, refund or posting in another currency than the invoice
 4. duplicate_payment  two or more payments, one of them alone covers the invoice, and
                       the net paid exceeds it (the customer paid twice)
 5. overpaid           net paid (payments − refunds) exceeds the invoice
 6. amount_mismatch    payments posted to accounting ≠ captured by the provider (gross),
                       or the invoice posted to accounting with another amount (or twice)
 7. refunded           payments were made and all of it was refunded
 8. paid_not_posted    net paid equals the invoice, nothing posted to accounting
 9. stale              still pending (unpaid or partly paid) longer than `stale_after`
                       since the due date (the issue date when there is none)
10. partially_paid     0 < net paid < invoice
11. unpaid             nothing paid (an invoice of 0 is matched, not unpaid)
12. matched            net paid equals the invoice and postings equal payments

Drift is every status but matched.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

__all__ = [
    "ACCOUNTING_INTEGRATIONS", "CONFIRMING_SOURCES", "STATUSES", "Facts", "Rules", "Status",
    "confirms_payment", "is_drift", "posting_kind", "status",
]

Status = Literal[
    "orphan_payment", "posted_not_paid", "currency_mismatch", "duplicate_payment", "overpaid",
    "amount_mismatch", "refunded", "paid_not_posted", "stale", "partially_paid", "unpaid",
    "matched",
]
STATUSES: Final[tuple[Status, ...]] = (
    "orphan_payment", "posted_not_paid", "currency_mismatch", "duplicate_payment", "overpaid",
    "amount_mismatch", "refunded", "paid_not_posted", "stale", "partially_paid", "unpaid",
    "matched",
)

# Event sources whose payment.succeeded is proof of payment: provider webhooks (the
# ingress writes `/providers/<provider>`) and the legacy system's own books, imported
# by `hub import` (`/legacy/...`). A client redirect (`/services/...`) never is.
CONFIRMING_SOURCES: Final[tuple[str, ...]] = ("/providers/", "/legacy/")
# Integration names whose succeeded outcomes are postings to accounting.
ACCOUNTING_INTEGRATIONS: Final[frozenset[str]] = frozenset({"accounting", "xero", "quickbooks"})


def confirms_payment(source: str) -> bool:
    """Whether a payment.succeeded from `source` counts as paid."""
    return source.startswith(CONFIRMING_SOURCES)


def posting_kind(integration: str, status: str, event_type: str,
                 accounting: frozenset[str] = ACCOUNTING_INTEGRATIONS) -> str | None:
    """`payment` or `invoice` for a succeeded accounting outcome, else None. Postings of
    payments are what `paid_not_posted` and `posted_not_paid` compare with confirmed
    payments; the invoice's own posting is checked against the invoiced amount."""
    if status != "succeeded" or integration not in accounting:
        return None
    if event_type == "payment.succeeded":
        return "payment"
    if event_type == "invoice.post_requested":
        return "invoice"
    return None


@dataclass(frozen=True, slots=True)
class Facts:
    """What the view knows of one invoice (or, without an invoice, one payment)."""

    subject: str
    has_invoice: bool
    invoiced_minor: int = 0
    currency: str | None = None
    issued_at: datetime | None = None
    due_at: datetime | None = None
    payments: int = 0
    paid_minor: int = 0
    largest_payment_minor: int = 0
    refunds: int = 0
    refunded_minor: int = 0
    postings: int = 0  # payments posted to accounting
    posted_minor: int = 0
    invoice_postings: int = 0  # the invoice posted to accounting
    invoice_posted_minor: int = 0
    foreign_currency: bool = False

    @property
    def net_paid_minor(self) -> int:
        return self.paid_minor - self.refunded_minor


@dataclass(frozen=True, slots=True)
class Rules:
    stale_after: timedelta = timedelta(days=30)


_DEFAULT = Rules()


def status(f: Facts, now: datetime, rules: Rules = _DEFAULT) -> Status:
    """The first status of the precedence list (module docstring) that holds for `f`."""
    net = f.net_paid_minor
    if not f.has_invoice:
        if f.payments or f.refunds:
            return "orphan_payment"
        return "posted_not_paid"
    if f.postings and not f.payments:
        return "posted_not_paid"
    if f.foreign_currency:
        return "currency_mismatch"
    if net > f.invoiced_minor:
        if f.payments >= 2 and f.largest_payment_minor >= f.invoiced_minor:
            return "duplicate_payment"
        return "overpaid"
    if (f.postings and f.posted_minor != f.paid_minor) or (
            f.invoice_postings and f.invoice_posted_minor != f.invoiced_minor):
        return "amount_mismatch"
    if f.payments and net == 0 and f.refunded_minor > 0:
        return "refunded"
    if net == f.invoiced_minor:
        return "paid_not_posted" if f.payments and not f.postings else "matched"
    if _is_stale(f, now, rules):
        return "stale"
    return "partially_paid" if net > 0 else "unpaid"


def _is_stale(f: Facts, now: datetime, rules: Rules) -> bool:
    since = f.due_at or f.issued_at
    return since is not None and now - since > rules.stale_after


def is_drift(s: Status) -> bool:
    return s != "matched"
