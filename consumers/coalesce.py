"""Many concurrent callers, one round trip: the worker's batched claims and group commits.

Each caller awaits its own item's result; `flush` runs for every item submitted in the
same event-loop iteration, and for those that arrived while the previous flush was running
(group commit), so batches grow with the load and a lone item waits for nothing.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["Coalescer"]

T = TypeVar("T")
R = TypeVar("R")

Flush = Callable[[list[T]], Awaitable[Sequence[R | BaseException]]]


class Coalescer(Generic[T, R]):
    """`await submit(item)` returns `item`'s result from one `flush(items)` call.

    `flush` returns one result per item, in order: an exception in that list is raised to
    its item's caller alone; an exception raised by `flush` goes to every caller of the
    batch. At most `max_batch` items a call and `parallel` calls at once. An item whose
    caller was cancelled before its flush started is left out.
    """

    def __init__(self, flush: Flush[T, R], *, max_batch: int = 256, parallel: int = 1) -> None:
        if max_batch < 1 or parallel < 1:
            raise ValueError(f"max_batch={max_batch} and parallel={parallel} must be >= 1")
        self._flush = flush
        self._max_batch = max_batch
        self._parallel = parallel
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._kick_scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, future))
        if not self._kick_scheduled:
            self._kick_scheduled = True
            loop.call_soon(self._kick)  # after the other callers of this iteration
        return await future

    async def aclose(self) -> None:
        """Wait for the flushes already started."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _kick(self) -> None:
        self._kick_scheduled = False
        while self._pending and len(self._tasks) < self._parallel:
            batch = [(i, f) for i, f in self._pending[:self._max_batch] if not f.done()]
            del self._pending[:self._max_batch]
            if batch:
                task = asyncio.get_running_loop().create_task(self._run(batch))
                self._tasks.add(task)
                task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._pending:
            self._kick()

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._flush([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"flush returned {len(results)} results for {len(batch)} items")
        except BaseException as exc:  # noqa: BLE001 - handed to every caller of the batch
            for _, future in batch:
                if future.done():
                    continue
                if isinstance(exc, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
