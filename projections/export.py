"""Reading the journals of a date range from the reconciliation view's tables."""
from __future__ import annotations

from datetime import date
from typing import Any

from hub.errors import HubError
from projections.gl import DEFAULT_ACCOUNTS, Accounts, JournalLine, journal, unbalanced

__all__ = ["gl_lines"]

# kind ⇒ query of (reference, day, amount, currency); days are UTC dates.
_QUERIES = {
    "invoice": "SELECT 'invoice:' || invoice_id, (issued_at AT TIME ZONE 'UTC')::date,"
               " amount_minor, currency FROM reconciliation_invoices"
               " WHERE (issued_at AT TIME ZONE 'UTC')::date BETWEEN $1 AND $2",
    "payment": "SELECT 'payment:' || provider || ':' || payment_id,"
               " (occurred_at AT TIME ZONE 'UTC')::date, amount_minor, currency"
               " FROM reconciliation_payments WHERE confirmed"
               " AND (occurred_at AT TIME ZONE 'UTC')::date BETWEEN $1 AND $2",
    "refund": "SELECT 'refund:' || provider || ':' || refund_id,"
              " (occurred_at AT TIME ZONE 'UTC')::date, amount_minor, currency"
              " FROM reconciliation_refunds"
              " WHERE (occurred_at AT TIME ZONE 'UTC')::date BETWEEN $1 AND $2",
}


async def gl_lines(conn: Any, start: date, end: date,
                   accounts: Accounts = DEFAULT_ACCOUNTS) -> list[JournalLine]:
    """Every journal line dated `start` to `end` (inclusive), by date, then reference.
    HubError if a journal does not balance (a bug; nothing is written then)."""
    if end < start:
        raise HubError(f"--to {end} is before --from {start}")
    lines: list[JournalLine] = []
    for kind, query in _QUERIES.items():
        for ref, day, amount, currency in await conn.fetch(query, start, end):
            lines += journal(kind, ref, day, amount, currency, accounts)
    lines.sort(key=lambda x: (x.date, x.reference, x.credit_minor > 0))
    wrong = unbalanced(lines)
    if wrong:
        raise HubError(f"journals that do not balance: {', '.join(wrong[:5])}")
    return lines
