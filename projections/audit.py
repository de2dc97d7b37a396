"""The audit projection: an append-only, hash-chained row per event of the audited
topics (chains per partition, see `projections.audit_chain`)."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from hub.consumer import Received
from hub.consumer_client import TP
from hub.topics import Topics
from projections.audit_chain import GENESIS, Entry, link_hash
from projections.audit_entries import kind_of, refs_of, summary_of
from projections.base import versioned

__all__ = ["COLUMNS", "NAME", "AuditProjection", "entry_of"]

NAME = "audit"
COLUMNS: tuple[tuple[str, str], ...] = (
    ("topic", "text"), ("partition", "int"), ("seq", "bigint"), ("kafka_offset", "bigint"),
    ("event_id", "uuid"), ("event_type", "text"), ("kind", "text"), ("source", "text"),
    ("subject", "text"), ("refs", "text[]"), ("event_time", "timestamptz"),
    ("correlation_id", "text"), ("causation_id", "text"), ("payload_sha256", "text"),
    ("record_sha256", "text"), ("amount_minor", "bigint"), ("currency", "text"),
    ("status", "text"), ("summary", "text"), ("prev_hash", "text"), ("hash", "text"),
)
_AREAS = ("webhook", "payment", "invoice", "sms", "email", "customer", "integration", "dlq")


def entry_of(r: Received, seq: int) -> Entry:
    e = r.event
    d = e.data
    amount = d.get("amount_minor")
    return Entry(
        topic=r.topic, partition=r.partition, seq=seq, offset=r.offset, event_id=e.id,
        event_type=e.type, kind=kind_of(e), source=e.source, subject=e.subject,
        refs=refs_of(e), event_time=e.time, correlation_id=e.correlation_id,
        causation_id=e.causation_id, payload_sha256=e.payload_sha256,
        record_sha256=hashlib.sha256(r.value).hexdigest(),
        amount_minor=amount if isinstance(amount, int) else None,
        currency=d.get("currency") if isinstance(d.get("currency"), str) else None,
        status=d.get("status") if isinstance(d.get("status"), str) else None,
        summary=summary_of(e),
    )


class AuditProjection:
    @property
    def name(self) -> str:
        return NAME

    def topics(self, topics: Topics) -> tuple[str, ...]:
        return tuple(sorted({topics.for_type(f"{area}.x") for area in _AREAS}))

    def create_sql(self, version: int) -> Sequence[str]:
        base = versioned(NAME, version)
        cols = ", ".join(f"{n} {t}" + ("" if n in _NULLABLE else " NOT NULL") for n, t in COLUMNS)
        return [
            f"CREATE TABLE IF NOT EXISTS {base} (row_id bigserial PRIMARY KEY, {cols},"
            " recorded_at timestamptz NOT NULL DEFAULT now())",
            f"CREATE INDEX IF NOT EXISTS {base}_chain ON {base} (topic, partition, seq)",
            f"CREATE INDEX IF NOT EXISTS {base}_event ON {base} (event_id)",
            f"CREATE INDEX IF NOT EXISTS {base}_subject ON {base} (subject)",
            f"CREATE INDEX IF NOT EXISTS {base}_refs ON {base} USING gin (refs)",
            f"CREATE TABLE IF NOT EXISTS {base}_heads (topic text NOT NULL, partition int NOT NULL,"
            " seq bigint NOT NULL, hash text NOT NULL, PRIMARY KEY (topic, partition))",
            "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS"
            " $$BEGIN RAISE EXCEPTION 'the audit log is append-only (% on %)', TG_OP, TG_TABLE_NAME;"
            " END$$",
            f"CREATE OR REPLACE TRIGGER {base}_append_only BEFORE UPDATE OR DELETE ON {base}"
            " FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
            f"CREATE OR REPLACE TRIGGER {base}_no_truncate BEFORE TRUNCATE ON {base}"
            " FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()",
        ]

    def drop_sql(self, version: int) -> Sequence[str]:
        base = versioned(NAME, version)
        return [f"DROP TABLE IF EXISTS {base}", f"DROP TABLE IF EXISTS {base}_heads"]

    def stable_views(self, version: int) -> Mapping[str, str]:
        base = versioned(NAME, version)
        return {NAME: f"SELECT * FROM {base}", "audit_heads": f"SELECT * FROM {base}_heads"}

    async def apply(self, conn: Any, version: int, batch: Sequence[Received]) -> None:
        base = versioned(NAME, version)
        by_chain: dict[TP, list[Received]] = {}
        for r in batch:
            by_chain.setdefault((r.topic, r.partition), []).append(r)
        chains = sorted(by_chain)
        topics, parts = [t for t, _ in chains], [p for _, p in chains]
        await conn.execute(
            f"INSERT INTO {base}_heads (topic, partition, seq, hash)"
            " SELECT t, p, 0, $3 FROM unnest($1::text[], $2::int[]) AS u(t, p)"
            " ON CONFLICT DO NOTHING", topics, parts, GENESIS)
        # Locks the chains this batch extends: one writer per chain, even mid-rebalance.
        heads = {(h["topic"], h["partition"]): (int(h["seq"]), h["hash"]) for h in await conn.fetch(
            f"SELECT topic, partition, seq, hash FROM {base}_heads"
            " WHERE (topic, partition) IN (SELECT * FROM unnest($1::text[], $2::int[]))"
            " ORDER BY topic, partition FOR UPDATE", topics, parts)}
        present = {(x["topic"], x["partition"], str(x["event_id"])) for x in await conn.fetch(
            f"SELECT topic, partition, event_id FROM {base} WHERE event_id = ANY($1::uuid[])",
            list({r.event.id for r in batch}))}
        rows: list[tuple[Any, ...]] = []
        for tp in chains:
            seq, last = heads[tp]
            for r in by_chain[tp]:
                key = (tp[0], tp[1], r.event.id)
                if key in present:
                    continue
                present.add(key)
                seq += 1
                entry = entry_of(r, seq)
                digest = link_hash(last, entry)
                rows.append((*_values(entry), last, digest))
                last = digest
            heads[tp] = (seq, last)
        if not rows:
            return
        await conn.copy_records_to_table(base, records=rows, columns=[n for n, _ in COLUMNS])
        await conn.execute(
            f"UPDATE {base}_heads h SET seq = u.s, hash = u.h"
            " FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[]) AS u(t, p, s, h)"
            " WHERE h.topic = u.t AND h.partition = u.p",
            topics, parts, [heads[tp][0] for tp in chains], [heads[tp][1] for tp in chains])


_NULLABLE = {"subject", "causation_id", "amount_minor", "currency", "status"}


def _values(e: Entry) -> tuple[Any, ...]:
    return (e.topic, e.partition, e.seq, e.offset, e.event_id, e.event_type, e.kind, e.source,
            e.subject, list(e.refs), e.event_time, e.correlation_id, e.causation_id,
            e.payload_sha256, e.record_sha256, e.amount_minor, e.currency, e.status, e.summary)
