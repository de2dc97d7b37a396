"""Dedupe of events per consumer group: the `processed_events` table.

A uniqueness constraint, not a SELECT before an INSERT: `claim` reserves the event
with `INSERT ... ON CONFLICT DO NOTHING RETURNING`; `finish` moves a reserved row to
done or dead_lettered inside the caller's transaction, so only one finisher wins.
`claim_many` and `finish_many` do the same for many events in one statement each.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

__all__ = ["Claim", "ProcessedEvents"]

ClaimStatus = Literal["new", "reserved", "done", "dead_lettered"]


@dataclass(frozen=True)
class Claim:
    """`new`: this call reserved the event. `reserved`: reserved earlier and never
    finished (a crash mid-call, or a retry). `done`/`dead_lettered`: nothing to do."""

    status: ClaimStatus
    attempts: int = 0
    first_failure_at: datetime | None = None


class ProcessedEvents:
    def __init__(self, pool: Any) -> None:
        self._pool = pool

    async def claim(self, group: str, event_id: str, event_type: str) -> Claim:
        row = await self._pool.fetchrow(
            "INSERT INTO processed_events (group_name, event_id, event_type, status)"
            " VALUES ($1, $2, $3, 'reserved')"
            " ON CONFLICT (group_name, event_id) DO NOTHING RETURNING status",
            group, event_id, event_type)
        if row is not None:
            return Claim("new")
        row = await self._pool.fetchrow(
            "SELECT status, attempts, first_failure_at FROM processed_events"
            " WHERE group_name = $1 AND event_id = $2", group, event_id)
        if row is None:  # deleted in between (a manual redrive): claim again
            return await self.claim(group, event_id, event_type)
        return Claim(row["status"], row["attempts"], row["first_failure_at"])

    async def claim_many(self, group: str, events: Sequence[tuple[str, str]]) -> list[Claim]:
        """`claim` for each (event_id, event_type), in one round trip; one Claim per item,
        in order. Event ids must be distinct."""
        if len(events) == 1:
            return [await self.claim(group, *events[0])]
        rows = await self._pool.fetch(_CLAIM_MANY, group, [e[0] for e in events],
                                      [e[1] for e in events])
        claims: list[Claim] = []
        for (event_id, event_type), row in zip(events, rows, strict=True):
            if row["new"]:
                claims.append(Claim("new"))
            elif row["status"] is not None:
                claims.append(Claim(row["status"], row["attempts"], row["first_failure_at"]))
            else:  # inserted by another transaction after this statement began: ask again
                claims.append(await self.claim(group, event_id, event_type))
        return claims

    async def failed(
        self, group: str, event_id: str, attempts: int, error: str, at: datetime
    ) -> None:
        """Remember a failed attempt of a still reserved event (it goes to a retry topic)."""
        await self._pool.execute(
            "UPDATE processed_events SET attempts = $3, last_error = $4,"
            " first_failure_at = COALESCE(first_failure_at, $5), last_failure_at = $5,"
            " updated_at = now() WHERE group_name = $1 AND event_id = $2 AND status = 'reserved'",
            group, event_id, attempts, error[:2000], at)

    async def finish(
        self, conn: Any, group: str, event_id: str,
        status: Literal["done", "dead_lettered"], attempts: int, error: str | None = None,
    ) -> bool:
        """In the caller's transaction: mark a reserved event finished. False if another
        worker finished it first (then the caller must not record the effect again)."""
        row = await conn.fetchrow(
            "UPDATE processed_events SET status = $3, attempts = $4,"
            " last_error = COALESCE($5, last_error), finished_at = now(), updated_at = now()"
            " WHERE group_name = $1 AND event_id = $2 AND status = 'reserved' RETURNING 1",
            group, event_id, status, attempts, error)
        return row is not None

    async def finish_many(
        self, conn: Any, group: str, status: Literal["done", "dead_lettered"],
        events: Sequence[tuple[str, int]],
    ) -> list[bool]:
        """`finish` for each (event_id, attempts) in one statement, in the caller's
        transaction; True for each event this call finished, in order."""
        rows = await conn.fetch(_FINISH_MANY, group, status, [e[0] for e in events],
                                [e[1] for e in events])
        won = {row["n"] for row in rows}
        return [n in won for n in range(1, len(events) + 1)]

    async def status(self, group: str, event_id: str) -> str | None:
        value = await self._pool.fetchval(
            "SELECT status FROM processed_events WHERE group_name = $1 AND event_id = $2",
            group, event_id)
        return str(value) if value is not None else None

    async def reopen(self, group: str, event_id: str) -> Claim | None:
        """A redrive: move a dead-lettered event back to reserved, as a `reserved` claim
        (attempts kept); None when it is not dead-lettered (done, or reopened already)."""
        row = await self._pool.fetchrow(
            "UPDATE processed_events SET status = 'reserved', finished_at = NULL, updated_at = now()"
            " WHERE group_name = $1 AND event_id = $2 AND status = 'dead_lettered'"
            " RETURNING attempts, first_failure_at", group, event_id)
        return None if row is None else Claim("reserved", row["attempts"], row["first_failure_at"])


# Rows are inserted in event_id order, so two claimers of overlapping batches wait for each
# other instead of deadlocking. The outer SELECT sees the table as it was before the INSERT:
# `p` is the earlier row of an event that was not new.
_CLAIM_MANY = """
WITH input AS (
    SELECT event_id, event_type, n
    FROM unnest($2::uuid[], $3::text[]) WITH ORDINALITY AS t(event_id, event_type, n)
), inserted AS (
    INSERT INTO processed_events (group_name, event_id, event_type, status)
    SELECT $1, event_id, event_type, 'reserved' FROM input ORDER BY event_id
    ON CONFLICT (group_name, event_id) DO NOTHING
    RETURNING event_id
)
SELECT i.n, ins.event_id IS NOT NULL AS new, p.status, p.attempts, p.first_failure_at
FROM input i
LEFT JOIN inserted ins ON ins.event_id = i.event_id
LEFT JOIN processed_events p ON p.group_name = $1 AND p.event_id = i.event_id
ORDER BY i.n
"""

_FINISH_MANY = """
UPDATE processed_events p
SET status = $2, attempts = u.attempts, finished_at = now(), updated_at = now()
FROM unnest($3::uuid[], $4::integer[]) WITH ORDINALITY AS u(event_id, attempts, n)
WHERE p.group_name = $1 AND p.event_id = u.event_id AND p.status = 'reserved'
RETURNING u.n
"""
