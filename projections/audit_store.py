"""Reading the audit log: verify every chain, and the story of one subject."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from projections.audit_chain import Break, Entry, Head, StoredRow, verify_chain

__all__ = ["StoryLine", "Verified", "render_story", "story", "verify"]

_ROW_COLUMNS = (
    "row_id, topic, partition, seq, kafka_offset, event_id, event_type, kind, source, subject,"
    " refs, event_time, correlation_id, causation_id, payload_sha256, record_sha256,"
    " amount_minor, currency, status, summary, prev_hash, hash")
_KIND_ORDER = {"webhook": 0, "event": 1, "attempt": 2, "outcome": 3, "redrive": 4}


@dataclass(frozen=True)
class Verified:
    rows: int
    chains: int
    first_break: Break | None


def _stored(r: Any) -> StoredRow:
    entry = Entry(
        topic=r["topic"], partition=r["partition"], seq=r["seq"], offset=r["kafka_offset"],
        event_id=str(r["event_id"]), event_type=r["event_type"], kind=r["kind"],
        source=r["source"], subject=r["subject"], refs=tuple(r["refs"]),
        event_time=r["event_time"], correlation_id=r["correlation_id"],
        causation_id=r["causation_id"], payload_sha256=r["payload_sha256"],
        record_sha256=r["record_sha256"], amount_minor=r["amount_minor"],
        currency=r["currency"], status=r["status"], summary=r["summary"])
    return StoredRow(r["row_id"], entry, r["prev_hash"], r["hash"])


async def _rows(conn: Any) -> AsyncIterator[StoredRow]:
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        query = f"SELECT {_ROW_COLUMNS} FROM audit ORDER BY topic, partition, seq, row_id"
        async for r in conn.cursor(query, prefetch=2000):
            yield _stored(r)


async def verify(conn: Any) -> Verified:
    """Recompute every chain; the first broken link in (topic, partition) order."""
    heads = {(h["topic"], h["partition"]): Head(h["seq"], h["hash"])
             for h in await conn.fetch("SELECT topic, partition, seq, hash FROM audit_heads")}
    rows = chains = 0
    first: Break | None = None
    current: tuple[str, int] | None = None
    chain: list[StoredRow] = []
    seen: set[tuple[str, int]] = set()

    def finish() -> Break | None:
        assert current is not None
        seen.add(current)
        return verify_chain(current[0], current[1], chain, heads.get(current))

    async for row in _rows(conn):
        rows += 1
        key = (row.entry.topic, row.entry.partition)
        if key != current:
            if current is not None and first is None:
                first = finish()
            current, chain, chains = key, [], chains + 1
        chain.append(row)
    if current is not None and first is None:
        first = finish()
    for key in sorted(set(heads) - seen):
        if first is None and heads[key].seq > 0:  # a head whose every row is gone
            first = verify_chain(key[0], key[1], [], heads[key])
    return Verified(rows, chains, first)


@dataclass(frozen=True)
class StoryLine:
    time: datetime
    kind: str
    event_type: str
    source: str
    summary: str
    event_id: str
    where: str


async def story(conn: Any, subject: str) -> list[StoryLine]:
    """Every audit row about `subject` (as subject or referenced id), the webhooks that
    caused them, their outcomes and attempts, in time order."""
    rows = await conn.fetch(
        "WITH a AS (SELECT * FROM audit WHERE subject = $1 OR $1 = ANY(refs))"
        " SELECT x.* FROM audit x WHERE x.row_id IN (SELECT row_id FROM a)"
        " OR x.event_id::text IN (SELECT causation_id FROM a WHERE causation_id IS NOT NULL)"
        " OR x.event_id::text IN (SELECT correlation_id FROM a)"
        " OR x.causation_id IN (SELECT event_id::text FROM a)", subject)
    lines = [StoryLine(r["event_time"], r["kind"], r["event_type"], r["source"], r["summary"],
                       str(r["event_id"]), f"{r['topic']}[{r['partition']}]#{r['seq']}")
             for r in rows]
    return sorted(lines, key=lambda s: (s.time, _KIND_ORDER.get(s.kind, 9), s.where))


def render_story(subject: str, lines: list[StoryLine]) -> str:
    if not lines:
        return f"nothing in the audit log about {subject!r}"
    out = [f"{subject}: {len(lines)} entries", ""]
    for s in lines:
        when = s.time.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"
        out.append(f"{when}  {s.kind:<8} {s.event_type:<22} {s.summary}")
        out.append(f"{'':26}{s.source}  event {s.event_id}  {s.where}")
    return "\n".join(out)
