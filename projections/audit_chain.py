"""The audit log's hash chains, without I/O.

There is one chain per Kafka partition the audit reads (`topic[partition]`): its rows
are the partition's events in offset order, the first occurrence of each event id only,
numbered 1, 2, 3, ... (`seq`). A partition's order is fixed by the log, so replaying it
rebuilds the same chain, hash for hash; an order across partitions is not, which is why
there is no single chain. Each row's hash is

    sha256( prev_hash + "\\n" + canonical JSON of the row's content )

with `prev_hash` the hash of row seq−1 (64 zeros for seq 1). The head table records
each chain's last seq and hash in the same transaction, so deleting the last rows or
appending a forged one is caught too.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = ["GENESIS", "Break", "Entry", "Head", "StoredRow", "canonical", "link_hash",
           "verify_chain"]

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class Entry:
    """The hashed content of one audit row."""

    topic: str
    partition: int
    seq: int
    offset: int
    event_id: str
    event_type: str
    kind: str  # webhook | event | attempt | outcome | redrive
    source: str
    subject: str | None
    refs: tuple[str, ...]
    event_time: datetime
    correlation_id: str
    causation_id: str | None
    payload_sha256: str
    record_sha256: str
    amount_minor: int | None
    currency: str | None
    status: str | None
    summary: str


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    raise TypeError(f"cannot hash {type(value).__name__}")


def canonical(entry: Entry) -> bytes:
    """Sorted-key compact JSON of the entry; times in UTC with microseconds."""
    content = asdict(entry)
    content["refs"] = list(entry.refs)
    return orjson.dumps(content, default=_default,
                        option=orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME)


def link_hash(prev_hash: str, entry: Entry) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(entry)).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredRow:
    row_id: int
    entry: Entry
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class Head:
    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class Break:
    """The first broken link of a chain: where, and what is wrong."""

    topic: str
    partition: int
    seq: int
    row_id: int | None
    event_id: str | None
    problem: str  # altered | inserted | deleted
    detail: str

    def describe(self) -> str:
        row = f"row_id {self.row_id}" if self.row_id is not None else "no row"
        event = f", event {self.event_id}" if self.event_id else ""
        return (f"{self.topic}[{self.partition}] seq {self.seq} ({row}{event}): "
                f"{self.problem}: {self.detail}")


def verify_chain(topic: str, partition: int, rows: Iterable[StoredRow],
                 head: Head | None) -> Break | None:
    """The first broken link of one chain (rows in (seq, row_id) order), or None."""
    expected, prev = 1, GENESIS
    for row in rows:
        e = row.entry

        def broken(problem: str, detail: str, seq: int = e.seq, r: StoredRow = row) -> Break:
            return Break(topic, partition, seq, r.row_id, r.entry.event_id, problem, detail)

        if e.seq < expected:
            return broken("inserted", f"a second row with seq {e.seq}")
        if e.seq > expected:
            gap = f"seq {expected}" + (f" to {e.seq - 1}" if e.seq - 1 > expected else "")
            return broken("deleted", f"{gap} missing before this row", seq=expected)
        if link_hash(row.prev_hash, e) != row.hash:
            return broken("altered", "the row's content does not match its hash")
        if row.prev_hash != prev:
            return broken("inserted" if e.seq == 1 else "altered",
                          f"prev_hash does not match the hash of seq {e.seq - 1} (that row was "
                          "altered and rehashed, or this one was inserted)")
        if head is not None and e.seq > head.seq:
            return broken("inserted", f"the chain head ends at seq {head.seq}")
        prev, expected = row.hash, expected + 1
    last = expected - 1
    if head is not None and head.seq > last:
        return Break(topic, partition, last + 1, None, None, "deleted",
                     f"the chain ends at seq {last} but its head says {head.seq}")
    if head is not None and head.hash != prev:
        return Break(topic, partition, last, None, None, "altered",
                     "the last row's hash differs from the chain head")
    if head is None and last > 0:
        return Break(topic, partition, 1, None, None, "inserted", "rows without a chain head")
    return None
