"""`hub projections rebuild`: replay the log into a new version, then swap it in.

1. Take the projection's rebuild lock; drop versions left `building` by a rebuild that
   died.
2. Plan: per partition, start at the oldest offset (or the first at/after --from-time)
   and end at the high watermark seen now.
3. Create version N+1 (empty tables, offsets = start) and replay into it on the consumer
   loop with its own group, each batch and its offsets in one transaction, until every
   partition reached its planned end. The incremental projection keeps running on N.
4. Swap: one transaction makes N+1 active and re-points the stable views; the running
   projection sees it and continues from N+1's offsets (the records it had applied to N
   after the planned end are applied again to N+1).
5. Drop version N. See docs/adr/0006-projection-rebuild.md.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from hub.consumer import ConsumerLoop
from hub.consumer_client import TP
from hub.errors import HubError
from hub.producer import HubProducer
from hub.schemastore import SchemaStore
from hub.topics import Topics
from projections import registry
from projections.base import Projection
from projections.kafka_offsets import ReplayPlan, replay_plan
from projections.progress import ProgressLine, Tracker
from projections.runtime import Applier, loop_settings

__all__ = ["RebuildBusy", "RebuildInterrupted", "RebuildResult", "rebuild"]

log = logging.getLogger(__name__)


class RebuildBusy(HubError):
    """Another rebuild of the same projection holds the lock."""


class RebuildInterrupted(HubError):
    """The rebuild was stopped before it caught up; its half-built version was dropped."""


@dataclass(frozen=True)
class RebuildResult:
    name: str
    version: int
    replaced: int | None
    events: int
    planned: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


@asynccontextmanager
async def _rebuild_lock(pool: Any, name: str) -> AsyncIterator[None]:
    async with pool.acquire() as conn:
        key = registry.lock_key("rebuild", name)
        got = await conn.fetchval(
            "SELECT pg_try_advisory_lock(hashtext(current_schema() || $1))", key)
        if not got:
            raise RebuildBusy(f"a rebuild of {name} is already running in this schema")
        try:
            yield
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext(current_schema() || $1))", key)


async def rebuild(
    projection: Projection, *, pool: Any, producer: HubProducer, schemas: SchemaStore,
    topics: Topics, bootstrap: str, stop: asyncio.Event | None = None,
    from_time: datetime | None = None, batch_size: int = 2000,
    progress: TextIO | None = None, keep_old: bool = False,
    librdkafka: Mapping[str, Any] | None = None,
) -> RebuildResult:
    """Build a new version from the log and swap it in; RebuildInterrupted if `stop`
    is set first (nothing changes for readers then)."""
    name = projection.name
    async with _rebuild_lock(pool, name):
        async with pool.acquire() as conn:
            abandoned = [v.version for v in await registry.versions(conn, name)
                         if v.state == "building"]
        for version in abandoned:
            log.warning("dropping %s v%d, left half-built by an earlier rebuild", name, version)
            await registry.drop_version(pool, projection, version)
        plan = await asyncio.to_thread(replay_plan, bootstrap, projection.topics(topics),
                                       from_time)
        version = await registry.create_version(pool, projection, from_time=from_time,
                                                start=plan.start)
        started = time.monotonic()
        try:
            events = await _replay(projection, version, plan, pool=pool, producer=producer,
                                   schemas=schemas, topics=topics, bootstrap=bootstrap,
                                   stop=stop or asyncio.Event(), batch_size=batch_size,
                                   progress=progress, librdkafka=librdkafka)
        except BaseException:
            await asyncio.shield(registry.drop_version(pool, projection, version))
            raise
        seconds = time.monotonic() - started
        replaced = await registry.swap(pool, projection, version)
        log.info("projection %s: v%d active (replaced v%s)", name, version, replaced)
        if replaced is not None and not keep_old:
            await registry.drop_version(pool, projection, replaced)
        return RebuildResult(name, version, replaced, events, plan.total, seconds)


async def _replay(projection: Projection, version: int, plan: ReplayPlan, *, pool: Any,
                  producer: HubProducer, schemas: SchemaStore, topics: Topics, bootstrap: str,
                  stop: asyncio.Event, batch_size: int, progress: TextIO | None,
                  librdkafka: Mapping[str, Any] | None) -> int:
    """Apply every record of `plan` to `version`; returns the events applied."""
    positions: dict[TP, int] = dict(plan.start)
    pending = {tp for tp, end in plan.end.items() if plan.start[tp] < end}
    tracker = Tracker(plan.total)
    loop_stop = asyncio.Event()
    applied = 0

    def on_applied(offsets: Mapping[TP, int], n: int) -> None:
        nonlocal applied
        applied += n
        for tp, offset in offsets.items():
            end = plan.end.get(tp, offset)
            tracker.add(max(0, min(offset, end) - min(positions.get(tp, offset), end)))
            positions[tp] = offset
            if offset >= end:
                pending.discard(tp)
        if not pending:
            loop_stop.set()

    if pending:
        # Not visible before the swap, whose synchronous commit flushes the WAL before it.
        applier = Applier(projection, pool, version, loop_stop, check_active=False,
                          on_applied=on_applied, pipelined=True, synchronous_commit=False)
        loop = ConsumerLoop(loop_settings(projection, topics, batch_size, "rebuild", librdkafka),
                            bootstrap=bootstrap, schemas=schemas, producer=producer,
                            batch_handler=applier, start_offsets=applier.start_offsets)
        line = ProgressLine(f"rebuild {projection.name} v{version}", tracker, progress) \
            if progress is not None else None
        tasks = [asyncio.create_task(_forward(stop, loop_stop))]
        if line is not None:
            tasks.append(asyncio.create_task(line.run(loop_stop)))
        try:
            await loop.run(loop_stop)
        finally:
            await applier.flush()
            loop_stop.set()
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if line is not None:
            line.finish()
    if pending:
        raise RebuildInterrupted(
            f"rebuild of {projection.name} v{version} stopped at {tracker.done:,} of "
            f"{tracker.total:,} events; the half-built version was dropped and the active one is unchanged")
    return applied


async def _forward(stop: asyncio.Event, loop_stop: asyncio.Event) -> None:
    await stop.wait()
    loop_stop.set()
