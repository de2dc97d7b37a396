"""Key-ordered scheduling and the contiguous-offset watermark: the consumer loop's pure rules.

No Kafka, no asyncio. A *lane* is one topic partition. Within a lane, items with the
same key run one at a time in arrival order; items with different keys run
concurrently up to the lane's limit. The watermark says up to which offset every
message of a lane is done, so the loop never stores an offset past unfinished work.
"""
from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["KeyOrderedScheduler", "OffsetWatermark"]

T = TypeVar("T")


@dataclass
class _Lane(Generic[T]):
    running: int = 0
    chains: dict[Hashable, deque[T]] = field(default_factory=dict)
    # Keys whose head item waits for a free slot, in the order they became ready.
    ready: deque[Hashable] = field(default_factory=deque)


class KeyOrderedScheduler(Generic[T]):
    """Decides which submitted items may start now.

    `submit` and `complete` return the items the caller must start, in order. An item
    starts only when it is the oldest unfinished item of its key in its lane and the
    lane runs fewer than `limit` items.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"concurrency limit must be >= 1, got {limit}")
        self.limit = limit
        self._lanes: dict[Hashable, _Lane[T]] = {}

    def submit(self, lane: Hashable, key: Hashable, item: T) -> list[T]:
        state = self._lanes.setdefault(lane, _Lane())
        chain = state.chains.get(key)
        if chain is not None:
            chain.append(item)
            return []
        state.chains[key] = deque([item])
        if state.running < self.limit:
            state.running += 1
            return [item]
        state.ready.append(key)
        return []

    def complete(self, lane: Hashable, key: Hashable) -> list[T]:
        """The running head item of `key` finished; returns the items to start next."""
        state = self._lanes[lane]
        chain = state.chains[key]
        chain.popleft()
        state.running -= 1
        if chain:
            state.ready.append(key)
        else:
            del state.chains[key]
        started: list[T] = []
        while state.ready and state.running < self.limit:
            state.running += 1
            started.append(state.chains[state.ready.popleft()][0])
        return started

    def drop(self, lane: Hashable) -> list[T]:
        """Forget a lane (partition revoked); returns its items that had not started."""
        state = self._lanes.pop(lane, None)
        if state is None:
            return []
        waiting: list[T] = []
        ready = set(state.ready)
        for key, chain in state.chains.items():
            items = list(chain)
            waiting.extend(items if key in ready else items[1:])
        return waiting

    def running(self, lane: Hashable) -> int:
        state = self._lanes.get(lane)
        return state.running if state is not None else 0

    def queued(self, lane: Hashable) -> int:
        """Items of `lane` submitted and not completed (running or waiting)."""
        state = self._lanes.get(lane)
        return sum(len(c) for c in state.chains.values()) if state is not None else 0


class OffsetWatermark:
    """The offset to store for one partition: every message below it is done.

    `add` each offset as it is received (in increasing order), `done` when its work is
    finished. `committable` is the lowest unfinished offset, or one past the highest
    offset seen when nothing is unfinished; None before any offset was added.
    """

    def __init__(self) -> None:
        self._pending: set[int] = set()
        self._heap: list[int] = []
        self._next: int | None = None

    def add(self, offset: int) -> None:
        if self._next is not None and offset < self._next:
            raise ValueError(f"offset {offset} added after {self._next - 1}; offsets must grow")
        self._pending.add(offset)
        heapq.heappush(self._heap, offset)
        self._next = offset + 1

    def done(self, offset: int) -> int | None:
        """Mark `offset` finished; returns the new committable offset if it moved, else None."""
        if offset not in self._pending:
            raise KeyError(f"offset {offset} is not in flight")
        before = self.committable
        self._pending.discard(offset)
        while self._heap and self._heap[0] not in self._pending:
            heapq.heappop(self._heap)
        after = self.committable
        return after if after != before else None

    def seen(self, offset: int) -> bool:
        """True if `offset` is below one already added (a redelivered duplicate)."""
        return self._next is not None and offset < self._next

    @property
    def committable(self) -> int | None:
        if self._heap:
            return self._heap[0]
        return self._next

    @property
    def in_flight(self) -> int:
        return len(self._pending)
