"""The Kafka producer: idempotent, acks=all, with awaitable delivery reports."""
from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from hub.errors import HubError

__all__ = ["Delivered", "HubProducer", "ProduceError", "producer_config"]

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


class HubProducer:
    """Wraps confluent_kafka.Producer; a background thread serves delivery callbacks.

    `await produce(...)` returns only once the broker acknowledged the record
    (acks=all), or raises ProduceError.
    """

    def __init__(self, conf: dict[str, Any]) -> None:
        self._producer = Producer(conf, logger=logging.getLogger("hub.librdkafka"))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll_loop, name="hub-producer", daemon=True)
        self._thread.start()

    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.05)

    async def produce(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] | None = None,
    ) -> Delivered:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Delivered] = loop.create_future()

        def on_delivery(err: KafkaError | None, msg: Any) -> None:
            if err is not None:
                exc = ProduceError(
                    f"{topic}: broker did not acknowledge the record: {err.str()}",
                    retriable=err.retriable() or err.code() == KafkaError._MSG_TIMED_OUT,
                )
                loop.call_soon_threadsafe(_settle, future, None, exc)
            else:
                done = Delivered(msg.topic(), msg.partition(), msg.offset())
                loop.call_soon_threadsafe(_settle, future, done, None)

        self._send(topic, value, key, headers, on_delivery)
        return await future

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
        while True:
            try:
                self._producer.produce(
                    topic, value=value, key=key, headers=list(headers or ()), on_delivery=on_delivery
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


def _settle(
    future: asyncio.Future[Delivered], value: Delivered | None, exc: BaseException | None
) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        assert value is not None
        future.set_result(value)
