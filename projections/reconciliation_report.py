"""The reconciliation report: the view's rows with their status, as a table, JSON or CSV."""
from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from hub.normalizers.money import minor_exponent
from projections.reconciliation_rules import Facts, Rules, Status, is_drift, status

__all__ = ["FIELDS", "Line", "drift", "read", "render_csv", "render_json", "render_table"]

FIELDS: tuple[str, ...] = (
    "subject", "status", "invoice_id", "customer_id", "currency", "invoiced_minor",
    "paid_minor", "refunded_minor", "net_paid_minor", "posted_minor", "invoice_posted_minor",
    "payments", "refunds", "postings", "invoice_postings", "unconfirmed_minor", "issued_at",
    "due_at",
)


@dataclass(frozen=True)
class Line:
    facts: Facts
    status: Status
    customer_id: str | None
    unconfirmed_minor: int

    def as_dict(self) -> dict[str, Any]:
        f = self.facts
        return {
            "subject": f.subject, "status": self.status,
            "invoice_id": f.subject if f.has_invoice else None, "customer_id": self.customer_id,
            "currency": f.currency, "invoiced_minor": f.invoiced_minor, "paid_minor": f.paid_minor,
            "refunded_minor": f.refunded_minor, "net_paid_minor": f.net_paid_minor,
            "posted_minor": f.posted_minor, "invoice_posted_minor": f.invoice_posted_minor,
            "payments": f.payments, "refunds": f.refunds, "postings": f.postings,
            "invoice_postings": f.invoice_postings, "unconfirmed_minor": self.unconfirmed_minor,
            "issued_at": _iso(f.issued_at), "due_at": _iso(f.due_at),
        }


def _iso(t: datetime | None) -> str | None:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z") if t is not None else None


_DEFAULT_RULES = Rules()


async def read(conn: Any, now: datetime, rules: Rules = _DEFAULT_RULES,
               statuses: Iterable[str] = ()) -> list[Line]:
    """Every row of the `reconciliation` view with its status at `now`, by subject;
    only those whose status is in `statuses` when it is not empty."""
    wanted = frozenset(statuses)
    lines = []
    for r in await conn.fetch("SELECT * FROM reconciliation ORDER BY subject"):
        facts = Facts(
            subject=r["subject"], has_invoice=r["has_invoice"], invoiced_minor=r["invoiced_minor"],
            currency=r["currency"], issued_at=r["issued_at"], due_at=r["due_at"],
            payments=r["payments"], paid_minor=r["paid_minor"],
            largest_payment_minor=r["largest_payment_minor"], refunds=r["refunds"],
            refunded_minor=r["refunded_minor"], postings=r["postings"],
            posted_minor=r["posted_minor"], invoice_postings=r["invoice_postings"],
            invoice_posted_minor=r["invoice_posted_minor"], foreign_currency=r["foreign_currency"])
        s = status(facts, now, rules)
        if not wanted or s in wanted:
            lines.append(Line(facts, s, r["customer_id"], r["unconfirmed_minor"]))
    return lines


def drift(lines: Sequence[Line]) -> int:
    """How many lines drift (any status but matched)."""
    return sum(1 for line in lines if is_drift(line.status))


def _major(minor: int, currency: str | None) -> str:
    try:
        exp = minor_exponent(currency or "XXX")
    except ValueError:
        exp = 2
    if exp == 0:
        return f"{minor:,}"
    sign, minor = ("-", -minor) if minor < 0 else ("", minor)
    whole, frac = divmod(minor, 10**exp)
    return f"{sign}{whole:,}.{frac:0{exp}d}"


def render_table(lines: Sequence[Line]) -> str:
    head = (f"{'SUBJECT':<24}{'STATUS':<19}{'CUR':<5}{'INVOICED':>14}{'PAID':>14}"
            f"{'REFUNDED':>12}{'POSTED':>14}")
    out = [head]
    for line in lines:
        f, c = line.facts, line.facts.currency
        out.append(f"{f.subject:<24}{line.status:<19}{c or '-':<5}"
                   f"{_major(f.invoiced_minor, c) if f.has_invoice else '-':>14}"
                   f"{_major(f.paid_minor, c):>14}{_major(f.refunded_minor, c):>12}"
                   f"{_major(f.posted_minor, c):>14}")
    counts = Counter(line.status for line in lines)
    summary = ", ".join(f"{s} {n}" for s, n in sorted(counts.items()))
    out.append(f"{len(lines)} items, {drift(lines)} drifting" + (f" ({summary})" if summary else ""))
    return "\n".join(out)


def render_json(lines: Sequence[Line]) -> str:
    return orjson.dumps([line.as_dict() for line in lines], option=orjson.OPT_INDENT_2).decode()


def render_csv(lines: Sequence[Line]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(FIELDS), lineterminator="\n")
    writer.writeheader()
    for line in lines:
        writer.writerow(line.as_dict())
    return buf.getvalue()
