"""The worker's database round trips, shared by events in flight together.

Claims of events that start together are one `claim_many` statement. Events whose
provider call finished while a commit was in flight share the next transaction
(group commit): each still gets its own record and `status='done'` in a committed
transaction before its handler returns, hence before its offset is stored, and only
once the broker acknowledged its outcome event.
"""
from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from consumers.coalesce import Coalescer
from consumers.dedupe import Claim, ProcessedEvents
from consumers.ports import Effect, Integration
from hub.envelope import Event

__all__ = ["Done", "GroupCommit"]


@dataclass(frozen=True, slots=True)
class Done:
    """A provider answer to record once `outcome_acked` (its outcome event's ack) is done."""

    event: Event
    effect: Effect
    attempt: int
    outcome_acked: asyncio.Future[None]


class GroupCommit:
    """`claim` and `done` for one consumer group, batched across concurrent callers."""

    def __init__(self, pool: Any, dedupe: ProcessedEvents, integration: Integration,
                 group: str) -> None:
        self._pool = pool
        self._dedupe = dedupe
        self._integration = integration
        self._group = group
        self._claims: Coalescer[tuple[str, str], Claim] = Coalescer(
            self._claim_batch, max_batch=500, parallel=2)
        self._commits: Coalescer[Done, bool] = Coalescer(
            self._commit_batch, max_batch=256, parallel=2)

    async def claim(self, event_id: str, event_type: str) -> Claim:
        return await self._claims.submit((event_id, event_type))

    async def done(self, item: Done) -> bool:
        """Record the effect and mark the event done; False if another worker finished it
        first (then nothing is recorded). Raises the outcome's ProduceError, or the
        database's error, for this event alone."""
        return await self._commits.submit(item)

    async def aclose(self) -> None:
        """Wait for the round trips already started."""
        await self._claims.aclose()
        await self._commits.aclose()

    async def _claim_batch(self, items: list[tuple[str, str]]) -> list[Claim | BaseException]:
        first: dict[str, int] = {}
        for n, (event_id, _) in enumerate(items):
            first.setdefault(event_id, n)
        if len(first) == len(items):
            return list(await self._dedupe.claim_many(self._group, items))
        # A repeated id (the worker never runs two copies at once, but be right): one at a time.
        claims = dict(zip(first, await self._dedupe.claim_many(
            self._group, [items[n] for n in first.values()]), strict=True))
        out: list[Claim | BaseException] = []
        for n, (event_id, event_type) in enumerate(items):
            out.append(claims[event_id] if first[event_id] == n
                       else await self._dedupe.claim(self._group, event_id, event_type))
        return out

    async def _commit_batch(self, items: list[Done]) -> list[bool | BaseException]:
        acks = await asyncio.gather(*(i.outcome_acked for i in items), return_exceptions=True)
        results: list[bool | BaseException] = [
            a if isinstance(a, BaseException) else False for a in acks]
        ready = [n for n, a in enumerate(acks) if not isinstance(a, BaseException)]
        if not ready:
            return results
        try:
            won = await self._record([items[n] for n in ready])
        except Exception:
            if len(ready) == 1:
                raise
            # One bad record must not hold back the others: each in a transaction of its own.
            for n in ready:
                try:
                    results[n] = (await self._record([items[n]]))[0]
                except Exception as exc:  # noqa: BLE001 - raised to that event's handler
                    results[n] = exc
            return results
        for n, finished in zip(ready, won, strict=True):
            results[n] = finished
        return results

    async def _record(self, items: Sequence[Done]) -> list[bool]:
        async with self._pool.acquire() as conn, conn.transaction():
            won = await self._dedupe.finish_many(conn, self._group, "done",
                                                 [(i.event.id, i.attempt) for i in items])
            await self._integration.record_many(
                conn, [(i.event, i.effect) for i, w in zip(items, won, strict=True) if w])
        return won
