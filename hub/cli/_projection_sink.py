"""`hub replay --to-projection P`: replayed events applied to the active version of a
projection, through the projections' own `Projection.apply`, in batches, each in one
transaction. The projection's stored offsets are not touched: `apply` is idempotent,
so events it already holds change nothing, and its runtime carries on where it was."""
from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

from hub.config import Settings
from hub.consumer import Received
from hub.envelope import Event
from hub.errors import CliError
from hub.logreader import LogRecord
from hub.replay import decode
from hub.schemastore import SchemaStore

__all__ = ["ProjectionSink"]


class ProjectionSink:
    def __init__(self, settings: Settings, name: str, store: SchemaStore, batch: int = 500) -> None:
        try:
            from projections import registry
            from projections.deps import connected, load_env
        except ImportError as exc:
            raise CliError(f"--to-projection needs the projections runtime (projections.deps "
                           f"load_env/connected, projections.registry): {exc}", 2) from None
        self._registry = registry
        self._store = store
        self._batch_size = batch
        self._batch: list[Received] = []
        self.undecodable = 0
        self._runner = asyncio.Runner()
        self._stack = AsyncExitStack()
        env = load_env(settings)
        self.projection: Any = env.projection(name)
        try:
            self._deps = self._runner.run(self._stack.enter_async_context(connected(env)))
            self._version = self._runner.run(self._active())
        except BaseException:
            self._runner.run(self._stack.aclose())
            self._runner.close()
            raise

    async def _active(self) -> int:
        async with self._deps.pool.acquire() as conn:
            version = await self._registry.active_version(conn, self.projection.name)
        if version is None:
            raise CliError(f"projection {self.projection.name} has no active version yet; "
                           "start it first (its runtime creates version 1)", 2)
        return int(version)

    def write(self, record: LogRecord) -> None:
        event = decode(self._store, record)
        if not isinstance(event, Event):
            self.undecodable += 1
            return
        self._batch.append(Received(record.topic, record.partition, record.offset, record.key,
                                    record.value or b"", record.headers, event))
        if len(self._batch) >= self._batch_size:
            self._flush()

    def _flush(self) -> None:
        batch, self._batch = self._batch, []
        if batch:
            self._runner.run(self._apply(batch))

    async def _apply(self, batch: list[Received]) -> None:
        async with self._deps.pool.acquire() as conn, conn.transaction():
            await self.projection.apply(conn, self._version, batch)

    def close(self) -> None:
        try:
            self._flush()
        finally:
            self._runner.run(self._stack.aclose())
            self._runner.close()
