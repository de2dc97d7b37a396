"""The raw-producer baseline: confluent-kafka with hub's producer settings, as fast as it goes."""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, Producer

from bench.deliveries import Record
from hub.producer import producer_config

__all__ = ["ProduceRun", "produce_for"]


@dataclass(frozen=True)
class ProduceRun:
    delivered: int
    failed: int
    duration_s: float
    first_error: str | None

    @property
    def rate(self) -> float:
        return self.delivered / self.duration_s


def produce_for(bootstrap: str, records: Sequence[Record], seconds: float) -> ProduceRun:
    """Produce `records` round and round for `seconds`, then flush. Counts delivery reports;
    the duration runs from the first produce to the end of the flush. Blocking."""
    producer = Producer(producer_config(bootstrap, **{"client.id": "bench-raw-producer"}))
    todo: list[tuple[str, bytes | None, bytes, list[tuple[str, str | bytes | None]]]] = [
        (topic, key, value, list(headers)) for topic, key, value, headers in records]
    delivered = failed = 0
    first_error: str | None = None

    def on_delivery(err: KafkaError | None, _msg: Any) -> None:
        nonlocal delivered, failed, first_error
        if err is None:
            delivered += 1
        else:
            failed += 1
            first_error = first_error or err.str()

    # Connect and get the idempotent producer id before the clock starts.
    topic, key, value, headers = todo[0]
    producer.produce(topic, value=value, key=key, headers=headers)
    producer.flush(30)
    start = time.perf_counter()
    end = start + seconds
    i = 0
    while True:
        if i % 64 == 0 and time.perf_counter() >= end:
            break
        topic, key, value, headers = todo[i % len(todo)]
        try:
            producer.produce(topic, value=value, key=key, headers=headers, on_delivery=on_delivery)
        except BufferError:
            producer.poll(0.005)  # local queue full: serve delivery reports, then retry
            continue
        producer.poll(0)
        i += 1
    left = producer.flush(60)
    duration = time.perf_counter() - start
    if left:
        failed += left
        first_error = first_error or f"{left} records unacknowledged after flush"
    return ProduceRun(delivered, failed, duration, first_error)
