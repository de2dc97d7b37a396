"""The reconciliation projection: invoices, payments, refunds and accounting postings,
one row per business item, and a view that adds them up per invoice.

Every table is keyed by the item's natural key and every upsert keeps a winner chosen
by a rule that does not depend on arrival order (latest issue for an invoice, a
confirmed payment over an unconfirmed one, then the smallest event id). Applying an
event twice, or events of different partitions in another interleaving, therefore
yields the same rows: that is the projection's dedupe, and why a rebuild equals the
incrementally kept view row for row. Statuses are not stored (they depend on the
time of reading); `projections.reconciliation_rules` computes them from the view.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hub.consumer import Received
from hub.topics import Topics
from projections.base import versioned
from projections.reconciliation_rules import ACCOUNTING_INTEGRATIONS, confirms_payment, posting_kind
from projections.reconciliation_sql import TABLES, create_sql, drop_sql, upsert_sql, view_select

__all__ = ["NAME", "ReconciliationProjection"]

NAME = "reconciliation"

Row = tuple[Any, ...]


class ReconciliationProjection:
    """Reads hub.accounting, hub.payments and hub.outcomes."""

    def __init__(self, accounting: frozenset[str] = ACCOUNTING_INTEGRATIONS) -> None:
        self._accounting = accounting

    @property
    def name(self) -> str:
        return NAME

    def topics(self, topics: Topics) -> tuple[str, ...]:
        return (topics.for_type("invoice.issued"), topics.for_type("payment.succeeded"),
                topics.outcomes)

    def create_sql(self, version: int) -> Sequence[str]:
        return create_sql(versioned(NAME, version))

    def drop_sql(self, version: int) -> Sequence[str]:
        return drop_sql(versioned(NAME, version))

    def stable_views(self, version: int) -> Mapping[str, str]:
        base = versioned(NAME, version)
        views = {NAME: view_select(base)}
        for table in TABLES:
            views[f"{NAME}_{table}"] = f"SELECT * FROM {base}_{table}"
        return views

    async def apply(self, conn: Any, version: int, batch: Sequence[Received]) -> None:
        rows = self.collect(batch)
        base = versioned(NAME, version)
        for table in TABLES:
            found = rows[table]
            if found:
                columns = list(zip(*found.values(), strict=True))
                await conn.execute(upsert_sql(base, table), *map(list, columns))

    def collect(self, batch: Sequence[Received]) -> dict[str, dict[Any, Row]]:
        """The batch's rows per table, one per key, each key's winner chosen by the same
        rule the upserts apply against rows already stored."""
        invoices: dict[Any, Row] = {}
        payments: dict[Any, Row] = {}
        refunds: dict[Any, Row] = {}
        postings: dict[Any, Row] = {}
        row: Row
        for r in batch:
            e = r.event
            t = e.type
            d = e.data
            if t == "payment.succeeded":
                key = (d["provider"], d["payment_id"])
                row = (d["provider"], d["payment_id"], d["invoice_id"] or d["payment_id"],
                       d["invoice_id"], d["amount_minor"], d["currency"], d["occurred_at"],
                       confirms_payment(e.source), e.source, e.id)
                old = payments.get(key)
                if old is None or (row[7], old[9]) > (old[7], row[9]):
                    payments[key] = row
            elif t == "invoice.issued":
                key = d["invoice_id"]
                row = (key, d["customer_id"], d["amount_minor"], d["currency"], d["issued_at"],
                       d["due_at"], e.time, e.id)
                old = invoices.get(key)
                if old is None or (row[6], row[7]) > (old[6], old[7]):
                    invoices[key] = row
            elif t == "payment.refunded":
                key = (d["provider"], d["refund_id"])
                row = (d["provider"], d["refund_id"], d["payment_id"], d["invoice_id"],
                       d["amount_minor"], d["currency"], d["occurred_at"], e.id)
                old = refunds.get(key)
                if old is None or row[7] < old[7]:
                    refunds[key] = row
            elif t == "integration.outcome":
                kind = posting_kind(d["integration"], d["status"], d["event_type"],
                                    self._accounting)
                if kind is None:
                    continue
                key = (d["integration"], d["event_id"])
                row = (d["integration"], d["event_id"], e.subject or d["event_id"], kind,
                       d["amount_minor"], d["currency"], d["provider_reference"],
                       d["occurred_at"], e.id)
                old = postings.get(key)
                if old is None or row[8] < old[8]:
                    postings[key] = row
        return {"invoices": invoices, "payments": payments, "refunds": refunds,
                "postings": postings}
