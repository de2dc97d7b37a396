"""Broker acknowledgements as futures, handed to the event loop in batches.

`HubProducer.produce` wakes the event loop once per acknowledged record. A worker that
writes an outcome for every event only needs each ack before that event's commit, so
here the producer's poll thread collects delivery reports and wakes the loop once per
burst: one wake-up (a socket write) for many records.
"""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from functools import partial
from typing import Any

from confluent_kafka import KafkaError

from hub.producer import HubProducer, ProduceError

__all__ = ["BatchedAcks"]

_Report = tuple[asyncio.Future[None], str, KafkaError | None]


class BatchedAcks:
    """`produce(...)` queues a record and returns a future that completes once the broker
    acknowledged it (acks=all), or fails with ProduceError. One event loop per instance."""

    def __init__(self, producer: HubProducer) -> None:
        self._producer = producer
        self._lock = threading.Lock()
        self._reports: list[_Report] = []
        self._wake_pending = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def produce(self, topic: str, value: bytes, *, key: bytes | None = None,
                headers: Sequence[tuple[str, bytes]] | None = None) -> asyncio.Future[None]:
        self._loop = loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        # Nobody may await a future whose event was abandoned: retrieve its error anyway.
        future.add_done_callback(_retrieve)
        self._producer.produce_nowait(topic, value, key=key, headers=headers,
                                      on_delivery=partial(self._delivered, future, topic))
        return future

    def _delivered(self, future: asyncio.Future[None], topic: str, err: KafkaError | None,
                   _msg: Any) -> None:
        """On the producer's poll thread."""
        with self._lock:
            self._reports.append((future, topic, err))
            if self._wake_pending:
                return
            self._wake_pending = True
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(self._settle)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass

    def _settle(self) -> None:
        with self._lock:
            reports, self._reports = self._reports, []
            self._wake_pending = False
        for future, topic, err in reports:
            if future.done():
                continue
            if err is None:
                future.set_result(None)
            else:
                future.set_exception(ProduceError(
                    f"{topic}: broker did not acknowledge the record: {err.str()}",
                    retriable=err.retriable() or err.code() == KafkaError._MSG_TIMED_OUT))


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()
