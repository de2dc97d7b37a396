"""The one consumer loop every provider worker and every projection runs on.

Offsets are stored only once a message is done (its effect recorded or it was
dead-lettered) and committed every `commit_interval_ms` by librdkafka's auto commit,
synchronously on partition revoke, and on stop. Two handler shapes:

- `handler(msg)`: one message at a time per key; messages with the same key run in
  order, other keys of a partition run concurrently up to `concurrency`. A partition's
  offset is stored up to the first unfinished message. Above `max_in_flight` buffered
  messages the loop fetches nothing more until half of them are done (backpressure);
  only if that takes over `backpressure_pause_s` are the partitions paused, so that
  polling, and with it rebalancing, goes on. A record carrying a due time (retry
  topics) is held, its partition paused, until that time.
- `batch_handler(msgs)`: each poll batch as one list (projections); offsets are stored
  after it returns, and `start_offsets` can say where each assigned partition starts.

A value that does not decode goes to the group's dead-letter topic with the error; the
loop never stops for it. A handler that raises is retried with backoff (logged), so a
database outage stalls the partition instead of skipping work.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from confluent_kafka import KafkaError, Message

from hub import codec
from hub.consumer_client import TP, ConsumerClient, RebalanceHooks
from hub.consumer_dispatch import KeyedDispatcher, Work
from hub.envelope import Event, utcnow
from hub.producer import HubProducer
from hub.redelivery import Origin, due_at, failure_headers, header
from hub.schemastore import SchemaStore

__all__ = ["BatchHandler", "ConsumerLoop", "LoopSettings", "MessageHandler", "Received", "StartOffsets"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Received:
    """One decoded record and where it was read."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    event: Event

    def header(self, name: str) -> bytes | None:
        return header(self.headers, name)

    def log_extra(self) -> dict[str, Any]:
        return {"event_id": self.event.id, "correlation_id": self.event.correlation_id,
                "topic": self.topic, "partition": self.partition, "offset": self.offset}


MessageHandler = Callable[[Received], Awaitable[None]]
BatchHandler = Callable[[list[Received]], Awaitable[None]]
StartOffsets = Callable[[list[TP]], Awaitable[Mapping[TP, int]]]


@dataclass(frozen=True)
class LoopSettings:
    group_id: str
    topics: tuple[str, ...]
    dlq_topic: str
    concurrency: int = 64
    max_in_flight: int = 2000
    backpressure_pause_s: float = 5.0
    batch_size: int = 500
    poll_timeout_s: float = 0.1
    # Per-message mode: a poll returns this long after its first message rather than
    # waiting up to poll_timeout_s for a full batch (batch mode keeps full batches).
    poll_linger_s: float = 0.002
    commit_interval_ms: int = 1000
    session_timeout_ms: int = 10000
    revoke_grace_s: float = 10.0
    stop_grace_s: float = 10.0
    auto_offset_reset: str = "earliest"
    librdkafka: Mapping[str, Any] = field(default_factory=dict)

    def consumer_config(self, bootstrap: str) -> dict[str, Any]:
        conf: dict[str, Any] = {
            "bootstrap.servers": bootstrap,
            "group.id": self.group_id,
            "client.id": self.group_id,
            "enable.auto.commit": True,
            "auto.commit.interval.ms": self.commit_interval_ms,
            "enable.auto.offset.store": False,
            "auto.offset.reset": self.auto_offset_reset,
            # Eager protocol: a rebalance revokes everything, and on_assign calls assign().
            "partition.assignment.strategy": "range",
            "session.timeout.ms": self.session_timeout_ms,
            "heartbeat.interval.ms": max(500, self.session_timeout_ms // 5),
            "topic.metadata.refresh.interval.ms": 5000,
        }
        conf.update(self.librdkafka)
        return conf


@dataclass(frozen=True, slots=True)
class _Raw:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    @classmethod
    def of(cls, m: Message) -> _Raw:
        topic, partition, offset = m.topic(), m.partition(), m.offset()
        assert topic is not None and partition is not None and offset is not None
        headers = tuple((str(h[0]), _as_bytes(h[1]) or b"") for h in (m.headers() or ()))
        return cls(topic, partition, offset, _as_bytes(m.key()), _as_bytes(m.value()), headers)


def _as_bytes(value: object) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    return str(value).encode()


class ConsumerLoop:
    """Consume `settings.topics` as group `settings.group_id` until `run`'s stop event is set."""

    def __init__(
        self,
        settings: LoopSettings,
        *,
        bootstrap: str,
        schemas: SchemaStore,
        producer: HubProducer,
        handler: MessageHandler | None = None,
        batch_handler: BatchHandler | None = None,
        start_offsets: StartOffsets | None = None,
    ) -> None:
        if (handler is None) == (batch_handler is None):
            raise ValueError("give exactly one of handler= or batch_handler=")
        self.settings = settings
        self._schemas = schemas
        self._producer = producer
        self._handler = handler
        self._batch_handler = batch_handler
        self._start_offsets = start_offsets
        self._bootstrap = bootstrap
        self._client: ConsumerClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._work = KeyedDispatcher(settings.concurrency, self._store, self._update_pauses)
        self._assigned: set[TP] = set()
        self._pause_all: dict[str, float] = {}  # reason -> until (loop time)
        self._pause_timer: asyncio.TimerHandle | None = None
        self._backpressure = False
        self._drained = asyncio.Event()  # set when in-flight work fell to half the limit

    @property
    def assignment(self) -> frozenset[TP]:
        return frozenset(self._assigned)

    @property
    def in_flight(self) -> int:
        return self._work.in_flight

    def pause_all(self, reason: str, seconds: float) -> None:
        """Pause every assigned partition for `seconds` (e.g. while a circuit is open)."""
        loop = asyncio.get_running_loop()
        until = loop.time() + max(0.0, seconds)
        if self._pause_all.get(reason, 0.0) >= until:
            return
        self._pause_all[reason] = until
        self._update_pauses()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; then finish (or abandon) work, commit and close."""
        self._loop = asyncio.get_running_loop()
        self._stop = stop
        hooks = RebalanceHooks(self._hook_assigned, self._hook_revoked)
        client = self._client = ConsumerClient(self.settings.consumer_config(self._bootstrap), hooks)
        try:
            await client.run(client.subscribe, list(self.settings.topics))
            log.info("consuming %s as group %s", ", ".join(self.settings.topics),
                     self.settings.group_id)
            linger = None if self._batch_handler is not None else self.settings.poll_linger_s
            while not stop.is_set():
                messages = await client.run(
                    client.poll, self.settings.batch_size, self.settings.poll_timeout_s, linger)
                if self._batch_handler is not None:
                    await self._run_batch(messages)
                else:
                    for message in messages:
                        self._dispatch(message)
                    self._update_pauses()
                    if self.in_flight >= self.settings.max_in_flight and not self._backpressure:
                        await self._hold_off(stop)
        finally:
            await self._settle(list(self._assigned), self.settings.stop_grace_s, lost=False)
            try:
                await client.run(client.close)
            finally:
                await asyncio.to_thread(client.shutdown_thread)
                if self._pause_timer is not None:
                    self._pause_timer.cancel()
            log.info("consumer of group %s stopped", self.settings.group_id)

    # -- per-message mode -------------------------------------------------------------

    def _dispatch(self, message: Message) -> None:
        err = message.error()
        if err is not None:
            if err.code() != KafkaError._PARTITION_EOF:
                if err.fatal():
                    raise RuntimeError(f"fatal consumer error: {err.str()}")
                log.warning("consumer error: %s", err.str())
            return
        raw = _Raw.of(message)
        tp: TP = (raw.topic, raw.partition)
        if tp not in self._assigned or not self._work.accepts(tp, raw.offset):
            return  # fetched before a revoke, or already here: the owner reads it again
        try:
            received = self._decode(raw)
        except codec.DecodeError as exc:
            error = exc
            self._work.add(Work(tp, raw.offset, ("undecodable", raw.offset), None,
                                lambda: self._dead_letter(raw, error),
                                {"topic": tp[0], "partition": tp[1], "offset": raw.offset}))
            return
        handler = self._handler
        assert handler is not None
        key: object = raw.key if raw.key is not None else ("offset", raw.offset)
        self._work.add(Work(tp, raw.offset, key, due_at(raw.headers), lambda: handler(received),
                            received.log_extra()))

    async def _hold_off(self, stop: asyncio.Event) -> None:
        """Backpressure: poll again once half the buffered records are done. Pausing the
        partitions instead makes librdkafka drop what it prefetched and fetch it again
        (a third fewer events/s in bench/worker.py); they are paused only when the work
        stalls for `backpressure_pause_s`, so the loop keeps polling meanwhile."""
        self._drained.clear()
        waits = [asyncio.ensure_future(self._drained.wait()), asyncio.ensure_future(stop.wait())]
        try:
            done, _ = await asyncio.wait(waits, timeout=self.settings.backpressure_pause_s,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
        if not done:
            log.info("%d records in flight for %.0f s; pausing every partition until half are"
                     " done", self.in_flight, self.settings.backpressure_pause_s)
            self._backpressure = True
            self._update_pauses()

    def _store(self, tp: TP, offset: int) -> None:
        if self._client is not None:
            self._client.store(tp, offset)

    def _update_pauses(self) -> None:
        if self._client is None:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        for reason in [r for r, until in self._pause_all.items() if until <= now]:
            del self._pause_all[reason]
        if self.in_flight <= self.settings.max_in_flight // 2:
            self._backpressure = False
            self._drained.set()
        paused: set[TP] = set(self._work.held & self._assigned)
        if self._pause_all or self._backpressure:
            paused |= self._assigned
        self._client.want_paused(paused)
        if self._pause_all:
            wake_at = min(self._pause_all.values())
            if self._pause_timer is not None:
                self._pause_timer.cancel()
            self._pause_timer = loop.call_at(wake_at, self._update_pauses)

    # -- batch mode -------------------------------------------------------------------

    async def _run_batch(self, messages: list[Message]) -> None:
        handler = self._batch_handler
        assert handler is not None and self._client is not None
        batch: list[Received] = []
        last: dict[TP, int] = {}
        for message in messages:
            err = message.error()
            if err is not None:
                if err.fatal():
                    raise RuntimeError(f"fatal consumer error: {err.str()}")
                if err.code() != KafkaError._PARTITION_EOF:
                    log.warning("consumer error: %s", err.str())
                continue
            raw = _Raw.of(message)
            tp = (raw.topic, raw.partition)
            if tp not in self._assigned:
                continue
            try:
                batch.append(self._decode(raw))
            except codec.DecodeError as exc:
                await self._retrying(partial(self._dead_letter, raw, exc))
            last[tp] = raw.offset + 1
        if batch:
            await self._retrying(lambda: handler(batch))
        for tp, offset in last.items():
            self._client.store(tp, offset)

    async def _retrying(self, work: Callable[[], Awaitable[None]]) -> None:
        delay = 0.5
        while True:
            try:
                await work()
                return
            except Exception:
                if self._stop is not None and self._stop.is_set():
                    raise  # stopping: leave the batch unstored for the next run
                log.exception("batch handler failed; retrying the same batch in %.1f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    # -- shared -----------------------------------------------------------------------

    def _decode(self, raw: _Raw) -> Received:
        if raw.value is None:
            raise codec.DecodeError("value is null (a tombstone)", topic=raw.topic,
                                    partition=raw.partition, offset=raw.offset, fingerprint=None)
        event = codec.decode(self._schemas, raw.value, topic=raw.topic,
                             partition=raw.partition, offset=raw.offset)
        return Received(raw.topic, raw.partition, raw.offset, raw.key, raw.value, raw.headers, event)

    async def _dead_letter(self, raw: _Raw, exc: Exception) -> None:
        now = utcnow()
        origin = Origin(raw.topic, raw.partition, raw.offset)
        out = failure_headers(raw.headers, origin=origin, group=self.settings.group_id,
                              error_class=type(exc).__name__, error_message=str(exc),
                              attempts=0, first_failure=now, last_failure=now)
        await self._producer.produce(self.settings.dlq_topic, raw.value or b"", key=raw.key,
                                     headers=out)
        log.error("undecodable record dead-lettered to %s: %s", self.settings.dlq_topic, exc,
                  extra={"topic": origin.topic, "partition": origin.partition,
                         "offset": origin.offset})

    def _hook_assigned(self, tps: list[TP]) -> Mapping[TP, int]:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(self._assigned_async(tps), self._loop).result()

    async def _assigned_async(self, tps: list[TP]) -> Mapping[TP, int]:
        starts = await self._start_offsets(tps) if self._start_offsets is not None else {}
        self._assigned.update(tps)
        self._work.open(tps)
        return starts

    def _hook_revoked(self, tps: list[TP], lost: bool) -> None:
        assert self._loop is not None
        grace = 0.0 if lost else self.settings.revoke_grace_s
        asyncio.run_coroutine_threadsafe(self._settle(tps, grace, lost), self._loop).result()

    async def _settle(self, tps: list[TP], grace: float, lost: bool) -> None:
        """Finish or abandon the work of `tps`; store how far each is done (unless lost)."""
        done = await self._work.settle(tps, grace)
        if not lost:
            for tp, offset in done.items():
                self._store(tp, offset)
        self._assigned.difference_update(tps)
        if self._client is not None:
            self._update_pauses()
