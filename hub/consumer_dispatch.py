"""Per-message work for the consumer loop: key-ordered tasks, watermarks, held records.

The loop hands each record's work here. Records of one key run in order, other keys
of a partition concurrently up to the limit (hub.scheduling decides); when a record is
done its partition's watermark may move, and the new offset is handed to `store`.
A record with a due time in the future is held, with everything after it in its
partition, until then. A handler that raises is retried with backoff, never skipped.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from hub.scheduling import KeyOrderedScheduler, OffsetWatermark

__all__ = ["KeyedDispatcher", "Work"]

log = logging.getLogger("hub.consumer")

TP = tuple[str, int]


@dataclass(eq=False)
class Work:
    """One record's work: `run()` returns when the record is done."""

    tp: TP
    offset: int
    key: object
    due: float | None
    run: Callable[[], Awaitable[None]]
    extra: dict[str, Any]


class KeyedDispatcher:
    def __init__(self, concurrency: int, store: Callable[[TP, int], None],
                 changed: Callable[[], None]) -> None:
        self._sched: KeyOrderedScheduler[Work] = KeyOrderedScheduler(concurrency)
        self._store = store
        self._changed = changed
        self._marks: dict[TP, OffsetWatermark] = {}
        self._tasks: dict[TP, set[asyncio.Task[None]]] = {}
        self._held: dict[TP, deque[Work]] = {}
        self._wakeups: dict[TP, asyncio.TimerHandle] = {}
        self._closing: set[TP] = set()

    @property
    def in_flight(self) -> int:
        """Records received and not done: running, waiting for their key, or held."""
        return sum(m.in_flight for m in self._marks.values())

    @property
    def held(self) -> frozenset[TP]:
        """Partitions with a record held until its due time (to be paused)."""
        return frozenset(self._held)

    def open(self, tps: Iterable[TP]) -> None:
        """Partitions (re)assigned: start their bookkeeping afresh."""
        for tp in tps:
            self._closing.discard(tp)
            self._marks.pop(tp, None)

    def accepts(self, tp: TP, offset: int) -> bool:
        """Whether a record is new here: its partition is open and the offset not seen."""
        if tp in self._closing:
            return False
        mark = self._marks.get(tp)
        return mark is None or not mark.seen(offset)

    def add(self, work: Work) -> None:
        self._marks.setdefault(work.tp, OffsetWatermark()).add(work.offset)
        if self._held.get(work.tp) or (work.due is not None and work.due > time.time()):
            self._hold(work)
        else:
            self._submit(work)

    async def settle(self, tps: Collection[TP], grace: float) -> dict[TP, int]:
        """Let running work of `tps` finish for up to `grace` seconds, abandon the rest
        and forget those partitions; returns the offset up to which each is done."""
        self._closing.update(tps)
        for tp in tps:
            self._held.pop(tp, None)
            timer = self._wakeups.pop(tp, None)
            if timer is not None:
                timer.cancel()
        running = [t for tp in tps for t in self._tasks.get(tp, ())]
        if running:
            _done, pending = await asyncio.wait(running, timeout=grace) if grace > 0 else (
                set(), set(running))
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
                log.warning("abandoned %d unfinished records of %s; they will be read again",
                            len(pending), sorted(tps))
        done: dict[TP, int] = {}
        for tp in tps:
            self._sched.drop(tp)
            self._tasks.pop(tp, None)
            mark = self._marks.pop(tp, None)
            if mark is not None and mark.committable is not None:
                done[tp] = mark.committable
        return done

    def _submit(self, work: Work) -> None:
        for ready in self._sched.submit(work.tp, work.key, work):
            self._start(ready)

    def _start(self, work: Work) -> None:
        task = asyncio.get_running_loop().create_task(self._run(work))
        tasks = self._tasks.setdefault(work.tp, set())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _run(self, work: Work) -> None:
        delay = 0.5
        while True:
            try:
                await work.run()
                break
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("handler failed; retrying the same record in %.1f s", delay,
                              extra=work.extra)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        moved = self._marks[work.tp].done(work.offset)
        if moved is not None:
            self._store(work.tp, moved)
        following = self._sched.complete(work.tp, work.key)
        if work.tp not in self._closing:
            for ready in following:
                self._start(ready)
        self._changed()

    def _hold(self, work: Work) -> None:
        queue = self._held.setdefault(work.tp, deque())
        queue.append(work)
        if len(queue) == 1:
            self._schedule_wakeup(work.tp)
        self._changed()

    def _schedule_wakeup(self, tp: TP) -> None:
        delay = max(0.0, (self._held[tp][0].due or 0.0) - time.time())
        self._wakeups[tp] = asyncio.get_running_loop().call_later(delay, self._wake, tp)

    def _wake(self, tp: TP) -> None:
        self._wakeups.pop(tp, None)
        queue = self._held.get(tp)
        now = time.time()
        while queue and (queue[0].due is None or queue[0].due <= now):
            self._submit(queue.popleft())
        if queue:
            self._schedule_wakeup(tp)
        else:
            self._held.pop(tp, None)
        self._changed()
