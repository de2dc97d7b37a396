"""`hub dlq redrive`: re-produce dead letters once each, recorded in `dlq_redrives` and as
`dlq.redriven` events on `hub.outcomes` (where the audit view reads them).

Per dead letter, in one database transaction: reserve its row (`INSERT ... ON CONFLICT
DO NOTHING RETURNING`; a concurrent run waits on the row, then finds it taken), produce
the record to its target and the audit event (both acknowledged by the broker), note
where the record landed, commit. A crash before the commit leaves no row, so the next
run sends it again: at least once, and the worker's dedupe on (group, event_id) makes a
copy a no-op. Where the record goes, and why, is in hub/dlq.py.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from hub import codec
from hub.dlq import DeadLetter, redrive_headers, redriven_event
from hub.producer import HubProducer
from hub.schemastore import SchemaStore
from hub.topics import Topics

__all__ = ["Action", "Redrive", "done_redrives", "redrive"]

Action = Literal["redriven", "would redrive", "already redriven", "same event"]


@dataclass(frozen=True, slots=True)
class Redrive:
    """What happened to one dead letter. `landed` is `topic:partition:offset` of the copy."""

    dead: DeadLetter
    action: Action
    target: str
    landed: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ref": self.dead.ref, "event_id": self.dead.event_id,
                "event_type": self.dead.event_type, "group": self.dead.group,
                "action": self.action, "target": self.target, "landed": self.landed}


_Ref = tuple[str, int, int]


async def done_redrives(conn: Any, dead: Sequence[DeadLetter]) -> dict[_Ref, dict[str, Any]]:
    """Rows of `dlq_redrives` for these dead letters, by (topic, partition, offset)."""
    if not dead:
        return {}
    rows = await conn.fetch(
        "SELECT d.* FROM dlq_redrives d JOIN unnest($1::text[], $2::int[], $3::bigint[])"
        " AS w(t, p, o) ON d.dlq_topic = w.t AND d.dlq_partition = w.p AND d.dlq_offset = w.o",
        [d.record.topic for d in dead], [d.record.partition for d in dead],
        [d.record.offset for d in dead])
    return {(r["dlq_topic"], r["dlq_partition"], r["dlq_offset"]): dict(r) for r in rows}


async def redrive(
    dead: Sequence[DeadLetter],
    targets: Mapping[str, str],
    *,
    conn: Any,
    producer: HubProducer | None,
    schemas: SchemaStore,
    topics: Topics,
    by: str,
    reason: str | None,
    now: datetime,
    dry_run: bool,
) -> list[Redrive]:
    """Redrive `dead` (oldest first) to `targets[ref]`; one copy per (group, event) per run.

    With `dry_run`, nothing is produced or written. Raises ProduceError when the broker
    does not acknowledge; what was redriven before stays recorded.
    """
    done = await done_redrives(conn, dead)
    sent: dict[tuple[str, str], str] = {}  # (group, event id) -> where this run's copy landed
    out: list[Redrive] = []
    for dl in dead:
        target = targets[dl.ref]
        r = dl.record
        row = done.get((r.topic, r.partition, r.offset))
        if row is not None:
            landed = _landed(row["target_topic"], row["target_partition"], row["target_offset"])
            out.append(Redrive(dl, "already redriven", row["target_topic"], landed))
            continue
        twin = (dl.group, dl.event_id) if dl.event_id else None
        if dry_run:
            action: Action = "same event" if twin in sent else "would redrive"
            if twin is not None:
                sent.setdefault(twin, "")
            out.append(Redrive(dl, action, target))
            continue
        assert producer is not None
        async with conn.transaction():
            reserved = await conn.fetchval(
                "INSERT INTO dlq_redrives (dlq_topic, dlq_partition, dlq_offset, group_name,"
                " event_id, event_type, target_topic, redriven_by, reason, redriven_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                " ON CONFLICT DO NOTHING RETURNING true",
                r.topic, r.partition, r.offset, dl.group, dl.event_id, dl.event_type, target,
                by, reason, now)
            if not reserved:
                out.append(Redrive(dl, "already redriven", target))
                continue
            if twin is not None and twin in sent:
                topic, partition, offset = sent[twin].rsplit(":", 2)
                await _note(conn, dl, topic, int(partition), int(offset))
                out.append(Redrive(dl, "same event", topic, sent[twin]))
                continue
            value = r.value or b""
            copy = await producer.produce(target, value, key=r.key,
                                          headers=redrive_headers(dl, to_retry=target != dl.origin.topic,
                                                                  at=now, by=by))
            audit = redriven_event(dl, _decoded(schemas, dl), by=by, reason=reason, at=now,
                                   target=(copy.topic, copy.partition, copy.offset))
            await producer.produce(topics.outcomes, codec.encode(schemas, audit), key=audit.key,
                                   headers=audit.headers())
            await _note(conn, dl, copy.topic, copy.partition, copy.offset)
        landed = _landed(copy.topic, copy.partition, copy.offset)
        if twin is not None:
            sent[twin] = landed or ""
        out.append(Redrive(dl, "redriven", target, landed))
    return out


async def _note(conn: Any, dl: DeadLetter, topic: str, partition: int, offset: int) -> None:
    r = dl.record
    await conn.execute(
        "UPDATE dlq_redrives SET target_topic = $4, target_partition = $5, target_offset = $6"
        " WHERE dlq_topic = $1 AND dlq_partition = $2 AND dlq_offset = $3",
        r.topic, r.partition, r.offset, topic, partition, offset)


def _landed(topic: str, partition: int | None, offset: int | None) -> str | None:
    return None if partition is None or offset is None else f"{topic}:{partition}:{offset}"


def _decoded(schemas: SchemaStore, dl: DeadLetter) -> Any:
    r = dl.record
    if r.value is None:
        return None
    try:
        return codec.decode(schemas, r.value, topic=r.topic, partition=r.partition, offset=r.offset)
    except codec.DecodeError:
        return None
