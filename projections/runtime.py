"""Running a projection on hub's one consumer loop.

Each batch is applied and its offsets stored in ONE PostgreSQL transaction, and on
every assignment the loop starts from the offsets in PostgreSQL (`start_offsets`), so
the view is exact after any crash; the offsets the loop commits to Kafka only serve
lag monitoring. When a rebuild swaps in a new version, the running projection notices
(in its next batch transaction, or by polling the registry when idle), drops what it
was doing and restarts the loop from the new version's offsets.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_BEGINNING

from hub.consumer import ConsumerLoop, LoopSettings, Received
from hub.consumer_client import TP
from hub.producer import HubProducer
from hub.schemastore import SchemaStore
from hub.topics import Topics
from projections import registry
from projections.base import Projection, batch_offsets

__all__ = ["Applier", "ProjectionRunner", "group_id"]

log = logging.getLogger(__name__)

OnApplied = Callable[[Mapping[TP, int], int], None]


def group_id(topics: Topics, name: str, suffix: str = "") -> str:
    """Consumer group of a projection: `<prefix>hub.projection.<name>[.<suffix>]`."""
    return topics.name(f"projection.{name}" + (f".{suffix}" if suffix else ""))


@dataclass(eq=False)
class Applier:
    """The batch handler and start-offsets callback of one projection version.

    `pipelined`: return as soon as the batch's transaction is started in the background,
    so the loop decodes the next batch while PostgreSQL works (transactions still run one
    after the other, in order; a failed one is retried until it succeeds). For a rebuild,
    whose group has one member: the runner of an incremental projection keeps it off, so
    no transaction of a revoked partition is still in flight when its next owner starts.
    `synchronous_commit=False` does not wait for the WAL flush at commit: a crash may lose
    the last transactions, rows and offsets together, which are then applied again.
    """

    projection: Projection
    pool: Any
    version: int
    stop: asyncio.Event
    check_active: bool = True
    on_applied: OnApplied | None = None
    pipelined: bool = False
    synchronous_commit: bool = True
    changed: bool = field(default=False, init=False)
    _pending: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    async def start_offsets(self, tps: list[TP]) -> dict[TP, int]:
        await self.flush()
        async with self.pool.acquire() as conn:
            stored = await registry.load_offsets(conn, self.projection.name, self.version)
        return {tp: stored.get(tp, OFFSET_BEGINNING) for tp in tps}

    async def __call__(self, batch: list[Received]) -> None:
        if self.changed:
            return  # the loop is stopping; this version is no longer ours to write
        if not self.pipelined:
            await self._write(batch)  # the loop retries the batch if this raises
            return
        await self.flush()
        self._pending = asyncio.create_task(self._retrying(batch))

    async def flush(self) -> None:
        """Wait for the transaction started by a pipelined call, if any."""
        if self._pending is not None:
            task, self._pending = self._pending, None
            await task

    async def _retrying(self, batch: list[Received]) -> None:
        delay = 0.5
        while True:
            try:
                await self._write(batch)
                return
            except Exception:
                log.exception("projection %s: batch transaction failed; retrying in %.1f s",
                              self.projection.name, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _write(self, batch: list[Received]) -> None:
        name = self.projection.name
        offsets = batch_offsets(batch)
        async with self.pool.acquire() as conn, conn.transaction():
            if not self.synchronous_commit:
                await conn.execute("SET LOCAL synchronous_commit = off")
            if self.check_active:
                active = await conn.fetchval(
                    "SELECT active_version FROM projections WHERE name = $1 FOR SHARE", name)
                if active != self.version:
                    self.changed = True
                    self.stop.set()
                    log.info("projection %s: version %s is now active; leaving v%d",
                             name, active, self.version)
                    return
            await self.projection.apply(conn, self.version, batch)
            await registry.save_offsets(conn, name, self.version, offsets)
        if self.on_applied is not None:
            self.on_applied(offsets, len(batch))


@dataclass
class ProjectionRunner:
    """Keeps one projection's active version up to date until `run`'s stop event."""

    projection: Projection
    pool: Any
    producer: HubProducer
    schemas: SchemaStore
    topics: Topics
    bootstrap: str
    batch_size: int = 1000
    watch_interval_s: float = 1.0
    librdkafka: Mapping[str, Any] = field(default_factory=dict)
    on_applied: OnApplied | None = None

    def loop_settings(self, suffix: str = "") -> LoopSettings:
        return loop_settings(self.projection, self.topics, self.batch_size, suffix, self.librdkafka)

    async def run(self, stop: asyncio.Event) -> None:
        name = self.projection.name
        while not stop.is_set():
            version = await registry.ensure_active(self.pool, self.projection)
            loop_stop = asyncio.Event()
            applier = Applier(self.projection, self.pool, version, loop_stop,
                              on_applied=self.on_applied)
            loop = ConsumerLoop(self.loop_settings(), bootstrap=self.bootstrap,
                                schemas=self.schemas, producer=self.producer,
                                batch_handler=applier, start_offsets=applier.start_offsets)
            watcher = asyncio.create_task(self._watch(version, stop, loop_stop))
            log.info("projection %s: running version %d", name, version)
            try:
                await loop.run(loop_stop)
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

    async def _watch(self, version: int, stop: asyncio.Event, loop_stop: asyncio.Event) -> None:
        """Stop the loop on `stop`, or when another version became active."""
        while not loop_stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.watch_interval_s)
            if stop.is_set():
                break
            try:
                async with self.pool.acquire() as conn:
                    active = await registry.active_version(conn, self.projection.name)
            except Exception:  # noqa: BLE001 - a database blip must not stop the projection
                log.warning("projection %s: cannot read the registry", self.projection.name,
                            exc_info=True)
                continue
            if active != version:
                log.info("projection %s: v%s swapped in; restarting from its offsets",
                         self.projection.name, active)
                break
        loop_stop.set()


def loop_settings(projection: Projection, topics: Topics, batch_size: int, suffix: str = "",
                  librdkafka: Mapping[str, Any] | None = None) -> LoopSettings:
    group = group_id(topics, projection.name, suffix)
    return LoopSettings(
        group_id=group,
        topics=projection.topics(topics),
        dlq_topic=topics.dlq(f"projection.{projection.name}"),
        batch_size=batch_size,
        # A 16 MiB prefetch queue keeps a replay's memory flat without starving it.
        librdkafka={"queued.max.messages.kbytes": 16384, **(librdkafka or {})},
    )
