"""General-ledger journals from the reconciliation view, for accounting systems without an
API. Pure: no I/O.

- invoice issued:   debit receivables, credit revenue            (reference invoice:<id>)
- payment received: debit cash, credit receivables               (payment:<provider>:<id>)
- refund paid out:  debit receivables, credit cash (the payment reversed)  (refund:<provider>:<id>)

Only payments the provider confirmed count (see reconciliation_rules.confirms_payment);
a payment without an invoice is still cash received against receivables. Every journal
balances: its debits equal its credits, per currency.
"""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import orjson

from hub.normalizers.money import minor_exponent

__all__ = ["DEFAULT_ACCOUNTS", "FIELDS", "Accounts", "JournalLine", "journal", "major",
           "render_csv", "render_json", "unbalanced"]

FIELDS = ("date", "account", "debit", "credit", "currency", "reference")


@dataclass(frozen=True)
class Accounts:
    receivables: str = "1100"
    revenue: str = "4000"
    cash: str = "1000"


@dataclass(frozen=True, slots=True)
class JournalLine:
    date: date
    account: str
    debit_minor: int
    credit_minor: int
    currency: str
    reference: str


DEFAULT_ACCOUNTS = Accounts()


def journal(kind: str, reference: str, when: date, amount_minor: int, currency: str,
            accounts: Accounts = DEFAULT_ACCOUNTS) -> list[JournalLine]:
    """The two lines of one journal: `kind` is invoice, payment or refund."""
    debit, credit = {
        "invoice": (accounts.receivables, accounts.revenue),
        "payment": (accounts.cash, accounts.receivables),
        "refund": (accounts.receivables, accounts.cash),
    }[kind]
    return [JournalLine(when, debit, amount_minor, 0, currency, reference),
            JournalLine(when, credit, 0, amount_minor, currency, reference)]


def unbalanced(lines: Iterable[JournalLine]) -> list[str]:
    """References whose debits and credits differ in some currency (should be none)."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for line in lines:
        totals[(line.reference, line.currency)] += line.debit_minor - line.credit_minor
    return sorted({ref for (ref, _), diff in totals.items() if diff != 0})


def major(minor: int, currency: str) -> str:
    """Minor units as a plain decimal string of `currency`: 123450 EUR ⇒ "1234.50"."""
    exp = minor_exponent(currency)
    if exp == 0:
        return str(minor)
    whole, frac = divmod(minor, 10**exp)
    return f"{whole}.{frac:0{exp}d}"


def _row(line: JournalLine) -> dict[str, str]:
    return {"date": line.date.isoformat(), "account": line.account,
            "debit": major(line.debit_minor, line.currency) if line.debit_minor else "",
            "credit": major(line.credit_minor, line.currency) if line.credit_minor else "",
            "currency": line.currency, "reference": line.reference}


def render_csv(lines: Sequence[JournalLine]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(FIELDS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(_row(line) for line in lines)
    return buf.getvalue()


def render_json(lines: Sequence[JournalLine]) -> str:
    rows = [{**_row(line), "debit_minor": line.debit_minor, "credit_minor": line.credit_minor}
            for line in lines]
    return orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n"
