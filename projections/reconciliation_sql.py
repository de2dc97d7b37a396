"""SQL of one version of the reconciliation view: tables, winner-keeping upserts, the
per-invoice view. `base` is the version's prefix, e.g. `reconciliation_v3`."""
from __future__ import annotations

__all__ = ["TABLES", "create_sql", "drop_sql", "upsert_sql", "view_select"]

# table ⇒ (columns with types, "?" marking a nullable one; key columns; the condition
# under which a new row replaces the stored one: `t` is the stored row, `excluded` the new).
_TABLES: dict[str, tuple[list[tuple[str, str]], tuple[str, ...], str]] = {
    "invoices": (
        [("invoice_id", "text"), ("customer_id", "text"), ("amount_minor", "bigint"),
         ("currency", "text"), ("issued_at", "timestamptz"), ("due_at", "timestamptz?"),
         ("event_time", "timestamptz"), ("event_id", "uuid")],
        ("invoice_id",),
        "(excluded.event_time, excluded.event_id) > (t.event_time, t.event_id)",
    ),
    "payments": (
        [("provider", "text"), ("payment_id", "text"), ("subject", "text"),
         ("invoice_id", "text?"), ("amount_minor", "bigint"), ("currency", "text"),
         ("occurred_at", "timestamptz"), ("confirmed", "boolean"), ("source", "text"),
         ("event_id", "uuid")],
        ("provider", "payment_id"),
        "(excluded.confirmed, t.event_id) > (t.confirmed, excluded.event_id)",
    ),
    "refunds": (
        [("provider", "text"), ("refund_id", "text"), ("payment_id", "text"),
         ("invoice_id", "text?"), ("amount_minor", "bigint"), ("currency", "text"),
         ("occurred_at", "timestamptz"), ("event_id", "uuid")],
        ("provider", "refund_id"),
        "excluded.event_id < t.event_id",
    ),
    "postings": (
        [("integration", "text"), ("posted_event_id", "text"), ("subject", "text"),
         ("kind", "text"), ("amount_minor", "bigint?"), ("currency", "text?"),
         ("provider_reference", "text?"), ("occurred_at", "timestamptz"), ("event_id", "uuid")],
        ("integration", "posted_event_id"),
        "excluded.event_id < t.event_id",
    ),
}
TABLES: tuple[str, ...] = tuple(_TABLES)


def create_sql(base: str) -> list[str]:
    out = []
    for table, (columns, key, _) in _TABLES.items():
        cols = ", ".join(f"{name} {type_.rstrip('?')}" + ("" if type_.endswith("?") else " NOT NULL")
                         for name, type_ in columns)
        out.append(f"CREATE TABLE IF NOT EXISTS {base}_{table} ({cols}, PRIMARY KEY ({', '.join(key)}))")
    out.append(f"CREATE INDEX IF NOT EXISTS {base}_payments_subject ON {base}_payments (subject)")
    out.append(f"CREATE INDEX IF NOT EXISTS {base}_postings_subject ON {base}_postings (subject)")
    out.append(f"CREATE OR REPLACE VIEW {base} AS {view_select(base)}")
    return out


def drop_sql(base: str) -> list[str]:
    return [f"DROP VIEW IF EXISTS {base}"] + [f"DROP TABLE IF EXISTS {base}_{t}" for t in TABLES]


def upsert_sql(base: str, table: str) -> str:
    """INSERT of whole columns (one array parameter per column, in column order)."""
    columns, key, wins = _TABLES[table]
    names = ", ".join(n for n, _ in columns)
    arrays = ", ".join(f"${i}::{type_.rstrip('?')}[]" for i, (_, type_) in enumerate(columns, start=1))
    updates = ", ".join(f"{n} = excluded.{n}" for n, _ in columns if n not in key)
    return (f"INSERT INTO {base}_{table} AS t ({names}) SELECT * FROM unnest({arrays})"
            f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates} WHERE {wins}")


def view_select(base: str) -> str:
    """One row per invoice, and per payment subject without an invoice."""
    return f"""
WITH pay AS (
    SELECT subject, count(*) AS payments, sum(amount_minor)::bigint AS paid_minor,
           max(amount_minor) AS largest_payment_minor,
           min(currency) AS min_currency, max(currency) AS max_currency,
           max(occurred_at) AS last_payment_at
    FROM {base}_payments WHERE confirmed GROUP BY subject),
claim AS (
    SELECT subject, sum(amount_minor)::bigint AS unconfirmed_minor
    FROM {base}_payments WHERE NOT confirmed GROUP BY subject),
ref AS (
    SELECT coalesce(r.invoice_id, p.subject, r.payment_id) AS subject, count(*) AS refunds,
           sum(r.amount_minor)::bigint AS refunded_minor,
           min(r.currency) AS min_currency, max(r.currency) AS max_currency
    FROM {base}_refunds r
    LEFT JOIN {base}_payments p ON p.provider = r.provider AND p.payment_id = r.payment_id
    GROUP BY 1),
post AS (
    SELECT subject, count(*) AS postings, coalesce(sum(amount_minor), 0)::bigint AS posted_minor,
           min(currency) AS min_currency, max(currency) AS max_currency
    FROM {base}_postings WHERE kind = 'payment' GROUP BY subject),
ipost AS (
    SELECT subject, count(*) AS invoice_postings,
           coalesce(sum(amount_minor), 0)::bigint AS invoice_posted_minor
    FROM {base}_postings WHERE kind = 'invoice' GROUP BY subject),
subjects AS (
    SELECT invoice_id AS subject FROM {base}_invoices
    UNION SELECT subject FROM pay UNION SELECT subject FROM ref UNION SELECT subject FROM post)
SELECT s.subject,
       i.invoice_id IS NOT NULL AS has_invoice,
       i.customer_id,
       coalesce(i.amount_minor, 0) AS invoiced_minor,
       coalesce(i.currency, pay.min_currency, ref.min_currency, post.min_currency) AS currency,
       i.issued_at, i.due_at,
       coalesce(pay.payments, 0) AS payments,
       coalesce(pay.paid_minor, 0) AS paid_minor,
       coalesce(pay.largest_payment_minor, 0) AS largest_payment_minor,
       coalesce(ref.refunds, 0) AS refunds,
       coalesce(ref.refunded_minor, 0) AS refunded_minor,
       coalesce(post.postings, 0) AS postings,
       coalesce(post.posted_minor, 0) AS posted_minor,
       coalesce(ipost.invoice_postings, 0) AS invoice_postings,
       coalesce(ipost.invoice_posted_minor, 0) AS invoice_posted_minor,
       coalesce(claim.unconfirmed_minor, 0) AS unconfirmed_minor,
       coalesce(i.currency IS NOT NULL AND (
           i.currency NOT IN (pay.min_currency, pay.max_currency)
           OR i.currency NOT IN (ref.min_currency, ref.max_currency)
           OR i.currency NOT IN (post.min_currency, post.max_currency)), false) AS foreign_currency,
       pay.last_payment_at
FROM subjects s
LEFT JOIN {base}_invoices i ON i.invoice_id = s.subject
LEFT JOIN pay ON pay.subject = s.subject
LEFT JOIN claim ON claim.subject = s.subject
LEFT JOIN ref ON ref.subject = s.subject
LEFT JOIN post ON post.subject = s.subject
LEFT JOIN ipost ON ipost.subject = s.subject"""
