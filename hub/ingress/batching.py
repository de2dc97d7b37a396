"""Micro-batching: many concurrent requests, one database round trip per batch.

No timer: the first item of an idle batcher goes out as soon as the requests ready in this
loop iteration have queued theirs; items that arrive while batches are in flight go out
together when one returns (group commit). Light load keeps its latency, heavy load batches.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["Batcher"]

T = TypeVar("T")
R = TypeVar("R")

# Answers one batch: a result or an exception per item, in the items' order.
RunBatch = Callable[[Sequence[T]], Awaitable[Sequence[R | BaseException]]]


class Batcher(Generic[T, R]):
    """`await submit(item)` returns what `run` answered for that item, or raises the exception
    it answered (or raised for the whole batch). A submitted item always runs, even when its
    caller stops waiting."""

    def __init__(self, run: RunBatch[T, R], *, max_batch: int = 256, max_in_flight: int = 2) -> None:
        if max_batch < 1 or max_in_flight < 1:
            raise ValueError(f"max_batch and max_in_flight must be >= 1, got {max_batch}, {max_in_flight}")
        self._run = run
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._in_flight: set[asyncio.Task[None]] = set()
        self._kick_scheduled = False

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, future))
        if not self._kick_scheduled:
            self._kick_scheduled = True
            loop.call_soon(self._kick)
        return await future

    async def drain(self) -> None:
        """Wait until every submitted item has run."""
        while self._pending or self._in_flight:
            if self._in_flight:
                await asyncio.wait(set(self._in_flight))
            else:
                await asyncio.sleep(0)

    def _kick(self) -> None:
        self._kick_scheduled = False
        loop = asyncio.get_running_loop()
        while self._pending and len(self._in_flight) < self._max_in_flight:
            batch = self._pending[:self._max_batch]
            del self._pending[:self._max_batch]
            task = loop.create_task(self._flush(batch))
            self._in_flight.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        if self._pending and not self._kick_scheduled:
            self._kick()

    async def _flush(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            answers = await self._run([item for item, _ in batch])
            if len(answers) != len(batch):
                raise RuntimeError(f"batch of {len(batch)} answered with {len(answers)} results")
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:  # noqa: BLE001 - handed to every waiter of the batch
            answers = [exc] * len(batch)
        for (_, future), answer in zip(batch, answers, strict=True):
            if future.done():
                continue
            if isinstance(answer, BaseException):
                future.set_exception(answer)
            else:
                future.set_result(answer)
