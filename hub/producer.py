"""The Kafka producer: idempotent, acks=all, with awaitable delivery reports."""
from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

from confluent_kafka import KafkaError, KafkaException, Producer

from hub.errors import HubError

__all__ = ["Delivered", "HubProducer", "ProduceError", "Record", "producer_config"]

log = logging.getLogger(__name__)


class ProduceError(HubError):
    """The broker did not acknowledge a record in time, or refused it."""

    def __init__(self, message: str, *, retriable: bool = True) -> None:
        super().__init__(message)
        self.retriable = retriable


@dataclass(frozen=True, slots=True)
class Delivered:
    topic: str
    partition: int
    offset: int


def producer_config(bootstrap: str, **overrides: Any) -> dict[str, Any]:
    """librdkafka settings for every hub producer; overrides win."""
    conf: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 2,
        "compression.type": "lz4",
        "delivery.timeout.ms": 30000,
        "message.timeout.ms": 30000,
        "socket.keepalive.enable": True,
        "client.id": "hub",
    }
    conf.update(overrides)
    return conf


Record = tuple[str, bytes, bytes | None, Sequence[tuple[str, bytes]] | None]
"""(topic, value, key, headers) of one record for `HubProducer.produce_batch`."""


class HubProducer:
    """Wraps confluent_kafka.Producer; a background thread serves delivery callbacks.

    `await produce(...)` / `await produce_batch(...)` return only once the broker acknowledged
    the record(s) (acks=all), or raise ProduceError. Acknowledgements reach the event loop in
    bunches: one cross-thread wake-up per poll of the delivery reports, not one per record.
    """

    def __init__(self, conf: dict[str, Any]) -> None:
        self._producer = Producer(conf, logger=logging.getLogger("hub.librdkafka"))
        self._settled: deque[_Pending] = deque()  # filled by delivery callbacks, any thread
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll_loop, name="hub-producer", daemon=True)
        self._thread.start()

    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.05)
            if self._settled:
                self._hand_over()
        self._hand_over()

    def _hand_over(self) -> None:
        """Settle the futures of finished sends: one call_soon_threadsafe per event loop."""
        by_loop: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
        while True:
            try:
                done = self._settled.popleft()
            except IndexError:
                break
            by_loop.setdefault(done.loop, []).append(done)
        for loop, batch in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle_all, batch)
            except RuntimeError:  # that loop is closed: nobody waits any more
                pass

    async def produce(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] | None = None,
    ) -> Delivered:
        return (await self.produce_batch([(topic, value, key, headers)]))[0]

    async def produce_batch(self, records: Sequence[Record], *,
                            ack_timeout_s: float | None = None) -> list[Delivered]:
        """Write `records` and wait until the broker acknowledged every one of them; their
        (topic, partition, offset) in order. ProduceError as soon as one of them fails;
        TimeoutError when they are not all acknowledged within `ack_timeout_s` seconds."""
        if not records:
            return []
        loop = asyncio.get_running_loop()
        pending = _Pending(loop, len(records), self._settled)
        try:
            for index, (topic, value, key, headers) in enumerate(records):
                self._send(topic, value, key, headers, partial(pending.on_delivery, index))
        except BaseException:
            pending.future.cancel()  # records already queued may still land; nobody waits
            raise
        if ack_timeout_s is None:
            return await pending.future
        # A bare timer on the future: cheaper than asyncio.timeout() for every request.
        expiry = loop.call_later(ack_timeout_s, _expire, pending.future, ack_timeout_s)
        try:
            return await pending.future
        finally:
            expiry.cancel()

    def produce_nowait(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] | None = None,
        on_delivery: Any = None,
    ) -> None:
        """Queue a record; `on_delivery(err, msg)` runs on the poll thread."""
        self._send(topic, value, key, headers, on_delivery)

    def _send(
        self,
        topic: str,
        value: bytes,
        key: bytes | None,
        headers: Sequence[tuple[str, bytes]] | None,
        on_delivery: Any,
    ) -> None:
        kafka_headers = headers if isinstance(headers, list) else list(headers or ())
        while True:
            try:
                self._producer.produce(
                    topic, value=value, key=key, headers=kafka_headers, on_delivery=on_delivery
                )
                return
            except BufferError:
                # Local queue full: let the poll thread drain it, then try again.
                self._producer.poll(0.01)
            except KafkaException as exc:
                raise ProduceError(f"{topic}: cannot queue record: {exc}", retriable=False) from None

    def flush(self, timeout: float = 30.0) -> int:
        """Wait for outstanding deliveries; returns how many are still queued."""
        return int(self._producer.flush(timeout))

    def close(self, timeout: float = 30.0) -> None:
        remaining = self.flush(timeout)
        if remaining:
            log.warning("producer closed with %d records unacknowledged", remaining)
        self._stop.set()
        self._thread.join(timeout=5)


class _Pending:
    """One awaited send of `count` records. Delivery callbacks (on whatever thread polls) fill
    it in; the first error or the last acknowledgement queues it on `settled` to be settled."""

    __slots__ = ("acked", "count", "error", "future", "loop", "results", "settled")

    def __init__(self, loop: asyncio.AbstractEventLoop, count: int, settled: deque[_Pending]) -> None:
        self.loop = loop
        self.future: asyncio.Future[list[Delivered]] = loop.create_future()
        self.count = count
        self.results: list[Delivered | None] = [None] * count
        self.error: ProduceError | None = None
        self.acked = itertools.count(1)  # next() is atomic: exactly one callback sees `count`
        self.settled = settled

    def on_delivery(self, index: int, err: KafkaError | None, msg: Any) -> None:
        if err is not None:
            if self.error is None:
                self.error = ProduceError(
                    f"{msg.topic()}: broker did not acknowledge the record: {err.str()}",
                    retriable=err.retriable() or err.code() == KafkaError._MSG_TIMED_OUT,
                )
                self.settled.append(self)
            return
        self.results[index] = Delivered(msg.topic(), msg.partition(), msg.offset())
        if next(self.acked) == self.count and self.error is None:
            self.settled.append(self)


def _expire(future: asyncio.Future[list[Delivered]], timeout: float) -> None:
    if not future.done():
        future.set_exception(TimeoutError(f"broker did not acknowledge within {timeout:g} s"))


def _settle_all(batch: list[_Pending]) -> None:
    for pending in batch:
        if pending.future.done():
            continue
        if pending.error is not None:
            pending.future.set_exception(pending.error)
        else:
            pending.future.set_result(cast(list[Delivered], pending.results))
