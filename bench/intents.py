"""The worker bench's records: payment intents produced once, a bare consume loop over them,
and how far a consumer group has committed (all blocking)."""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from confluent_kafka import Consumer, TopicPartition

from bench.context import BenchError
from hub import codec
from hub.envelope import Event, canonical_json, sha256_hex, utcnow
from hub.ids import uuid7
from hub.producer import HubProducer, producer_config
from hub.schemastore import SchemaStore
from projections.kafka_offsets import watermarks

__all__ = ["BareRun", "bare_consume", "committed_behind", "intent", "produce_intents"]


def intent(invoice_id: str, amount_minor: int) -> Event:
    """A `payment.intent_requested` as an upstream billing service would publish it."""
    data = {"invoice_id": invoice_id, "amount_minor": amount_minor, "currency": "EUR",
            "customer_id": f"cus_{invoice_id[-6:]}", "customer_email": "ada@example.com",
            "description": f"Invoice {invoice_id}"}
    return Event(id=uuid7(), source="/services/billing", type="payment.intent_requested",
                 time=utcnow(), schema_version=1, correlation_id=uuid7(),
                 payload_sha256=sha256_hex(canonical_json(data)), data=data, subject=invoice_id)


def produce_intents(bootstrap: str, topic: str, n: int, tag: str) -> list[str]:
    """`n` intents with distinct invoice ids (`inv_<tag>_<seq>`), keyed by invoice so they
    spread over the partitions; returns the invoice ids once all are acknowledged."""
    store = SchemaStore.load()
    # At most 100 records a batch, as a busy publish API writes them: a fetch cannot split
    # a batch, so one huge batch would reach the worker as one partition's run of records.
    producer = HubProducer(producer_config(bootstrap, **{
        "client.id": "bench-intents", "linger.ms": 20, "batch.num.messages": 100,
        "queue.buffering.max.messages": 500_000}))
    invoices = []
    try:
        for seq in range(n):
            # 402 is the simulator's declined amount: stay clear of it.
            event = intent(f"inv_{tag}_{seq:07d}", 1000 + seq % 9000)
            producer.produce_nowait(topic, codec.encode(store, event), key=event.key,
                                    headers=event.headers())
            invoices.append(event.data["invoice_id"])
        if producer.flush(120) != 0:
            raise BenchError(f"{topic}: intents still unacknowledged after 120 s")
    finally:
        producer.close()
    return invoices


@dataclass(frozen=True)
class BareRun:
    records: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.records / self.seconds


def bare_consume(bootstrap: str, topic: str) -> BareRun:
    """confluent-kafka `consume(1000)` over every record of `topic`, nothing else (no decode,
    no offsets stored); the clock runs from assignment to the last high watermark."""
    marks = watermarks(bootstrap, [topic])
    remaining = {tp: end for tp, end in marks.high.items() if end > marks.low[tp]}
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-bare-{uuid.uuid4()}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    n = 0
    start = time.perf_counter()
    try:
        consumer.assign([TopicPartition(t, p, marks.low[(t, p)]) for t, p in remaining])
        deadline = time.monotonic() + 300
        while remaining and time.monotonic() < deadline:
            for m in consumer.consume(1000, 1.0):
                if m.error() is not None:
                    continue
                n += 1
                name, partition, offset = m.topic(), m.partition(), m.offset()
                assert name is not None and partition is not None and offset is not None
                if offset + 1 >= remaining.get((name, partition), 1 << 62):
                    del remaining[(name, partition)]
        elapsed = time.perf_counter() - start
    finally:
        consumer.close()
    if remaining:
        raise BenchError(f"bare consumer did not reach the end of {sorted(remaining)} in 300 s")
    return BareRun(n, elapsed)


def committed_behind(bootstrap: str, group: str, topic: str) -> int:
    """Records of `topic` past `group`'s committed offsets (0: committed to the end)."""
    marks = watermarks(bootstrap, [topic])
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "enable.auto.commit": False})
    try:
        parts = consumer.committed([TopicPartition(t, p) for t, p in marks.high], timeout=10)
    finally:
        consumer.close()
    behind = 0
    for part in parts:
        tp = (part.topic, part.partition)
        start = part.offset if part.offset >= 0 else marks.low[tp]
        behind += max(0, marks.high[tp] - start)
    return behind
