"""Dedupe of events per consumer group: the `processed_events` table.

A uniqueness constraint, not a SELECT before an INSERT: `claim` reserves the event
with `INSERT ... ON CONFLICT DO NOTHING RETURNING`; `finish` moves a reserved row to
done or dead_lettered inside the caller's transaction, so only one finisher wins.
"""
from __future__ import annotations

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

    async def status(self, group: str, event_id: str) -> str | None:
        value = await self._pool.fetchval(
            "SELECT status FROM processed_events WHERE group_name = $1 AND event_id = $2",
            group, event_id)
        return str(value) if value is not None else None
