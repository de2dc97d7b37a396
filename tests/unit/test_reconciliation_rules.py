"""Reconciliation status rules: one test per status, then the precedence between them."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from projections.reconciliation_rules import (
    STATUSES,
    Facts,
    Rules,
    confirms_payment,
    is_drift,
    posting_kind,
    status,
)

pytestmark = pytest.mark.unit

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
INVOICE = Facts(subject="INV-1", has_invoice=True, invoiced_minor=10_000, currency="EUR",
                issued_at=NOW - timedelta(days=2), due_at=NOW + timedelta(days=12))
PAID = replace(INVOICE, payments=1, paid_minor=10_000, largest_payment_minor=10_000,
               postings=1, posted_minor=10_000)


def paid(*amounts: int, posted: int | None = None, **extra: object) -> Facts:
    total = sum(amounts)
    return replace(INVOICE, payments=len(amounts), paid_minor=total,
                   largest_payment_minor=max(amounts), postings=len(amounts),
                   posted_minor=total if posted is None else posted, **extra)  # type: ignore[arg-type]


def test_matched() -> None:
    assert status(PAID, NOW) == "matched"
    assert status(paid(4_000, 6_000), NOW) == "matched"


def test_unpaid() -> None:
    assert status(INVOICE, NOW) == "unpaid"


def test_partially_paid() -> None:
    assert status(paid(2_500), NOW) == "partially_paid"


def test_partially_paid_after_a_partial_refund() -> None:
    assert status(replace(PAID, refunds=1, refunded_minor=3_000), NOW) == "partially_paid"


def test_overpaid() -> None:
    assert status(paid(12_000), NOW) == "overpaid"


def test_paid_not_posted() -> None:
    assert status(replace(PAID, postings=0, posted_minor=0), NOW) == "paid_not_posted"


def test_posted_not_paid() -> None:
    assert status(replace(INVOICE, postings=1, posted_minor=10_000), NOW) == "posted_not_paid"


def test_posted_not_paid_without_an_invoice() -> None:
    facts = Facts(subject="INV-9", has_invoice=False, postings=1, posted_minor=500, currency="EUR")
    assert status(facts, NOW) == "posted_not_paid"


def test_amount_mismatch() -> None:
    assert status(paid(10_000, posted=9_999), NOW) == "amount_mismatch"


def test_amount_mismatch_of_the_posted_invoice() -> None:
    assert status(replace(PAID, invoice_postings=1, invoice_posted_minor=10_000), NOW) == "matched"
    assert status(replace(PAID, invoice_postings=1, invoice_posted_minor=1_000), NOW) == \
        "amount_mismatch"
    assert status(replace(INVOICE, invoice_postings=2, invoice_posted_minor=20_000), NOW) == \
        "amount_mismatch"
    assert status(replace(INVOICE, invoice_postings=1, invoice_posted_minor=10_000), NOW) == "unpaid"


def test_currency_mismatch() -> None:
    assert status(replace(PAID, foreign_currency=True), NOW) == "currency_mismatch"


def test_duplicate_payment() -> None:
    assert status(paid(10_000, 10_000), NOW) == "duplicate_payment"


def test_two_payments_over_the_total_but_neither_covers_it_is_overpaid() -> None:
    assert status(paid(6_000, 6_000), NOW) == "overpaid"


def test_duplicate_payment_refunded_is_matched() -> None:
    facts = replace(paid(10_000, 10_000), refunds=1, refunded_minor=10_000)
    assert status(facts, NOW) == "matched"


def test_orphan_payment() -> None:
    facts = Facts(subject="pi_1", has_invoice=False, payments=1, paid_minor=500,
                  largest_payment_minor=500, currency="USD")
    assert status(facts, NOW) == "orphan_payment"


def test_refunded() -> None:
    assert status(replace(PAID, refunds=1, refunded_minor=10_000), NOW) == "refunded"


def test_stale_counts_from_the_due_date() -> None:
    old = replace(INVOICE, issued_at=NOW - timedelta(days=60), due_at=NOW - timedelta(days=31))
    assert status(old, NOW) == "stale"
    assert status(replace(old, due_at=NOW - timedelta(days=29)), NOW) == "unpaid"


def test_stale_counts_from_the_issue_date_without_a_due_date() -> None:
    old = replace(INVOICE, issued_at=NOW - timedelta(days=31), due_at=None)
    assert status(old, NOW) == "stale"
    assert status(old, NOW, Rules(stale_after=timedelta(days=45))) == "unpaid"


def test_stale_partly_paid() -> None:
    old = replace(paid(2_000), issued_at=NOW - timedelta(days=60), due_at=None)
    assert status(old, NOW) == "stale"


def test_an_invoice_of_zero_is_matched() -> None:
    assert status(replace(INVOICE, invoiced_minor=0), NOW) == "matched"


# -- precedence: where two rules hold, the earlier in STATUSES wins ----------------------


def test_orphan_before_anything_else() -> None:
    facts = Facts(subject="pi_1", has_invoice=False, payments=2, paid_minor=1_000,
                  largest_payment_minor=500, postings=1, posted_minor=10, foreign_currency=True)
    assert status(facts, NOW) == "orphan_payment"


def test_posted_not_paid_before_stale() -> None:
    old = replace(INVOICE, issued_at=NOW - timedelta(days=90), due_at=None, postings=1,
                  posted_minor=10_000)
    assert status(old, NOW) == "posted_not_paid"


def test_currency_mismatch_before_amounts() -> None:
    assert status(paid(10_000, 10_000, foreign_currency=True), NOW) == "currency_mismatch"


def test_duplicate_before_amount_mismatch() -> None:
    assert status(paid(10_000, 10_000, posted=10_000), NOW) == "duplicate_payment"


def test_overpaid_before_amount_mismatch() -> None:
    assert status(paid(11_000, posted=10_000), NOW) == "overpaid"


def test_amount_mismatch_before_partially_paid_and_refunded() -> None:
    assert status(paid(5_000, posted=4_000), NOW) == "amount_mismatch"
    facts = replace(paid(10_000, posted=9_000), refunds=1, refunded_minor=10_000)
    assert status(facts, NOW) == "amount_mismatch"


def test_stale_before_partially_paid_and_unpaid() -> None:
    old = dict(issued_at=NOW - timedelta(days=90), due_at=None)
    assert status(replace(INVOICE, **old), NOW) == "stale"  # type: ignore[arg-type]
    assert status(replace(paid(100), **old), NOW) == "stale"  # type: ignore[arg-type]


def test_paid_not_posted_is_never_stale() -> None:
    old = replace(PAID, issued_at=NOW - timedelta(days=90), due_at=None, postings=0,
                  posted_minor=0)
    assert status(old, NOW) == "paid_not_posted"


def test_precedence_list_names_every_status_once() -> None:
    assert len(STATUSES) == len(set(STATUSES)) == 12
    assert [s for s in STATUSES if not is_drift(s)] == ["matched"]


def test_only_webhooks_and_the_legacy_books_confirm_a_payment() -> None:
    assert confirms_payment("/providers/stripe")
    assert confirms_payment("/legacy/import")
    assert not confirms_payment("/services/checkout")
    assert not confirms_payment("/webhooks/stripe")


def test_postings_are_succeeded_accounting_outcomes() -> None:
    assert posting_kind("xero", "succeeded", "payment.succeeded") == "payment"
    assert posting_kind("accounting", "succeeded", "invoice.post_requested") == "invoice"
    assert posting_kind("xero", "failed", "payment.succeeded") is None
    assert posting_kind("stripe", "succeeded", "payment.succeeded") is None
    assert posting_kind("books", "succeeded", "payment.succeeded", frozenset({"books"})) == "payment"
