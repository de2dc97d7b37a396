"""The confluent-kafka Consumer behind hub's consumer loop, owned by one thread.

Every call on the librdkafka handle (consume, store_offsets, pause, resume, commit,
close) runs on this client's single worker thread, so none races another. The asyncio
side only queues intentions (`store`, `want_paused`); the thread applies them before
and after each `consume`, and inside the rebalance callbacks. The callbacks hand
control to the asyncio loop (`hooks`) and block until it has finished or abandoned
the work of the partitions concerned.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

__all__ = ["TP", "ConsumerClient", "RebalanceHooks"]

log = logging.getLogger(__name__)

TP = tuple[str, int]
R = TypeVar("R")


@dataclass(frozen=True)
class RebalanceHooks:
    """Called on the client thread. `assigned` returns start offsets to seek to (may be
    empty); `revoked(tps, lost)` returns once the work of those partitions is settled."""

    assigned: Callable[[list[TP]], Mapping[TP, int]]
    revoked: Callable[[list[TP], bool], None]


class ConsumerClient:
    def __init__(self, conf: Mapping[str, Any], hooks: RebalanceHooks) -> None:
        self._consumer = Consumer(dict(conf), logger=logging.getLogger("hub.librdkafka"))
        self._hooks = hooks
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="hub-consumer")
        self._lock = threading.Lock()
        self._stores: dict[TP, int] = {}
        self._want_paused: frozenset[TP] = frozenset()
        # Owned by the client thread.
        self._assigned: set[TP] = set()
        self._paused: set[TP] = set()
        self._closed = False

    async def run(self, fn: Callable[..., R], *args: Any) -> R:
        """Run `fn(*args)` on the client thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    # -- intentions, from any thread ------------------------------------------------

    def store(self, tp: TP, offset: int) -> None:
        """Queue `offset` (the next offset to read) as the stored offset of `tp`."""
        with self._lock:
            if offset > self._stores.get(tp, -1):
                self._stores[tp] = offset

    def want_paused(self, tps: Collection[TP]) -> None:
        """The partitions that should be paused now; the others are resumed."""
        with self._lock:
            self._want_paused = frozenset(tps)

    # -- on the client thread ---------------------------------------------------------

    def subscribe(self, topics: list[str]) -> None:
        self._consumer.subscribe(
            topics, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
        )

    def poll(self, max_messages: int, timeout: float, linger: float | None = None
             ) -> list[Message]:
        """Up to `max_messages`, waiting at most `timeout` s for a full batch. With `linger`,
        return `linger` s after the first message instead (low latency at low rates)."""
        self._apply()
        if linger is None:
            messages: list[Message] = self._consumer.consume(max_messages, timeout)
        else:
            messages = self._consumer.consume(1, timeout)
            if messages and max_messages > 1:
                messages += self._consumer.consume(max_messages - 1, linger)
        self._apply()
        return messages

    def commit(self) -> None:
        """Apply queued stores and commit the stored offsets synchronously."""
        self._apply()
        self._commit()

    def close(self) -> None:
        """Commit what is stored, leave the group (the revoke hook runs), release the handle."""
        if self._closed:
            return
        self.commit()
        self._consumer.close()
        self._closed = True

    def shutdown_thread(self) -> None:
        self._executor.shutdown(wait=True)

    def _apply(self, only: Collection[TP] | None = None) -> None:
        with self._lock:
            picked = {tp: o for tp, o in self._stores.items() if only is None or tp in only}
            for tp in picked:
                del self._stores[tp]
            want = self._want_paused
        offsets = [TopicPartition(t, p, o) for (t, p), o in picked.items() if (t, p) in self._assigned]
        if offsets:
            try:
                self._consumer.store_offsets(offsets=offsets)
            except KafkaException as exc:
                log.warning("cannot store offsets %s: %s", offsets, exc)
        to_pause = (set(want) & self._assigned) - self._paused
        to_resume = self._paused - set(want)
        if to_pause:
            self._consumer.pause([TopicPartition(t, p) for t, p in sorted(to_pause)])
            self._paused |= to_pause
        if to_resume:
            self._consumer.resume([TopicPartition(t, p) for t, p in sorted(to_resume)])
            self._paused -= to_resume

    def _commit(self) -> None:
        try:
            self._consumer.commit(asynchronous=False)
        except KafkaException as exc:
            if exc.args and exc.args[0].code() == KafkaError._NO_OFFSET:
                return  # nothing stored since the last commit
            log.warning("offset commit failed: %s", exc)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        tps = [(p.topic, p.partition) for p in partitions]
        try:
            starts = self._hooks.assigned(tps)
        except Exception:
            log.exception("start offsets could not be read; leaving the assignment unconsumed")
            raise
        for p in partitions:
            if (p.topic, p.partition) in starts:
                p.offset = starts[(p.topic, p.partition)]
        consumer.assign(partitions)
        self._assigned |= set(tps)
        stale = self._paused & set(tps)
        if stale:  # librdkafka may keep a partition's pause across a rebalance
            consumer.resume([TopicPartition(t, p) for t, p in sorted(stale)])
            self._paused -= stale
        log.info("assigned %s", _show(tps))

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        tps = [(p.topic, p.partition) for p in partitions]
        self._hooks.revoked(tps, False)
        self._apply(only=set(tps))
        self._commit()
        self._forget(consumer, tps)
        log.info("revoked %s", _show(tps))

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        tps = [(p.topic, p.partition) for p in partitions]
        self._hooks.revoked(tps, True)
        with self._lock:
            for tp in tps:
                self._stores.pop(tp, None)
        self._forget(consumer, tps)
        log.warning("lost %s (offsets of unfinished work not committed)", _show(tps))

    def _forget(self, consumer: Consumer, tps: list[TP]) -> None:
        paused = self._paused & set(tps)
        if paused:
            consumer.resume([TopicPartition(t, p) for t, p in sorted(paused)])
            self._paused -= paused
        self._assigned -= set(tps)


def _show(tps: list[TP]) -> str:
    return ", ".join(f"{t}[{p}]" for t, p in sorted(tps)) or "nothing"
